output "functions" {
  description = "Consumer name -> Lambda function name."
  value       = { for name, c in module.consumer : name => c.function_name }
}

output "event_source_mappings" {
  description = "Consumer name -> event source mapping UUID."
  value       = { for name, c in module.consumer : name => c.event_source_mapping_uuid }
}

output "environments" {
  description = "Consumer name -> the environment its function runs with (POWERTOOLS_*, function.environment, STREAMKIT_*)."
  value       = { for name, c in module.consumer : name => c.environment }
}

output "streams" {
  description = "Stream name -> ARN."
  value       = { for name, s in module.stream : name => s.arn }
}

output "kms_key_arn" {
  description = "The project KMS key."
  value       = aws_kms_key.streamkit.arn
}
