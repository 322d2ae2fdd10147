# Root composition: every consumer of consumers.json with its stream, tables,
# buckets, queues and on-failure destination. consumers.json is the single source
# of the consumers' settings (architecture: "One consumer config, two runtimes"):
# the local simulator reads the same file, so a replay runs with these settings.

locals {
  config    = jsondecode(file("${path.module}/consumers.json"))
  consumers = local.config.consumers

  # Streams, once each (two consumers may read one stream; the config makes them
  # agree on its shape). retention_hours defaults to 24, as in the config.
  streams = {
    for s in distinct([
      for c in values(local.consumers) : {
        name            = c.stream.name
        shard_count     = c.stream.shard_count
        retention_hours = try(c.stream.retention_hours, 24)
      }
    ]) : s.name => s
  }

  ledger_tables    = toset([for c in values(local.consumers) : c.resources.ledger_table])
  aggregate_tables = toset(compact([for c in values(local.consumers) : try(c.resources.aggregate_table, "")]))
  archive_buckets  = toset(compact([for c in values(local.consumers) : try(c.resources.archive_bucket, "")]))
  dlq_buckets      = toset([for c in values(local.consumers) : c.resources.dead_letter_bucket])
  alerts_queues    = toset(compact([for c in values(local.consumers) : try(c.resources.alerts_queue, "")]))

  # The logical on-failure destinations ({type, name}), per consumer (null: none).
  destinations = {
    for name, c in local.consumers : name => try(c.event_source_mapping.DestinationConfig.OnFailure.Destination, null)
  }
  destination_queues  = toset([for d in values(local.destinations) : d.name if try(d.type, "") == "sqs"])
  destination_topics  = toset([for d in values(local.destinations) : d.name if try(d.type, "") == "sns"])
  destination_buckets = toset([for d in values(local.destinations) : d.name if try(d.type, "") == "s3"])

  buckets = setunion(local.archive_buckets, local.dlq_buckets, local.destination_buckets)

  # Logical destination -> ARN of the resource created below.
  destination_arns = {
    sqs = { for n, q in aws_sqs_queue.on_failure : n => q.arn }
    sns = { for n, t in aws_sns_topic.on_failure : n => t.arn }
    s3  = { for n, b in module.bucket : n => b.arn }
  }
}

# ------------------------------------------------------------------- streams

module "stream" {
  source   = "./modules/kinesis-stream"
  for_each = local.streams

  name            = each.key
  shard_count     = each.value.shard_count
  retention_hours = each.value.retention_hours
  stream_mode     = var.stream_mode
  kms_key_arn     = aws_kms_key.streamkit.arn
}

# -------------------------------------------------------------------- tables

module "ledger_table" {
  source   = "./modules/dynamodb-table"
  for_each = local.ledger_tables

  name                = each.key
  hash_key            = "id"
  kms_key_arn         = aws_kms_key.streamkit.arn
  deletion_protection = var.deletion_protection
  # Commit journal entries (<consumer>#<shard>#commit#<generation>) expire: streamkit
  # recover reads them to skip what a shard committed before Lambda discarded it.
  ttl_attribute = "expires_at"
}

module "aggregate_table" {
  source   = "./modules/dynamodb-table"
  for_each = local.aggregate_tables

  name                = each.key
  hash_key            = "pk"
  range_key           = "sk"
  ttl_attribute       = "ttl"
  kms_key_arn         = aws_kms_key.streamkit.arn
  deletion_protection = var.deletion_protection
}

# ------------------------------------------------------------------- buckets

module "bucket" {
  source   = "./modules/s3-bucket"
  for_each = local.buckets

