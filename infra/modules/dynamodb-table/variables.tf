variable "name" {
  description = "Table name (resources.ledger_table or resources.aggregate_table in infra/consumers.json)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.name))
    error_message = "name must be 3..255 characters of A-Z a-z 0-9 _ . -."
  }
}

variable "hash_key" {
  description = "Partition key attribute (type S)."
  type        = string

  validation {
    condition     = length(var.hash_key) >= 1 && length(var.hash_key) <= 255
    error_message = "hash_key must be 1..255 characters."
  }
}

variable "range_key" {
  description = "Sort key attribute (type S), or null for a hash-only table."
  type        = string
  default     = null

  validation {
    condition     = var.range_key == null ? true : length(var.range_key) >= 1 && length(var.range_key) <= 255
    error_message = "range_key must be null or 1..255 characters."
  }
}

variable "ttl_attribute" {
  description = "Attribute holding the expiry time (epoch seconds), or null for no TTL."
  type        = string
  default     = null

  validation {
    condition     = var.ttl_attribute == null ? true : length(var.ttl_attribute) >= 1 && length(var.ttl_attribute) <= 255
    error_message = "ttl_attribute must be null or 1..255 characters."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer managed KMS key for server-side encryption."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "deletion_protection" {
  description = "Refuse DeleteTable (the ledger is the exactly-once state; losing it re-applies effects)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for the table."
  type        = map(string)
  default     = {}
}
