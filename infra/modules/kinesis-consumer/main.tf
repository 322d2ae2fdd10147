# One streamkit consumer: the Lambda function, its log group, its event source
# mapping (built argument by argument from the consumer's entry in
# infra/consumers.json), with enhanced fan-out its registered stream consumer, its
# execution role (iam.tf) and its alarms (alarms.tf).

locals {
  function_name = "${var.function_name_prefix}${var.name}"

  # The variables a handler reads (streamkit.local.config.ResourceSettings.environment).
  streamkit_environment = merge(
    {
      STREAMKIT_CONSUMER     = var.name
      STREAMKIT_LEDGER_TABLE = var.ledger_table.name
      STREAMKIT_DLQ_BUCKET   = var.dead_letter_bucket.name
    },
    var.aggregate_table == null ? {} : { STREAMKIT_AGGREGATE_TABLE = var.aggregate_table.name },
    var.archive_bucket == null ? {} : { STREAMKIT_ARCHIVE_BUCKET = var.archive_bucket.name },
    var.alerts_queue == null ? {} : { STREAMKIT_ALERTS_QUEUE_URL = var.alerts_queue.url },
  )

  powertools_environment = {
    POWERTOOLS_SERVICE_NAME      = var.name
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
  }

  # Everything the function runs with. streamkit's own variables win: IAM grants
  # exactly these resources (and the variable's validation refuses those names).
  function_environment = merge(local.powertools_environment, var.environment, local.streamkit_environment)

  esm = var.event_source_mapping
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:A Lambda DLQ only receives failed asynchronous invocations; a Kinesis event source mapping invokes synchronously and sends discarded batches to its own on-failure destination (destination_config below), poison records go to the streamkit DLQ bucket.
  #checkov:skip=CKV_AWS_117:The function only calls public AWS endpoints (Kinesis, DynamoDB, S3, SQS, CloudWatch Logs); a VPC would add NAT gateways or interface endpoints and protect nothing.
  #checkov:skip=CKV_AWS_272:The package is built reproducibly by `streamkit package` and pinned by source_code_hash; AWS Signer profiles are per-account setup outside this repository.
  function_name                  = local.function_name
  description                    = "streamkit Kinesis consumer ${var.name}"
  role                           = aws_iam_role.this.arn
  handler                        = var.handler
  runtime                        = var.runtime
  architectures                  = [var.architecture]
  filename                       = var.package_path
  source_code_hash               = filebase64sha256(var.package_path)
  timeout                        = var.timeout_seconds
  memory_size                    = var.memory_mb
  reserved_concurrent_executions = var.reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = local.function_environment
  }

  tracing_config {
    mode = var.tracing_mode
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}

# Enhanced fan-out (stream.enhanced_fan_out in consumers.json): a registered stream
# consumer named like the function, with a dedicated 2 MB/s per shard; the mapping
# reads through it (its ARN is the event source, spec 0.5/4.2).
resource "aws_kinesis_stream_consumer" "this" {
  count = var.enhanced_fan_out ? 1 : 0

  name       = local.function_name
  stream_arn = var.stream.arn
}

resource "aws_lambda_event_source_mapping" "this" {
  function_name    = aws_lambda_function.this.arn
  event_source_arn = var.enhanced_fan_out ? aws_kinesis_stream_consumer.this[0].arn : var.stream.arn

  # Every argument below is the consumer's event_source_mapping field of the same
  # AWS name (defaults: the AWS ones, applied by the variable's type).
  # tests/infra/test_terraform_static.py checks the mapping field by field.
  batch_size                         = local.esm.BatchSize
  maximum_batching_window_in_seconds = local.esm.MaximumBatchingWindowInSeconds
  starting_position                  = local.esm.StartingPosition
  starting_position_timestamp        = local.esm.StartingPositionTimestamp == null ? null : timeadd("1970-01-01T00:00:00Z", format("%ds", floor(local.esm.StartingPositionTimestamp)))
  bisect_batch_on_function_error     = local.esm.BisectBatchOnFunctionError
  maximum_retry_attempts             = local.esm.MaximumRetryAttempts
  maximum_record_age_in_seconds      = local.esm.MaximumRecordAgeInSeconds
  function_response_types            = local.esm.FunctionResponseTypes
  tumbling_window_in_seconds         = local.esm.TumblingWindowInSeconds
  parallelization_factor             = local.esm.ParallelizationFactor
  enabled                            = local.esm.Enabled
  kms_key_arn                        = local.esm.KMSKeyArn
  # The module's tags, then the mapping's own Tags (which win on a shared key).
  tags = merge(var.tags, local.esm.Tags)

  dynamic "metrics_config" {
    for_each = local.esm.MetricsConfig == null ? [] : [local.esm.MetricsConfig]
    content {
      metrics = metrics_config.value.Metrics
    }
  }

  dynamic "filter_criteria" {
    for_each = local.esm.FilterCriteria == null ? [] : [local.esm.FilterCriteria]
    content {
      dynamic "filter" {
        for_each = filter_criteria.value.Filters
        content {
          pattern = filter.value.Pattern
        }
      }
    }
  }

  dynamic "destination_config" {
    for_each = var.on_failure_destination == null ? [] : [var.on_failure_destination]
    content {
      on_failure {
        destination_arn = destination_config.value.arn
      }
    }
  }

  lifecycle {
    precondition {
      condition     = (try(local.esm.DestinationConfig.OnFailure.Destination, null) == null) == (var.on_failure_destination == null)
      error_message = "on_failure_destination must be given exactly when event_source_mapping.DestinationConfig.OnFailure.Destination is set (it is that logical destination, resolved to an ARN)."
    }
    precondition {
      condition     = var.on_failure_destination == null ? true : try(local.esm.DestinationConfig.OnFailure.Destination.type, "") == var.on_failure_destination.type
      error_message = "on_failure_destination.type differs from event_source_mapping.DestinationConfig.OnFailure.Destination.type."
    }
  }

  depends_on = [aws_iam_role_policy.this]
}
