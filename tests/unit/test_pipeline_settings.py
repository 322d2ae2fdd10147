"""A pipeline refuses unusable resource names when it is built, naming the setting
(the sinks' clients skip botocore's parameter validation: an unset environment
variable would otherwise reach the service as an odd request)."""

from __future__ import annotations

from typing import Any

import pytest

from streamkit.pipeline import Aggregate, Archive, Pipeline
from streamkit.spec import Message

GOOD: dict[str, Any] = {"ledger_table": "ledger", "metrics": False}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"ledger_table": None}, "ledger_table must be a non-empty string, got None"),
        ({"ledger_table": ""}, "ledger_table must be a non-empty string, got ''"),
        (
            {"table": 7, "aggregates": [Aggregate("a", key=lambda d: "k")]},
            "table must be a non-empty string, got 7",
        ),
        ({"dead_letter_bucket": " "}, "dead_letter_bucket must be a non-empty string, got ' '"),
        ({"intent_bucket": ""}, "intent_bucket must be a non-empty string, got ''"),
        ({"archive": Archive("")}, "archive.bucket must be a non-empty string, got ''"),
        (
            {"messages": [Message("https://q", lambda d, r: []), Message(None, lambda d, r: [])]},  # type: ignore[arg-type]
            "messages[1].queue_url must be a non-empty string, got None",
        ),
    ],
)
def test_an_unusable_resource_name_is_refused_naming_the_setting(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        Pipeline("p", **{**GOOD, **settings})
    assert str(refused.value) == message


def test_good_names_build() -> None:
    pipeline = Pipeline(
        "p",
        aggregates=[Aggregate("a", key=lambda d: "k")],
        table="aggregates",
        archive=Archive("archive"),
        dead_letter_bucket="dlq",
        intent_bucket="intents",
        messages=[Message("https://sqs.us-east-1.amazonaws.com/1/q.fifo", lambda d, r: [])],
        **GOOD,
    )
    assert pipeline.table == "aggregates"


@pytest.mark.parametrize("level", [-1, 10, 6.0, "6", None, True])
def test_an_archive_compresslevel_outside_gzips_is_refused_naming_the_field(level: Any) -> None:
    with pytest.raises(ValueError) as refused:
        Archive("b", compresslevel=level)
    assert str(refused.value) == (
        f"archive.compresslevel must be an int from 0 (stored) to 9 (smallest), got {level!r}"
    )


def test_the_archive_compresses_at_its_level() -> None:
    """Every level holds the same lines; 0 stores them, 9 takes the fewest bytes."""
    import gzip

    from streamkit.sinks.s3 import archive_objects

    lines = [
        ((i, 0), 1_795_860_000.0 + i, b'{"page":"/p/%d","n":%d}' % (i % 7, i)) for i in range(500)
    ]
    bodies = {}
    for level in (0, 1, 6, 9):
        [obj] = archive_objects(
            lines,
            bucket="b",
            prefix="a",
            stream="s",
            shard_id="sh",
            consumer="c",
            compresslevel=level,
        )
        bodies[level] = obj.body
        assert gzip.decompress(obj.body) == b"".join(line + b"\n" for _, _, line in lines)
    assert all(len(bodies[level]) < len(bodies[0]) for level in (1, 6, 9))
    assert len(bodies[9]) <= min(len(bodies[1]), len(bodies[6]))
    assert Archive("b").compresslevel == 6


@pytest.mark.parametrize("where", [0, 2, 4])
@pytest.mark.parametrize("stop", ["none", "deadline", "committed"])
def test_a_record_without_a_sequence_number_refuses_the_plan_wherever_it_is(
    where: int, stop: str
) -> None:
    """An event with a record the planner cannot identify is refused whole, naming the
    record, wherever it is (first, after good records, after the planner would have
    stopped taking records at a deadline, among records the ledger committed), and
    before any of the spec's functions runs: refusing it costs no planning, however
    often Lambda retries it, and its records' side effects never happen."""
    from streamkit.deadline import Deadline
    from streamkit.errors import InvalidEventError
    from streamkit.ledger import LedgerState
    from streamkit.local.events import kinesis_event

    event = kinesis_event([b'{"page": "/"}'] * 5)
    records = event["Records"]
    state = LedgerState.new_shard()
    deadline = Deadline(None, 0)
    if stop == "deadline":
        deadline = Deadline(lambda: 0, 100)  # reached before the first record
    elif stop == "committed":
        last = records[-1]["kinesis"]["sequenceNumber"]
        state = LedgerState(1, (int(last), 0), None, None, True)
    records[where]["kinesis"]["sequenceNumber"] = "12a"
    seen: list[object] = []
    pipeline = Pipeline(
        "p",
        validate=seen.append,  # returns None: keeps the document
        aggregates=[Aggregate("v", key=lambda d: d["page"])],
        table="t",
        **GOOD,
    )
    with pytest.raises(InvalidEventError) as refused:
        pipeline.plan(records, state, deadline=deadline)
    assert str(refused.value) == (
        f"Records[{where}].kinesis.sequenceNumber must be a decimal string, got '12a'"
    )
    del records[where]["kinesis"]["sequenceNumber"]
    with pytest.raises(
        InvalidEventError, match=rf"Records\[{where}\]\.kinesis\.sequenceNumber is missing"
    ):
        pipeline.plan(records, state, deadline=deadline)
    assert seen == []
