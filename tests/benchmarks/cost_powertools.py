"""The baseline of ``bench_cost.py``: the consumers written with Powertools' idempotency.

What a user would write without streamkit: ``BatchProcessor`` +
``process_partial_response`` with a record handler made idempotent by
``idempotent_function`` (``DynamoDBPersistenceLayer``, keyed on the record's
``eventID``: two writes per record), whose body parses the record with the consumer's
own parser and makes one ``UpdateItem`` per aggregate item the record touches:

* clickstream: ``ADD count`` on ``page_views#<site><page>``, ``events#<event>`` and
  ``site_users#<site>`` for the record's minute (no unique-user sketch: the baseline
  only counts, which makes its items smaller than streamkit's);
* iot: per metric, ``ADD count, sum`` and ``SET min/max = if_not_exists(...)`` on
  ``metrics#<device>/<metric>`` for the minute, returning the item; only when the
  reading is a new minimum or maximum a second, conditional ``SET`` (the only way to
  keep min/max with UpdateItem); ``state#<device>`` (sort key ``all``): ``ADD count`` and
  the latest reading, conditional on being newer (an older reading only counts); each
  triggered alert is one SQS FIFO ``SendMessage``.

Late and malformed records are skipped the way streamkit's pipeline dead-letters them
(same parser; a per-shard watermark kept in memory, the same lateness rule), so both
end with the same totals; the baseline writes no dead-letter objects and no archive.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import boto3
import orjson
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import (
    KinesisStreamRecord,
)
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from streamkit.aggregate import window_of
from streamkit.aggregate.lateness import is_late
from streamkit.aggregate.numbers import to_decimal
from streamkit.errors import PermanentError

WINDOW_S = 60

Handler = Callable[[Mapping[str, Any], Any], Any]


class Watermarks:
    """Per-shard event-time watermark, as streamkit's planner keeps it (in memory here)."""

    def __init__(self, allowed_lateness_s: float) -> None:
        self.allowed = allowed_lateness_s
        self.by_shard: dict[str, float] = {}

    def admit(self, shard: str, ts: float, arrival: float) -> bool:
        watermark = self.by_shard.get(shard)
        if is_late(ts, watermark, self.allowed):
            return False
        candidate = min(ts, arrival)
        if watermark is None or candidate > watermark:
            self.by_shard[shard] = candidate
        return True


def build_handler(
    name: str,
    *,
    session: boto3.Session,
    idempotency_table: str,
    aggregate_table: str,
    env: Mapping[str, str],
    alerts_queue_url: str | None = None,
) -> Handler:
    """The Powertools consumer ``name`` ("clickstream" or "iot") as a Lambda handler."""
    os.environ.pop("POWERTOOLS_IDEMPOTENCY_DISABLED", None)  # else the comparison lies
    persistence = DynamoDBPersistenceLayer(table_name=idempotency_table, boto3_session=session)
    config = IdempotencyConfig(event_key_jmespath="eventID")
    ddb = session.client("dynamodb")
    sqs = session.client("sqs")
    processor = BatchProcessor(event_type=EventType.KinesisDataStreams)
    if name == "clickstream":
        body = _clickstream_body(ddb, aggregate_table, env)
    elif name == "iot":
        body = _iot_body(ddb, sqs, aggregate_table, env, alerts_queue_url)
    else:
        raise ValueError(f"no Powertools baseline for consumer {name!r}")

    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="record", config=config, persistence_store=persistence
    )
    def record_handler(record: KinesisStreamRecord) -> None:
        body(record)

    def handler(event: Mapping[str, Any], context: Any) -> Any:
        config.register_lambda_context(context)
        return process_partial_response(
            event=dict(event), record_handler=record_handler, processor=processor, context=context
        )

    return handler


def _identity(record: KinesisStreamRecord) -> tuple[str, float, bytes, str]:
    shard = record.event_id.split(":", 1)[0]
    arrival = float(record.kinesis.approximate_arrival_timestamp)
    return shard, arrival, record.kinesis.data_as_bytes(), record.kinesis.partition_key


def _add(ddb: Any, table: str, pk: str, sk: str, **kwargs: Any) -> Any:
    return ddb.update_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, **kwargs)


