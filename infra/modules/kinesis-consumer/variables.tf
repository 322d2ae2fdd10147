# ----------------------------------------------------------------- the consumer

variable "name" {
  description = "Consumer name (its key in infra/consumers.json); names the function, role, log group and alarms."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1..64 characters of A-Z a-z 0-9 _ -."
  }
}

variable "function_name_prefix" {
  description = "Prefix of the Lambda function (and role) name: <prefix><name>, at most 64 characters in all."
  type        = string
  default     = "streamkit-"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{0,32}$", var.function_name_prefix))
    error_message = "function_name_prefix must be 0..32 characters of A-Z a-z 0-9 _ -."
  }
}

variable "handler" {
  description = "Dotted module.attribute path of the Lambda handler, e.g. handlers.clickstream.handler."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+$", var.handler))
    error_message = "handler must be a dotted module.attribute path."
  }
}

# ----------------------------------------------------------------- the function

variable "runtime" {
  description = "Lambda Python runtime; must match the --python of `streamkit package`."
  type        = string
  default     = "python3.13"

  validation {
    condition     = contains(["python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be python3.12 or python3.13 (current Amazon Linux 2023 runtimes)."
  }
}

variable "architecture" {
  description = "Lambda architecture; must match the --arch of `streamkit package`."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "package_path" {
  description = "Path of the deployment zip built by `streamkit package`."
  type        = string

  validation {
    condition     = endswith(var.package_path, ".zip")
    error_message = "package_path must name a .zip file built by `streamkit package`."
  }
}

variable "timeout_seconds" {
  description = "Function timeout in seconds (function.timeout_seconds)."
  type        = number

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 900 && floor(var.timeout_seconds) == var.timeout_seconds
    error_message = "timeout_seconds must be a whole number in 1..900."
  }
}

variable "memory_mb" {
  description = "Function memory in MB (function.memory_mb)."
  type        = number

  validation {
    condition     = var.memory_mb >= 128 && var.memory_mb <= 10240 && floor(var.memory_mb) == var.memory_mb
    error_message = "memory_mb must be a whole number in 128..10240."
  }
}

variable "environment" {
  description = "Extra environment variables (function.environment). The STREAMKIT_* names this module sets from the consumer's resources (local.streamkit_environment) are reserved; other STREAMKIT_* settings (STREAMKIT_IOT_THRESHOLDS, STREAMKIT_ALLOWED_LATENESS_S) are the handlers' own and pass through."
  type        = map(string)
  default     = {}

  # The same rules as consumers.json (streamkit.local.config: limits.ENV_KEY,
  # RESERVED_ENV and STREAMKIT_RESOURCE_ENV).
  validation {
    condition     = alltrue([for k in keys(var.environment) : can(regex("^[A-Za-z][A-Za-z0-9_]+$", k))])
    error_message = "environment keys must be a letter, then letters, digits and _ (at least 2 characters)."
  }

  validation {
    condition = alltrue([for k in keys(var.environment) : !contains([
      "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_DEFAULT_REGION",
      "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_NAME",
      "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME",
      "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_RUNTIME_API", "AWS_REGION", "AWS_SECRET_ACCESS_KEY",
      "AWS_SESSION_TOKEN", "LAMBDA_RUNTIME_DIR", "LAMBDA_TASK_ROOT",
    ], k)])
    error_message = "environment keys must not be reserved by Lambda (_HANDLER, _X_AMZN_TRACE_ID, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_LAMBDA_*, LAMBDA_TASK_ROOT, ...)."
  }

  validation {
    condition = alltrue([for k in keys(var.environment) : !contains([
      "STREAMKIT_CONSUMER", "STREAMKIT_LEDGER_TABLE", "STREAMKIT_DLQ_BUCKET",
      "STREAMKIT_AGGREGATE_TABLE", "STREAMKIT_ARCHIVE_BUCKET", "STREAMKIT_ALERTS_QUEUE_URL",
    ], k)])
    error_message = "environment keys must not be STREAMKIT_CONSUMER, STREAMKIT_LEDGER_TABLE, STREAMKIT_DLQ_BUCKET, STREAMKIT_AGGREGATE_TABLE, STREAMKIT_ARCHIVE_BUCKET or STREAMKIT_ALERTS_QUEUE_URL: streamkit sets them from the consumer's name and resources."
  }

  validation {
    # UTF-8 bytes of names and values: characters, plus one per character beyond
    # U+007F, U+07FF and U+FFFF (2-, 3- and 4-byte encodings).
    condition = sum(concat([0], [for s in flatten([for k, v in var.environment : [k, v]]) :
      length(s) + length(regexall("[^\\x00-\\x7F]", s)) + length(regexall("[^\\x00-\\x{7FF}]", s)) + length(regexall("[^\\x00-\\x{FFFF}]", s))
    ])) <= 4096
    error_message = "environment must stay within Lambda's 4 KB limit (4096 bytes of names and values together)."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions. A Kinesis consumer needs open shards x ParallelizationFactor; leave room for a shard split."
  type        = number

  validation {
    condition     = var.reserved_concurrency >= 1 && var.reserved_concurrency <= 1000 && floor(var.reserved_concurrency) == var.reserved_concurrency
    error_message = "reserved_concurrency must be a whole number in 1..1000."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing mode (Powertools Tracer sends segments when Active)."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of streamkit's EMF metrics (POWERTOOLS_METRICS_NAMESPACE)."
  type        = string
  default     = "streamkit"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be 1..255 characters and must not start with AWS/."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

# ------------------------------------------------------- the event source mapping

variable "event_source_mapping" {
  description = "The consumer's event_source_mapping entry of infra/consumers.json, AWS field names (spec section 0); a field left out takes its AWS default. DestinationConfig holds the logical destination; its ARN comes in on_failure_destination."
  type = object({
    BatchSize                      = optional(number, 100)
    MaximumBatchingWindowInSeconds = optional(number, 0)
    StartingPosition               = string
    StartingPositionTimestamp      = optional(number)
    BisectBatchOnFunctionError     = optional(bool, false)
    MaximumRetryAttempts           = optional(number, -1)
    MaximumRecordAgeInSeconds      = optional(number, -1)
    FunctionResponseTypes          = optional(list(string), [])
    FilterCriteria = optional(object({
      Filters = list(object({
        Pattern = string
      }))
    }))
    TumblingWindowInSeconds = optional(number, 0)
    ParallelizationFactor   = optional(number, 1)
    DestinationConfig = optional(object({
      OnFailure = optional(object({
        Destination = optional(object({
          type = string
          name = string
        }))
      }))
    }))
    Enabled = optional(bool, true)
    MetricsConfig = optional(object({
      Metrics = list(string)
    }))
    KMSKeyArn = optional(string)
    Tags      = optional(map(string), {})
  })

  validation {
    condition     = var.event_source_mapping.BatchSize >= 1 && var.event_source_mapping.BatchSize <= 10000 && floor(var.event_source_mapping.BatchSize) == var.event_source_mapping.BatchSize
    error_message = "BatchSize must be a whole number in 1..10000 (spec 0.1)."
  }

  validation {
    condition     = var.event_source_mapping.MaximumBatchingWindowInSeconds >= 0 && var.event_source_mapping.MaximumBatchingWindowInSeconds <= 300 && floor(var.event_source_mapping.MaximumBatchingWindowInSeconds) == var.event_source_mapping.MaximumBatchingWindowInSeconds
    error_message = "MaximumBatchingWindowInSeconds must be a whole number in 0..300 (spec 0.1)."
  }

  validation {
    condition     = contains(["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"], var.event_source_mapping.StartingPosition)
    error_message = "StartingPosition must be TRIM_HORIZON, LATEST or AT_TIMESTAMP (spec 0.1)."
  }

  validation {
    condition     = (var.event_source_mapping.StartingPosition == "AT_TIMESTAMP") == (var.event_source_mapping.StartingPositionTimestamp != null)
    error_message = "StartingPositionTimestamp (Unix seconds) is required with AT_TIMESTAMP and allowed only with it (spec 0.1)."
  }

  validation {
    condition     = var.event_source_mapping.MaximumRetryAttempts >= -1 && var.event_source_mapping.MaximumRetryAttempts <= 10000 && floor(var.event_source_mapping.MaximumRetryAttempts) == var.event_source_mapping.MaximumRetryAttempts
    error_message = "MaximumRetryAttempts must be a whole number in -1..10000 (-1: retry until the record expires; spec 0.1)."
  }

  validation {
    condition     = var.event_source_mapping.MaximumRecordAgeInSeconds == -1 || (var.event_source_mapping.MaximumRecordAgeInSeconds >= 60 && var.event_source_mapping.MaximumRecordAgeInSeconds <= 604800 && floor(var.event_source_mapping.MaximumRecordAgeInSeconds) == var.event_source_mapping.MaximumRecordAgeInSeconds)
    error_message = "MaximumRecordAgeInSeconds must be -1 or a whole number in 60..604800 (spec 0.1)."
  }

  validation {
    condition     = var.event_source_mapping.FunctionResponseTypes == tolist(["ReportBatchItemFailures"])
    error_message = "FunctionResponseTypes must be [\"ReportBatchItemFailures\"]: streamkit reports failed records in its response, which Lambda ignores without it (spec 2.2.1), losing them."
  }

  validation {
    condition     = var.event_source_mapping.TumblingWindowInSeconds >= 0 && var.event_source_mapping.TumblingWindowInSeconds <= 900 && floor(var.event_source_mapping.TumblingWindowInSeconds) == var.event_source_mapping.TumblingWindowInSeconds
    error_message = "TumblingWindowInSeconds must be a whole number in 0..900 (spec 0.1)."
  }

  validation {
    condition     = var.event_source_mapping.ParallelizationFactor == 1
    error_message = "ParallelizationFactor must be 1: streamkit's exactly-once ledger needs one batch per shard at a time (AWS allows 1..10; add shards to scale out)."
  }

  validation {
    condition = length(try(var.event_source_mapping.FilterCriteria.Filters, [])) <= 10 && alltrue([
      for f in try(var.event_source_mapping.FilterCriteria.Filters, []) : length(f.Pattern) <= 4096 && can(keys(jsondecode(f.Pattern)))
    ])
    error_message = "FilterCriteria.Filters must hold at most 10 filters, each Pattern a JSON object of at most 4096 characters (spec 0.1, 0.4)."
  }

  validation {
    condition = try(var.event_source_mapping.DestinationConfig.OnFailure.Destination, null) == null ? true : (
      contains(["sqs", "sns", "s3"], var.event_source_mapping.DestinationConfig.OnFailure.Destination.type) &&
      !(var.event_source_mapping.DestinationConfig.OnFailure.Destination.type != "s3" && endswith(var.event_source_mapping.DestinationConfig.OnFailure.Destination.name, ".fifo"))
    )
    error_message = "DestinationConfig.OnFailure.Destination must be {type = sqs|sns|s3, name = ...}; FIFO queues and topics are not supported destinations (spec 3.2)."
  }

  validation {
    condition     = var.event_source_mapping.MetricsConfig == null ? true : length(var.event_source_mapping.MetricsConfig.Metrics) <= 1 && alltrue([for m in var.event_source_mapping.MetricsConfig.Metrics : m == "EventCount"])
    error_message = "MetricsConfig.Metrics must be [] or [\"EventCount\"] (ErrorCount and KafkaMetrics are for Kafka sources only)."
  }

  validation {
    condition     = var.event_source_mapping.KMSKeyArn == null ? true : can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]{1,256}$", var.event_source_mapping.KMSKeyArn))
    error_message = "KMSKeyArn must be a KMS key ARN, arn:aws:kms:<region>:<12-digit account>:key/<key id>."
  }

  validation {
    condition = length(var.event_source_mapping.Tags) <= 50 && alltrue([
      for k, v in var.event_source_mapping.Tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")
    ])
    error_message = "Tags must hold at most 50 tags, keys of 1..128 characters not starting with aws:, values of at most 256 characters."
  }
}

variable "enhanced_fan_out" {
  description = "Read through a registered stream consumer (enhanced fan-out: a dedicated 2 MB/s per shard, spec 4.2) named like the function, instead of sharing the shards' reads (stream.enhanced_fan_out in consumers.json)."
  type        = bool
  default     = false
}

variable "stream" {
  description = "The Kinesis stream the consumer reads: name and ARN."
  type = object({
    name = string
    arn  = string
  })

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/", var.stream.arn))
    error_message = "stream.arn must be a Kinesis stream ARN."
  }
}

variable "on_failure_destination" {
  description = "The resolved on-failure destination (type and ARN of the queue, topic or bucket named in DestinationConfig), or null."
  type = object({
    type = string
    arn  = string
  })
  default = null

  validation {
    condition     = var.on_failure_destination == null ? true : contains(["sqs", "sns", "s3"], var.on_failure_destination.type) && startswith(var.on_failure_destination.arn, "arn:")
    error_message = "on_failure_destination must be null or {type = sqs|sns|s3, arn = <ARN>}."
  }
}

# ------------------------------------------------------------- the stores (IAM)

variable "ledger_table" {
  description = "The ledger table (resources.ledger_table): name and ARN."
  type = object({
    name = string
    arn  = string
  })
}

variable "aggregate_table" {
  description = "The aggregate table (resources.aggregate_table): name and ARN, or null."
  type = object({
    name = string
    arn  = string
  })
  default = null
}

variable "dead_letter_bucket" {
  description = "The dead-letter bucket (resources.dead_letter_bucket): name and ARN. Also holds large ledger intents."
  type = object({
    name = string
    arn  = string
  })
}

variable "archive_bucket" {
  description = "The archive bucket (resources.archive_bucket): name and ARN, or null."
  type = object({
    name = string
    arn  = string
  })
  default = null
}

variable "alerts_queue" {
  description = "The alerts FIFO queue (resources.alerts_queue): URL and ARN, or null."
  type = object({
    url = string
    arn = string
  })
  default = null

  validation {
    condition     = var.alerts_queue == null ? true : endswith(var.alerts_queue.arn, ".fifo")
    error_message = "alerts_queue must be an SQS FIFO queue."
  }
}

variable "dead_letter_prefix" {
  description = "Key prefix of dead letters in the DLQ bucket (streamkit Pipeline dead_letter_prefix)."
  type        = string
  default     = "dlq"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.dead_letter_prefix)) && !strcontains(var.dead_letter_prefix, "*")
    error_message = "dead_letter_prefix must be a non-empty S3 key prefix without leading or trailing slash or *."
  }
}