  name        = each.key
  kms_key_arn = aws_kms_key.streamkit.arn
  # Archives are kept; dead letters and on-failure records expire once handled.
  expiration_days                    = contains(local.archive_buckets, each.key) ? var.archive_expiration_days : var.dead_letter_expiration_days
  transition_to_ia_days              = contains(local.archive_buckets, each.key) ? var.archive_transition_to_ia_days : null
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  access_logging                     = var.access_logging
  tls_only_policy                    = var.tls_only_bucket_policy
  # Through the policy: logging is configured only once delivery is allowed.
  access_log_bucket = one(aws_s3_bucket_policy.access_logs[*].bucket)
  force_destroy     = var.force_destroy_buckets
}

# ------------------------------------------------------ queues and topics

resource "aws_sqs_queue" "on_failure" {
  for_each = local.destination_queues

  name                      = each.key
  message_retention_seconds = 1209600 # 14 days, the maximum: time to inspect and replay
  kms_master_key_id         = aws_kms_key.streamkit.arn
}

resource "aws_sns_topic" "on_failure" {
  for_each = local.destination_topics

  name              = each.key
  kms_master_key_id = aws_kms_key.streamkit.arn
}

resource "aws_sqs_queue" "alerts" {
  for_each = local.alerts_queues

  name       = each.key
  fifo_queue = true
  # streamkit sends an explicit MessageDeduplicationId per alert (exactly once).
  content_based_deduplication = false
  message_retention_seconds   = 345600 # 4 days
  kms_master_key_id           = aws_kms_key.streamkit.arn
}

# ----------------------------------------------------------------- consumers

module "consumer" {
  source   = "./modules/kinesis-consumer"
  for_each = local.consumers

  name                 = each.key
  function_name_prefix = var.function_name_prefix
  handler              = each.value.handler
  runtime              = var.runtime
  architecture         = var.architecture
  package_path         = coalesce(var.package_path, "${path.module}/../dist/lambda-${var.architecture}.zip")
  timeout_seconds      = each.value.function.timeout_seconds
  memory_mb            = each.value.function.memory_mb
  environment          = try(each.value.function.environment, {})
  # Open shards x ParallelizationFactor (1), with room for splits (see variables.tf).
  reserved_concurrency = each.value.stream.shard_count * var.concurrency_per_shard
  tracing_mode         = var.tracing_mode
  metrics_namespace    = var.metrics_namespace
  log_retention_days   = var.log_retention_days

  event_source_mapping = each.value.event_source_mapping
  stream               = { name = module.stream[each.value.stream.name].name, arn = module.stream[each.value.stream.name].arn }
  enhanced_fan_out     = try(each.value.stream.enhanced_fan_out, false)
  on_failure_destination = local.destinations[each.key] == null ? null : {
    type = local.destinations[each.key].type
    arn  = local.destination_arns[local.destinations[each.key].type][local.destinations[each.key].name]
  }

  ledger_table       = { name = module.ledger_table[each.value.resources.ledger_table].name, arn = module.ledger_table[each.value.resources.ledger_table].arn }
  dead_letter_bucket = { name = module.bucket[each.value.resources.dead_letter_bucket].name, arn = module.bucket[each.value.resources.dead_letter_bucket].arn }
  aggregate_table = try(each.value.resources.aggregate_table, null) == null ? null : {
    name = module.aggregate_table[each.value.resources.aggregate_table].name
    arn  = module.aggregate_table[each.value.resources.aggregate_table].arn
  }
  archive_bucket = try(each.value.resources.archive_bucket, null) == null ? null : {
    name = module.bucket[each.value.resources.archive_bucket].name
    arn  = module.bucket[each.value.resources.archive_bucket].arn
  }
  alerts_queue = try(each.value.resources.alerts_queue, null) == null ? null : {
    url = aws_sqs_queue.alerts[each.value.resources.alerts_queue].url
    arn = aws_sqs_queue.alerts[each.value.resources.alerts_queue].arn
  }

  kms_key_arn                 = aws_kms_key.streamkit.arn
  alarm_actions               = var.alarm_actions
  iterator_age_alarm_ms       = var.iterator_age_alarm_ms
  dead_letter_alarm_threshold = var.dead_letter_alarm_threshold
  permissions_boundary_arn    = var.permissions_boundary_arn
}
