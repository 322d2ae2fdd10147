"""The IoT telemetry consumer: per-device metrics per minute, latest state, alerts.

Accepts AWS IoT Core style payloads (flat or nested metrics, Device Shadow
``state.reported`` documents; timestamps in epoch seconds, milliseconds or ISO 8601;
device id in the payload or the partition key; see :mod:`handlers.iot_formats`).
Readings are placed by event time, so clock skew and out-of-order readings land in
the right minute; readings later than the allowed lateness behind the shard's
watermark are dead-lettered with reason ``late``.

Aggregates (DynamoDB):

* ``metrics#<device>`` per minute: one item with every metric of the device under
  ``fields.<metric>``: count, min, max, mean (sum/count), last (one write per device
  and minute, whatever the number of metrics; read them with :mod:`streamkit.query`);
* ``state#<device>`` (sort key ``all``): the latest reading of the device, state
  and metrics, by event time.

Alerts: thresholds from ``STREAMKIT_IOT_THRESHOLDS`` (``temperature>90:overheat,
battery<10:low_battery``) send one message per triggering reading to the SQS FIFO
queue ``STREAMKIT_ALERTS_QUEUE_URL``, with a deduplication id derived from the
record identity; the send is part of the ledger intent, so a retried batch neither
loses nor repeats an alert (within SQS's 5-minute deduplication window).

Configuration: ``STREAMKIT_CONSUMER``, ``STREAMKIT_LEDGER_TABLE``,
``STREAMKIT_AGGREGATE_TABLE``, ``STREAMKIT_DLQ_BUCKET``,
``STREAMKIT_ALERTS_QUEUE_URL`` (optional), ``STREAMKIT_IOT_THRESHOLDS`` (optional),
``STREAMKIT_ALLOWED_LATENESS_S`` (default 300).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from handlers.iot_formats import Reading, Threshold, parse_reading, parse_thresholds, triggered
from streamkit import Record
from streamkit.pipeline import Aggregate, LazyPipeline, Message, Pipeline

WINDOW_S = 60
DEFAULT_LATENESS_S = 300


def decode(record: Record) -> Reading:
    return parse_reading(record.data, record.partition_key)


def metric_fields(reading: Reading) -> Iterable[tuple[str, Any]]:
    return sorted(reading.metrics.items())


def latest_state(reading: Reading) -> dict[str, Any]:
    return {
        "state": reading.state,
        "metrics": {k: str(v) for k, v in sorted(reading.metrics.items())},
    }


def alert_messages(thresholds: Sequence[Threshold]) -> Any:
    def build(reading: Reading, record: Record) -> list[tuple[str, Any]]:
        return [
            (
                t.name,
                {
                    "alert": t.name,
                    "device_id": reading.device_id,
                    "metric": t.metric,
                    "value": str(reading.metrics[t.metric]),
                    "threshold": f"{t.op}{t.value}",
                    "event_time": reading.ts,
                    "record_id": record.id,
                },
            )
            for t in triggered(reading, thresholds)
        ]

    return build


def build_pipeline(env: Mapping[str, str]) -> Pipeline:
    """The consumer's pipeline from its environment (raises KeyError naming a missing variable)."""
    thresholds = parse_thresholds(env.get("STREAMKIT_IOT_THRESHOLDS", ""))
    queue = env.get("STREAMKIT_ALERTS_QUEUE_URL")
    messages = []
    if queue and thresholds:
        messages.append(
            Message(queue, alert_messages(thresholds), group_id=lambda r, rec: r.device_id)
        )
    return Pipeline(
        env.get("STREAMKIT_CONSUMER", "iot"),
        decode=decode,
        event_time=lambda reading, record: reading.ts,
        aggregates=[
            Aggregate(
                "metrics", key=lambda r: r.device_id, fields=metric_fields, window_s=WINDOW_S
            ),
            Aggregate(
                "state",
                key=lambda r: r.device_id,
                window_s=None,
                last=latest_state,
            ),
        ],
        table=env["STREAMKIT_AGGREGATE_TABLE"],
        dead_letter_bucket=env["STREAMKIT_DLQ_BUCKET"],
        ledger_table=env["STREAMKIT_LEDGER_TABLE"],
        messages=messages,
        allowed_lateness_s=float(env.get("STREAMKIT_ALLOWED_LATENESS_S", DEFAULT_LATENESS_S)),
    )


_lazy = LazyPipeline(build_pipeline)

#: This container's pipeline, built from the environment on first use.
pipeline = _lazy.get
#: Lambda entry point (``handlers.iot.handler``).
handler = _lazy.handler
#: Forget the cached pipeline (tests that change the environment).
reset = _lazy.reset
