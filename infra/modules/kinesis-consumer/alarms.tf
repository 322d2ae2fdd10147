# Alarms: the consumer falls behind (IteratorAge), fails (Errors), is throttled
# (Throttles), or dead-letters poison records (streamkit's RecordsDeadLettered EMF
# metric, dimensions Stream + service, see streamkit/observability.py).

resource "aws_cloudwatch_metric_alarm" "iterator_age" {
  alarm_name          = "${local.function_name}-iterator-age"
  alarm_description   = "${var.name}: the oldest record of the last batch is more than ${var.iterator_age_alarm_ms} ms old; the consumer is falling behind its stream."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = var.iterator_age_alarm_ms
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${local.function_name}-errors"
  alarm_description   = "${var.name}: invocations failed (crash or timeout); Lambda retries the batch and the shard waits."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.errors_alarm_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  alarm_name          = "${local.function_name}-throttles"
  alarm_description   = "${var.name}: invocations were throttled (reserved concurrency below open shards x ParallelizationFactor?)."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  alarm_name          = "${local.function_name}-dead-letters"
  alarm_description   = "${var.name}: poison records went to the dead-letter bucket ${var.dead_letter_bucket.name}; inspect and redrive them."
  namespace           = var.metrics_namespace
  metric_name         = "RecordsDeadLettered"
  dimensions          = { Stream = var.stream.name, service = var.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.dead_letter_alarm_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}