def _clickstream_body(
    ddb: Any, table: str, env: Mapping[str, str]
) -> Callable[[KinesisStreamRecord], None]:
    from handlers.clickstream import DEFAULT_LATENESS_S, page_key
    from handlers.clickstream_formats import parse_click

    marks = Watermarks(float(env.get("STREAMKIT_ALLOWED_LATENESS_S", DEFAULT_LATENESS_S)))

    def body(record: KinesisStreamRecord) -> None:
        shard, arrival, data, _ = _identity(record)
        try:
            click = parse_click(data)
        except PermanentError:
            return  # malformed: streamkit dead-letters it
        ts = click.ts if click.ts is not None else arrival
        if not marks.admit(shard, ts, arrival):
            return  # late
        window = window_of(ts, WINDOW_S).key
        keys = [
            ("page_views", page_key(click)),
            ("events", click.event),
            ("site_users", click.site),
        ]
        for aggregate, key in keys:
            if key is not None:
                _add(
                    ddb,
                    table,
                    f"{aggregate}#{key}",
                    window,
                    UpdateExpression="ADD #c :one",
                    ExpressionAttributeNames={"#c": "count"},
                    ExpressionAttributeValues={":one": {"N": "1"}},
                )

    return body


def _iot_body(
    ddb: Any, sqs: Any, table: str, env: Mapping[str, str], queue_url: str | None
) -> Callable[[KinesisStreamRecord], None]:
    from handlers.iot import DEFAULT_LATENESS_S, latest_state, metric_fields
    from handlers.iot_formats import parse_reading, parse_thresholds, triggered

    marks = Watermarks(float(env.get("STREAMKIT_ALLOWED_LATENESS_S", DEFAULT_LATENESS_S)))
    thresholds = parse_thresholds(env.get("STREAMKIT_IOT_THRESHOLDS", ""))
    names = {"#c": "count", "#s": "sum", "#lo": "min", "#hi": "max"}

    def body(record: KinesisStreamRecord) -> None:
        shard, arrival, data, partition_key = _identity(record)
        try:
            reading = parse_reading(data, partition_key)
        except PermanentError:
            return  # malformed: streamkit dead-letters it
        ts = reading.ts if reading.ts is not None else arrival
        if not marks.admit(shard, ts, arrival):
            return  # late
        window = window_of(ts, WINDOW_S).key
        for metric, value in metric_fields(reading):
            key = f"{reading.device_id}/{metric}"  # one item per device and metric
            v = {"N": str(to_decimal(value))}
            item = _add(
                ddb,
                table,
                f"metrics#{key}",
                window,
                UpdateExpression=(
                    "ADD #c :one, #s :v SET #lo = if_not_exists(#lo, :v), "
                    "#hi = if_not_exists(#hi, :v)"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={":one": {"N": "1"}, ":v": v},
                ReturnValues="ALL_NEW",
            )["Attributes"]
            for attr, op in (("#lo", "<"), ("#hi", ">")):
                current = Decimal(item[names[attr]]["N"])
                if (Decimal(v["N"]) < current) if op == "<" else (Decimal(v["N"]) > current):
                    _set_if(ddb, table, f"metrics#{key}", window, attr, op, v, names)
        state = {"S": orjson.dumps(latest_state(reading), default=str).decode()}
        try:
            _add(
                ddb,
                table,
                f"state#{reading.device_id}",
                "all",
                UpdateExpression="ADD #c :one SET #st = :st, #t = :t",
                ConditionExpression="attribute_not_exists(#t) OR #t <= :t",
                ExpressionAttributeNames={"#c": "count", "#st": "state", "#t": "event_time"},
                ExpressionAttributeValues={":one": {"N": "1"}, ":st": state, ":t": {"N": repr(ts)}},
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            _add(  # an older reading: it counts, the state stays
                ddb,
                table,
                f"state#{reading.device_id}",
                "all",
                UpdateExpression="ADD #c :one",
                ExpressionAttributeNames={"#c": "count"},
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
        if queue_url:
            for t in triggered(reading, thresholds):
                sqs.send_message(
                    QueueUrl=queue_url,
                    MessageBody=orjson.dumps(
                        {"alert": t.name, "device_id": reading.device_id, "event_time": ts},
                        default=str,
                    ).decode(),
                    MessageGroupId=reading.device_id,
                    MessageDeduplicationId=f"{record.event_id}#{t.name}"[-128:],
                )

    return body


def _set_if(
    ddb: Any,
    table: str,
    pk: str,
    sk: str,
    attr: str,
    op: str,
    value: dict[str, str],
    names: Mapping[str, str],
) -> None:
    # Fails when another reading got there first with a more extreme value.
    with contextlib.suppress(ddb.exceptions.ConditionalCheckFailedException):
        _add(
            ddb,
            table,
            pk,
            sk,
            UpdateExpression=f"SET {attr} = :v",
            ConditionExpression=f":v {op} {attr}",
            ExpressionAttributeNames={attr: names[attr]},
            ExpressionAttributeValues={":v": value},
        )
