# An on-demand DynamoDB table: point-in-time recovery, SSE with a customer managed
# KMS key, optional TTL. The schemas streamkit uses (see streamkit/local/aws.py):
# ledger = hash key "id"; aggregates = hash "pk", range "sk", TTL attribute "ttl".

resource "aws_dynamodb_table" "this" {
  name                        = var.name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = var.hash_key
  range_key                   = var.range_key
  deletion_protection_enabled = var.deletion_protection

  dynamic "attribute" {
    for_each = compact([var.hash_key, var.range_key == null ? "" : var.range_key])
    content {
      name = attribute.value
      type = "S"
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  dynamic "ttl" {
    for_each = var.ttl_attribute == null ? [] : [var.ttl_attribute]
    content {
      enabled        = true
      attribute_name = ttl.value
    }
  }

  tags = var.tags
}