variable "intent_prefix" {
  description = "Key prefix of large ledger intents in the DLQ bucket (streamkit Ledger intent_prefix)."
  type        = string
  default     = "streamkit/intents"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.'()-]+(/[A-Za-z0-9!_.'()-]+)*$", var.intent_prefix))
    error_message = "intent_prefix must be a non-empty S3 key prefix without leading or trailing slash or *."
  }
}

variable "kms_key_arn" {
  description = "The customer managed KMS key of the stream, tables, buckets, queues, log group and environment."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "kms_services" {
  description = "Services through which the function may use the KMS key (kms:ViaService)."
  type        = list(string)
  default     = ["kinesis", "dynamodb", "s3", "sqs", "sns"]

  validation {
    condition     = length(var.kms_services) > 0 && alltrue([for s in var.kms_services : contains(["kinesis", "dynamodb", "s3", "sqs", "sns"], s)])
    error_message = "kms_services must be a non-empty subset of kinesis, dynamodb, s3, sqs, sns."
  }
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of the execution role, or null."
  type        = string
  default     = null
}

# ------------------------------------------------------------------------ alarms

variable "alarm_actions" {
  description = "ARNs notified when an alarm changes state (e.g. an SNS topic)."
  type        = list(string)
  default     = []
}

variable "iterator_age_alarm_ms" {
  description = "Alarm when IteratorAge (Maximum, 1 minute) exceeds this many milliseconds in 3 of 5 minutes."
  type        = number
  default     = 60000

  validation {
    condition     = var.iterator_age_alarm_ms >= 1000
    error_message = "iterator_age_alarm_ms must be at least 1000."
  }
}

variable "errors_alarm_threshold" {
  description = "Alarm when more than this many invocations fail in 5 minutes."
  type        = number
  default     = 0

  validation {
    condition     = var.errors_alarm_threshold >= 0
    error_message = "errors_alarm_threshold must be at least 0."
  }
}

variable "dead_letter_alarm_threshold" {
  description = "Alarm when more than this many records are dead-lettered in 5 minutes."
  type        = number
  default     = 0

  validation {
    condition     = var.dead_letter_alarm_threshold >= 0
    error_message = "dead_letter_alarm_threshold must be at least 0."
  }
}

variable "tags" {
  description = "Tags for every resource of the consumer."
  type        = map(string)
  default     = {}
}
