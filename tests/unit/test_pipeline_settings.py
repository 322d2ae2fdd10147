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
