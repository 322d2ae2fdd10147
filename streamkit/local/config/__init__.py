"""The consumer config: one file, read by Terraform and by the local simulator.

``infra/consumers.json`` describes every Kinesis consumer once (architecture, "One
consumer config, two runtimes"). Terraform reads it with ``jsondecode`` to create the
real ``aws_lambda_event_source_mapping``; the local tooling reads it through
:func:`load_consumers`, so a replay runs with exactly the production settings.

File format (JSON; JSON has no comments, so the documentation lives here and, for
editors, in ``infra/consumers.schema.json``, which the file names as its
``$schema``)::

    {
      "$schema": "./consumers.schema.json",
      "consumers": {
        "clickstream": {
          "handler": "handlers.clickstream.handler",
          "stream": {"name": "clickstream", "shard_count": 2, "retention_hours": 24},
          "function": {"timeout_seconds": 60, "memory_mb": 512, "environment": {}},
          "event_source_mapping": {
            "BatchSize": 500,
            "MaximumBatchingWindowInSeconds": 1,
            "StartingPosition": "TRIM_HORIZON",
            "BisectBatchOnFunctionError": true,
            "MaximumRetryAttempts": 5,
            "MaximumRecordAgeInSeconds": 3600,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "TumblingWindowInSeconds": 0,
            "ParallelizationFactor": 1,
            "DestinationConfig": {
              "OnFailure": {"Destination": {"type": "sqs", "name": "clickstream-failures"}}
            }
          },
          "resources": {"ledger_table": "streamkit-ledger", "dead_letter_bucket": "..."}
        }
      }
    }

Fields:

* ``consumers``: object, consumer name -> consumer. A name is 1..64 characters of
  ``A-Z a-z 0-9 _ -`` (it becomes part of the Lambda function name). At least one.
* ``handler``: dotted ``module.attribute`` path of the Lambda handler.
* ``stream``: ``name`` (1..128 of ``A-Z a-z 0-9 _ . -``), ``shard_count`` (1..500, the
  default per-account shard quota of the largest regions), ``retention_hours``
  (24..8760, default 24; spec 7.5), ``enhanced_fan_out`` (default false; true: the
  consumer reads through a registered stream consumer of its own, named like its
  function, whose ARN is the mapping's source: a dedicated 2 MB/s per shard, spec
  0.5/4.2). Two consumers may read the same stream, but must then agree on its shard
  count and retention (not on ``enhanced_fan_out``, which is per consumer).
* ``function``: ``timeout_seconds`` (1..900), ``memory_mb`` (128..10240),
  ``environment`` (optional string map; Lambda's key pattern, no reserved keys such
  as ``AWS_REGION``, 4 KB in total).
* ``event_source_mapping``: the ESM settings spelled exactly with the AWS
  CreateEventSourceMapping field names, so Terraform passes them through unchanged.
  Ranges and defaults are those of spec section 0.1; a field left out takes its AWS
  default. ``StartingPosition`` is required. ``FilterCriteria`` is
  ``{"Filters": [{"Pattern": "<JSON string>"}]}`` (at most 10 filters, each pattern at
  most 4096 characters and a JSON object; deeper checks by
  ``streamkit.local.filters.compile_filters``). ``StartingPositionTimestamp`` is Unix
  seconds (a JSON number, as the API and CloudFormation take it), only with
  ``AT_TIMESTAMP`` and never in the future. streamkit's consumers need
  ``ParallelizationFactor`` 1 (the exactly-once ledger) and
  ``FunctionResponseTypes: ["ReportBatchItemFailures"]``. ``Enabled`` (default true;
  false pauses the mapping, which resumes from its checkpoint when re-enabled, spec
  0.7), ``MetricsConfig`` (``{"Metrics": ["EventCount"]}`` or ``{"Metrics": []}``;
  ErrorCount and KafkaMetrics are for Kafka sources), ``KMSKeyArn`` (a KMS key ARN,
  encrypting the filter criteria) and ``Tags`` (at most 50; keys 1..128, values
  0..256 characters of letters, digits, spaces and ``_ . : / = + - @``; ``aws:``
  reserved) are passed to Terraform as they are.
* ``resources``: the stores the handler writes to (``ledger_table``,
  ``dead_letter_bucket``, optional ``aggregate_table``, ``archive_bucket``,
  ``alerts_queue``), passed to it as ``STREAMKIT_*`` variables.

On-failure destination: a **logical reference**, not an ARN::

    "DestinationConfig": {"OnFailure": {"Destination": {"type": "sqs", "name": "q"}}}

``type`` is ``sqs``, ``sns`` or ``s3`` (spec 3.2) and ``name`` is the queue, topic or
bucket name. Terraform resolves it to the resource it creates (or looks up) in the
deployed account; the local tooling resolves it to the resource it provisions on the
embedded endpoint (:meth:`DestinationRef.arn` builds the ARN for a given region and
account). An ARN string is rejected: the same file must work in every account.
``{}`` and ``{"OnFailure": {}}`` (what AWS echoes, spec 0.2) mean "no destination".
FIFO queues and topics (names ending in ``.fifo``) are rejected (spec 3.2/9.11).

Validation collects every problem in the file and raises one :class:`ConfigError`
whose ``errors`` name the field path, the bad value and what is allowed, e.g.::

    consumers.clickstream.event_source_mapping.BatchSize: 20000 is out of range
    (allowed: 1..10000)

The modules, one job each: ``limits`` (AWS's numbers and name rules), ``models`` (the
pydantic models of the file), ``rules`` (the validators a type cannot say),
``errors`` (ConfigError and the wording of every problem), ``settings`` (the frozen
dataclasses the tooling uses, re-validated on construction), ``load`` (finding,
reading and writing the file) and ``schema`` (the JSON Schema; regenerate the
checked-in copy with ``python -m streamkit.local.config.schema >
infra/consumers.schema.json``). pydantic is a local-tooling dependency only: nothing
on the Lambda path imports this package.

Example::

    from streamkit.local.config import load_consumers

    consumers = load_consumers()                  # infra/consumers.json of this checkout
    esm = consumers["clickstream"].event_source_mapping
    esm.batch_size, esm.to_api()["BatchSize"]     # 500, 500
"""

