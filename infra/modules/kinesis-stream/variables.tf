variable "name" {
  description = "Stream name (stream.name in infra/consumers.json)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,128}$", var.name))
    error_message = "name must be 1..128 characters of A-Z a-z 0-9 _ . -."
  }
}

variable "shard_count" {
  description = "Open shards in PROVISIONED mode (stream.shard_count); ignored in ON_DEMAND mode."
  type        = number

  validation {
    condition     = var.shard_count >= 1 && var.shard_count <= 500 && floor(var.shard_count) == var.shard_count
    error_message = "shard_count must be a whole number in 1..500 (the default per-account shard quota of the largest regions)."
  }
}

variable "retention_hours" {
  description = "How long records stay readable, in hours (stream.retention_hours; spec 7.5)."
  type        = number
  default     = 24

  validation {
    condition     = var.retention_hours >= 24 && var.retention_hours <= 8760 && floor(var.retention_hours) == var.retention_hours
    error_message = "retention_hours must be a whole number in 24..8760."
  }
}

variable "stream_mode" {
  description = "PROVISIONED (shard_count shards, the simulator's model) or ON_DEMAND (Kinesis scales shards itself)."
  type        = string
  default     = "PROVISIONED"

  validation {
    condition     = contains(["PROVISIONED", "ON_DEMAND"], var.stream_mode)
    error_message = "stream_mode must be PROVISIONED or ON_DEMAND."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer managed KMS key that encrypts the stream (SSE-KMS)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "shard_level_metrics" {
  description = "Enhanced (per-shard) CloudWatch metrics to enable."
  type        = list(string)
  default     = ["IncomingBytes", "IncomingRecords", "IteratorAgeMilliseconds", "ReadProvisionedThroughputExceeded", "WriteProvisionedThroughputExceeded"]

  validation {
    condition = alltrue([for m in var.shard_level_metrics : contains(
      ["IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords", "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded", "IteratorAgeMilliseconds"], m
    )])
    error_message = "shard_level_metrics holds Kinesis shard-level metric names only."
  }
}

variable "tags" {
  description = "Tags for the stream."
  type        = map(string)
  default     = {}
}
