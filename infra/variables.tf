variable "region" {
  description = "AWS region to deploy into."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "tags" {
  description = "Tags applied to every resource (provider default_tags)."
  type        = map(string)
  default     = { project = "streamkit" }
}

variable "architecture" {
  description = "Lambda architecture of every consumer; build the package with `streamkit package --arch` of the same value."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "runtime" {
  description = "Lambda Python runtime; build the package with the matching `streamkit package --python`."
  type        = string
  default     = "python3.13"

  validation {
    condition     = contains(["python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be python3.12 or python3.13."
  }
}

variable "package_path" {
  description = "Deployment zip from `streamkit package`; null means ../dist/lambda-<architecture>.zip next to this directory."
  type        = string
  default     = null

  validation {
    condition     = var.package_path == null ? true : endswith(var.package_path, ".zip")
    error_message = "package_path must be null or a .zip file."
  }
}

variable "function_name_prefix" {
  description = "Prefix of every function, role, log group and alarm name."
  type        = string
  default     = "streamkit-"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{0,32}$", var.function_name_prefix))
    error_message = "function_name_prefix must be 0..32 characters of A-Z a-z 0-9 _ -."
  }
}

variable "stream_mode" {
  description = "Capacity mode of the streams: PROVISIONED (stream.shard_count shards) or ON_DEMAND."
  type        = string
  default     = "PROVISIONED"

  validation {
    condition     = contains(["PROVISIONED", "ON_DEMAND"], var.stream_mode)
    error_message = "stream_mode must be PROVISIONED or ON_DEMAND."
  }
}

variable "concurrency_per_shard" {
  description = "Reserved concurrency of a consumer per configured shard (ParallelizationFactor is 1). 2 leaves room for every shard to split once; raise it for ON_DEMAND streams, which add shards themselves."
  type        = number
  default     = 2

  validation {
    condition     = var.concurrency_per_shard >= 1 && var.concurrency_per_shard <= 10 && floor(var.concurrency_per_shard) == var.concurrency_per_shard
    error_message = "concurrency_per_shard must be a whole number in 1..10."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing mode of the functions."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of streamkit's EMF metrics."
  type        = string
  default     = "streamkit"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be 1..255 characters and must not start with AWS/."
  }
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "alarm_actions" {
  description = "ARNs (e.g. an SNS topic) notified when a consumer alarm changes state."
  type        = list(string)
  default     = []
}

variable "iterator_age_alarm_ms" {
  description = "IteratorAge (ms) above which a consumer is alarmed as falling behind."
  type        = number
  default     = 60000

  validation {
    condition     = var.iterator_age_alarm_ms >= 1000
    error_message = "iterator_age_alarm_ms must be at least 1000."
  }
}

variable "dead_letter_alarm_threshold" {
  description = "Dead-lettered records per 5 minutes above which a consumer alarms."
  type        = number
  default     = 0

  validation {
    condition     = var.dead_letter_alarm_threshold >= 0
    error_message = "dead_letter_alarm_threshold must be at least 0."
  }
}

variable "deletion_protection" {
  description = "DynamoDB deletion protection on the ledger and aggregate tables."
  type        = bool
  default     = true
}

variable "archive_expiration_days" {
  description = "Delete archived objects this many days after creation; null keeps them."
  type        = number
  default     = null

  validation {
    condition     = var.archive_expiration_days == null ? true : var.archive_expiration_days >= 1
    error_message = "archive_expiration_days must be null or at least 1."
  }
}

variable "archive_transition_to_ia_days" {
  description = "Move archived objects to STANDARD_IA after this many days; null never."
  type        = number
  default     = 30

  validation {
    condition     = var.archive_transition_to_ia_days == null ? true : var.archive_transition_to_ia_days >= 30
    error_message = "archive_transition_to_ia_days must be null or at least 30."
  }
}

variable "dead_letter_expiration_days" {
  description = "Delete dead letters and on-failure records this many days after creation."
  type        = number
  default     = 90

  validation {
    condition     = var.dead_letter_expiration_days >= 1 && var.dead_letter_expiration_days <= 36500
    error_message = "dead_letter_expiration_days must be 1..36500."
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
  description = "S3 server access logging of every streamkit bucket into the access-log bucket (access_logs.tf). On by default; false creates no access-log bucket and no logging configuration. Only the local deploy against moto turns it off: moto refuses PutBucketLogging into a target that grants delivery by bucket policy, which AWS accepts and recommends (docs/deploy.md)."
  type        = bool
  default     = true
}

variable "tls_only_bucket_policy" {
  description = "Attach to every streamkit bucket the policy that denies plain HTTP and TLS older than 1.2. On by default; only the local deploy against moto turns it off: moto applies a bucket policy's Deny without evaluating its conditions, so it would refuse every object request (docs/deploy.md)."
  type        = bool
  default     = true
}

variable "access_log_bucket_prefix" {
  description = "Name prefix of the S3 access-log bucket (<prefix>-<account>-<region>)."
  type        = string
  default     = "streamkit-access-logs"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,30}$", var.access_log_bucket_prefix))
    error_message = "access_log_bucket_prefix must be 2..31 characters of a-z 0-9 -."
  }
}

variable "access_log_expiration_days" {
  description = "Delete S3 access logs this many days after delivery."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_expiration_days >= 1 && var.access_log_expiration_days <= 36500
    error_message = "access_log_expiration_days must be 1..36500."
  }
}

variable "force_destroy_buckets" {
  description = "Let terraform destroy delete non-empty buckets (test accounts only)."
  type        = bool
  default     = false
}

variable "kms_alias" {
  description = "Alias of the project KMS key (alias/<kms_alias>)."
  type        = string
  default     = "streamkit"

  validation {
    condition     = can(regex("^[A-Za-z0-9/_-]{1,250}$", var.kms_alias)) && !startswith(var.kms_alias, "aws/")
    error_message = "kms_alias must be 1..250 characters of A-Z a-z 0-9 / _ - and must not start with aws/."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the KMS key is deleted after terraform destroy."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be 7..30."
  }
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary for the consumers' execution roles, or null."
  type        = string
  default     = null
}
