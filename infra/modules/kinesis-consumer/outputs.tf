output "function_name" {
  description = "Lambda function name."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Lambda function ARN."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "Execution role ARN."
  value       = aws_iam_role.this.arn
}

output "event_source_mapping_uuid" {
  description = "UUID of the event source mapping (also the prefix of S3 on-failure records, spec 3.5)."
  value       = aws_lambda_event_source_mapping.this.uuid
}

output "stream_consumer_arn" {
  description = "ARN of the registered stream consumer the mapping reads through (enhanced fan-out), or null."
  value       = var.enhanced_fan_out ? aws_kinesis_stream_consumer.this[0].arn : null
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = aws_cloudwatch_log_group.this.name
}

output "environment" {
  description = "The environment the function runs with: POWERTOOLS_*, function.environment and streamkit's STREAMKIT_* resource variables."
  value       = local.function_environment
}