from __future__ import annotations

from streamkit.local.config.errors import ConfigError
from streamkit.local.config.limits import (
    BATCH_SIZE,
    BATCHING_WINDOW,
    DEFAULT_RETENTION_HOURS,
    MAX_ENVIRONMENT_BYTES,
    MAX_FILTERS,
    MAX_PATTERN_CHARS,
    MAXIMUM_RECORD_AGE,
    MAXIMUM_RETRY_ATTEMPTS,
    MEMORY_MB,
    MINIMUM_FINITE_RECORD_AGE,
    PARALLELIZATION_FACTOR,
    REPORT_BATCH_ITEM_FAILURES,
    RETENTION_HOURS,
    SHARD_COUNT,
    TIMEOUT_SECONDS,
    TUMBLING_WINDOW,
)
from streamkit.local.config.load import (
    CONFIG_RELATIVE_PATH,
    SCHEMA_REFERENCE,
    consumers_to_dict,
    default_config_path,
    load_consumers,
    parse_consumers,
)
from streamkit.local.config.models import ESM_FIELDS
from streamkit.local.config.settings import (
    ConsumerConfig,
    DestinationRef,
    DestinationType,
    EsmSettings,
    FunctionSettings,
    ResourceSettings,
    StartingPosition,
    StreamSettings,
)

_ESM_FIELDS = ESM_FIELDS  # the name tests/infra/test_terraform_static.py reads

__all__ = [
    "BATCHING_WINDOW",
    "BATCH_SIZE",
    "CONFIG_RELATIVE_PATH",
    "DEFAULT_RETENTION_HOURS",
    "ESM_FIELDS",
    "MAXIMUM_RECORD_AGE",
    "MAXIMUM_RETRY_ATTEMPTS",
    "MAX_ENVIRONMENT_BYTES",
    "MAX_FILTERS",
    "MAX_PATTERN_CHARS",
    "MEMORY_MB",
    "MINIMUM_FINITE_RECORD_AGE",
    "PARALLELIZATION_FACTOR",
    "REPORT_BATCH_ITEM_FAILURES",
    "RETENTION_HOURS",
    "SCHEMA_REFERENCE",
    "SHARD_COUNT",
    "TIMEOUT_SECONDS",
    "TUMBLING_WINDOW",
    "ConfigError",
    "ConsumerConfig",
    "DestinationRef",
    "DestinationType",
    "EsmSettings",
    "FunctionSettings",
    "ResourceSettings",
    "StartingPosition",
    "StreamSettings",
    "consumers_to_dict",
    "default_config_path",
    "load_consumers",
    "parse_consumers",
]
