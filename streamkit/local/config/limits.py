"""The numbers and name rules of the consumer config: AWS's, not ours.

Ranges are inclusive ``(min, max)`` pairs: the event source mapping's from spec
section 0.1 (and the botocore shapes of CreateEventSourceMapping), the stream's from
Kinesis (spec 7.5), the function's from Lambda. Terraform's variable validations
check the same numbers (tests/infra/test_terraform_static.py compares them).

Name patterns are anchored (``^...$``) and free of look-arounds, so pydantic's
default (Rust) regex engine, Python's ``re`` and JSON Schema validators read them
alike.
"""

from __future__ import annotations

from typing import Final

REPORT_BATCH_ITEM_FAILURES: Final = "ReportBatchItemFailures"

# Spec 0.1 (and the botocore shapes of CreateEventSourceMapping).
BATCH_SIZE: Final = (1, 10000)
BATCHING_WINDOW: Final = (0, 300)
PARALLELIZATION_FACTOR: Final = (1, 10)
MAXIMUM_RETRY_ATTEMPTS: Final = (-1, 10000)
MAXIMUM_RECORD_AGE: Final = (-1, 604800)
MINIMUM_FINITE_RECORD_AGE: Final = 60
TUMBLING_WINDOW: Final = (0, 900)
MAX_FILTERS: Final = 10
MAX_PATTERN_CHARS: Final = 4096
# MetricsConfig.Metrics: botocore's enum is EventCount, ErrorCount, KafkaMetrics; the
# last two are for Kafka sources only, so a Kinesis mapping may ask for EventCount.
KINESIS_ESM_METRICS: Final = ("EventCount",)
# Tags (botocore TagKey/TagValue; Lambda's tagging limits): at most 50 per resource,
# keys 1..128 and values 0..256 characters of letters, spaces, digits and _ . : / = + - @,
# the "aws:" prefix reserved.
MAX_TAGS: Final = 50
TAG_KEY_CHARS: Final = (1, 128)
TAG_VALUE_CHARS: Final = (0, 256)
TAG_PUNCTUATION: Final = frozenset("_.:/=+-@")
RESERVED_TAG_PREFIX: Final = "aws:"
# Kinesis (spec 7.5) and Lambda limits.
SHARD_COUNT: Final = (1, 500)
RETENTION_HOURS: Final = (24, 8760)
DEFAULT_RETENTION_HOURS: Final = 24
TIMEOUT_SECONDS: Final = (1, 900)
MEMORY_MB: Final = (128, 10240)
MAX_HANDLER_CHARS: Final = 128
MAX_ENVIRONMENT_BYTES: Final = 4096

CONSUMER_NAME: Final = r"^[A-Za-z0-9_-]{1,64}$"
HANDLER: Final = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$"
STREAM_NAME: Final = r"^[A-Za-z0-9_.-]{1,128}$"
ENV_KEY: Final = r"^[A-Za-z][A-Za-z0-9_]+$"
TABLE_NAME: Final = r"^[A-Za-z0-9_.-]{3,255}$"
FIFO_QUEUE: Final = r"^[A-Za-z0-9_-]{1,75}\.fifo$"
# 3..63 characters of a-z 0-9 . -, first and last a letter or digit, no "..": every
# "." is followed by a letter, digit or "-". (The length is a separate constraint.)
BUCKET_NAME: Final = r"^[a-z0-9](\.?[a-z0-9-])*\.?[a-z0-9]$"
BUCKET_NAME_CHARS: Final = (3, 63)
SQS_NAME: Final = r"^[A-Za-z0-9_-]{1,80}$"
SNS_NAME: Final = r"^[A-Za-z0-9_-]{1,256}$"
# A KMS key ARN (KMSKeyArn encrypts the mapping's filter criteria): a key, not an alias.
KMS_KEY_ARN: Final = r"^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]{1,256}$"

# What the messages say is allowed, for the rules above.
BUCKET_TEXT: Final = "3..63 characters of a-z 0-9 . -, starting and ending with a letter or digit"
TABLE_TEXT: Final = "3..255 characters of A-Z a-z 0-9 _ . -"
KMS_KEY_TEXT: Final = "a KMS key ARN, arn:aws:kms:<region>:<12-digit account>:key/<key id>"
TAG_KEY_TEXT: Final = (
    "1..128 characters of letters, digits, spaces and _ . : / = + - @, not starting with aws:"
)
TAG_VALUE_TEXT: Final = "0..256 characters of letters, digits, spaces and _ . : / = + - @"
DESTINATION_TEXT: Final = {
    "sqs": "1..80 characters of A-Z a-z 0-9 _ -",
    "sns": "1..256 characters of A-Z a-z 0-9 _ -",
    "s3": BUCKET_TEXT,
}

# Lambda refuses to let a function set these (Lambda developer guide, "Defined
# runtime environment variables").
RESERVED_ENV: Final = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_REGION",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
    }
)

# streamkit sets these from the consumer's name and resources (ResourceSettings.environment,
# and locals.streamkit_environment of infra/modules/kinesis-consumer), so
# function.environment must not: a value there would be silently overridden. Other
# STREAMKIT_* names (STREAMKIT_IOT_THRESHOLDS, STREAMKIT_ALLOWED_LATENESS_S) are the
# handlers' own settings and belong in function.environment.
STREAMKIT_RESOURCE_ENV: Final = frozenset(
    {
        "STREAMKIT_CONSUMER",
        "STREAMKIT_LEDGER_TABLE",
        "STREAMKIT_DLQ_BUCKET",
        "STREAMKIT_AGGREGATE_TABLE",
        "STREAMKIT_ARCHIVE_BUCKET",
        "STREAMKIT_ALERTS_QUEUE_URL",
    }
)
