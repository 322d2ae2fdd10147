variable "name" {
  description = "Bucket name (resources.archive_bucket, resources.dead_letter_bucket or an s3 on-failure destination in infra/consumers.json)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name)) && !strcontains(var.name, "..") && !startswith(var.name, "xn--")
    error_message = "name must be a valid S3 bucket name: 3..63 characters of a-z 0-9 . -, starting and ending with a letter or digit."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer managed KMS key for default SSE-KMS encryption."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "expiration_days" {
  description = "Delete current objects this many days after creation; null keeps them."
  type        = number
  default     = null

  validation {
    condition     = var.expiration_days == null ? true : var.expiration_days >= 1 && var.expiration_days <= 36500
    error_message = "expiration_days must be null or 1..36500."
  }
}

variable "transition_to_ia_days" {
  description = "Move current objects to STANDARD_IA after this many days (at least 30); null never."
  type        = number
  default     = null

  validation {
    condition     = var.transition_to_ia_days == null ? true : var.transition_to_ia_days >= 30
    error_message = "transition_to_ia_days must be null or at least 30 (an S3 minimum for STANDARD_IA)."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Delete superseded object versions this many days after they became noncurrent."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && var.noncurrent_version_expiration_days <= 36500
    error_message = "noncurrent_version_expiration_days must be 1..36500."
  }
}

variable "access_logging" {
  description = "Deliver S3 server access logs of this bucket to access_log_bucket. A flag known at plan time (the target's name may be known only after apply). Off only where the endpoint cannot do it: the local deploy against moto, which refuses logging into a target that grants delivery by bucket policy (AWS's recommended way)."
  type        = bool
  default     = true
}

variable "tls_only_policy" {
  description = "Attach the bucket policy that denies every request over plain HTTP or TLS older than 1.2. Off only where the endpoint cannot evaluate it: the local deploy against moto, which applies a bucket policy's Deny without its conditions (aws:SecureTransport, s3:TlsVersion) and so refuses every object request."
  type        = bool
  default     = true
}

variable "access_log_bucket" {
  description = "Name of the bucket receiving S3 server access logs; required when access_logging is true."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete a non-empty bucket (test accounts only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the bucket."
  type        = map(string)
  default     = {}
}
