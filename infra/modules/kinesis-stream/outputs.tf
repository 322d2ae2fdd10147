output "name" {
  description = "Stream name."
  value       = aws_kinesis_stream.this.name
}

output "arn" {
  description = "Stream ARN (the event source of the consumers' mappings)."
  value       = aws_kinesis_stream.this.arn
}
