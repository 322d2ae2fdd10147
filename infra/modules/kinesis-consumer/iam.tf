# The execution role: exactly the actions the function (and its event source
# mapping, which acts with this role) performs, on exactly its resources.
#
#   stream        DescribeStream, DescribeStreamSummary, ListShards, GetShardIterator,
#                 GetRecords (the ESM's polling). kinesis:ListStreams is not granted:
#                 only the AWS managed AWSLambdaKinesisExecutionRole has it (for console
#                 pickers); the mapping never calls it, and it would need Resource "*".
#   stream consumer  SubscribeToShard on the registered consumer, with enhanced
#                 fan-out only (the one EFO action of Lambda's Kinesis permissions).
#   ledger table  GetItem (consistent read), UpdateItem (conditional intent and
#                 commit), only on items whose key starts with "<consumer>#": the
#                 ledger table is shared by all consumers.
#   aggregates    BatchGetItem, GetItem, PutItem. TransactWriteItems has no IAM action
#                 of its own: each Put in a transaction is authorized as PutItem.
#   DLQ bucket    PutObject under dlq/<consumer>/ (dead letters) and
#                 streamkit/intents/<consumer>/ (large ledger intents), GetObject on
#                 the intents (roll-forward after a crash).
#   archive       PutObject on the consumer's own archive bucket.
#   alerts queue  SendMessage.
#   on failure    sqs:SendMessage | sns:Publish | s3:PutObject + s3:ListBucket (spec 3.2).
#   KMS           Decrypt, GenerateDataKey on the project key, only via the services
#                 above (the stream, tables, buckets and queues are encrypted with it).
#   logs          CreateLogStream, PutLogEvents on the function's own log group
#                 (EMF metrics travel in the logs: no cloudwatch:PutMetricData).
#   X-Ray         PutTraceSegments, PutTelemetryRecords when tracing is Active.

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  kms_via_services = [for s in var.kms_services : "${s}.${data.aws_region.current.name}.amazonaws.com"]

  on_failure_sqs = var.on_failure_destination == null ? [] : (var.on_failure_destination.type == "sqs" ? [var.on_failure_destination.arn] : [])
  on_failure_sns = var.on_failure_destination == null ? [] : (var.on_failure_destination.type == "sns" ? [var.on_failure_destination.arn] : [])
  on_failure_s3  = var.on_failure_destination == null ? [] : (var.on_failure_destination.type == "s3" ? [var.on_failure_destination.arn] : [])
}

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "LambdaAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = local.function_name
  description          = "Execution role of the streamkit consumer ${var.name}"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid = "ReadStream"
    actions = [
      "kinesis:DescribeStream",
      "kinesis:DescribeStreamSummary",
      "kinesis:GetRecords",
      "kinesis:GetShardIterator",
      "kinesis:ListShards",
    ]
    resources = [var.stream.arn]
  }

  dynamic "statement" {
    for_each = aws_kinesis_stream_consumer.this[*].arn
    content {
      sid       = "ReadThroughStreamConsumer"
      actions   = ["kinesis:SubscribeToShard"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "LedgerOwnItems"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [var.ledger_table.arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["${var.name}#*"]
    }
  }

  dynamic "statement" {
    for_each = var.aggregate_table == null ? [] : [var.aggregate_table.arn]
    content {
      sid       = "AggregateItems"
      actions   = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem"]
      resources = [statement.value]
    }
  }

  statement {
    sid     = "WriteDeadLettersAndIntents"
    actions = ["s3:PutObject"]
    resources = [
      "${var.dead_letter_bucket.arn}/${var.dead_letter_prefix}/${var.name}/*",
      "${var.dead_letter_bucket.arn}/${var.intent_prefix}/${var.name}/*",
    ]
  }

  statement {
    sid       = "ReadIntents"
    actions   = ["s3:GetObject"]
    resources = ["${var.dead_letter_bucket.arn}/${var.intent_prefix}/${var.name}/*"]
  }

  dynamic "statement" {
    for_each = var.archive_bucket == null ? [] : [var.archive_bucket.arn]
    content {
      sid       = "WriteArchive"
      actions   = ["s3:PutObject"]
      resources = ["${statement.value}/*"]
    }
  }

  dynamic "statement" {
    for_each = var.alerts_queue == null ? [] : [var.alerts_queue.arn]
    content {
      sid       = "SendAlerts"
      actions   = ["sqs:SendMessage"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.on_failure_sqs
    content {
      sid       = "OnFailureQueue"
      actions   = ["sqs:SendMessage"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.on_failure_sns
    content {
      sid       = "OnFailureTopic"
      actions   = ["sns:Publish"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.on_failure_s3
    content {
      sid       = "OnFailureBucketList"
      actions   = ["s3:ListBucket"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.on_failure_s3
    content {
      sid       = "OnFailureBucketWrite"
      actions   = ["s3:PutObject"]
      resources = ["${statement.value}/aws/lambda/*"]
    }
  }

  statement {
    sid       = "UseProjectKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.kms_via_services
    }
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  dynamic "statement" {
    for_each = var.tracing_mode == "Active" ? [1] : []
    content {
      sid     = "XRayTraces"
      actions = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      # Resource "*": X-Ray defines no resource types for these actions (Service
      # Authorization Reference), so AWS accepts no narrower Resource here.
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "streamkit-consumer"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}
