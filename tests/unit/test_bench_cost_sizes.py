"""bench_cost's write-unit arithmetic: DynamoDB item sizes and write capacity units.

The sizes follow "DynamoDB item sizes and formats" (developer guide); the meter's
before/after rule is checked against real calls on the embedded endpoint. The whole
benchmark is also run once at a toy size (its figures are not asserted, only that both
implementations end with the same totals).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).parents[1] / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


cost_meter = _load("cost_meter")
item_size = cost_meter.item_size
write_units = cost_meter.write_units


@pytest.mark.parametrize(
    ("item", "size"),
    [
        # strings: name bytes + UTF-8 bytes of the value
        ({"name": {"S": "Alice"}}, 4 + 5),
        ({"ü": {"S": "é€"}}, 2 + 2 + 3),
        # numbers: 1 byte per two significant digits, + 1; leading/trailing zeros trimmed
        ({"n": {"N": "12345"}}, 1 + 3 + 1),
        ({"n": {"N": "1500"}}, 1 + 1 + 1),
        ({"n": {"N": "-0.0015"}}, 1 + 1 + 1),
        ({"n": {"N": "0"}}, 1 + 1 + 1),
        ({"n": {"N": "123456789012345678901234567890123456.78"}}, 1 + 19 + 1),
        # binary: raw bytes (base64 text in a request body decodes to them)
        ({"b": {"B": b"\x00\x01\x02"}}, 1 + 3),
        ({"b": {"B": "AAEC"}}, 1 + 3),
        # null and boolean: 1 byte
        ({"ok": {"BOOL": True}, "x": {"NULL": True}}, 2 + 1 + 1 + 1),
        # sets: the sum of their elements
        ({"ss": {"SS": ["a", "bc"]}, "ns": {"NS": ["1", "22"]}}, 2 + 3 + 2 + 2 + 2),
        # lists and maps: 3 bytes + elements + 1 byte per element
        ({"m": {"M": {}}}, 1 + 3),
        ({"m": {"M": {"a": {"S": "x"}}}}, 1 + 3 + (1 + 1 + 1)),
        ({"l": {"L": [{"N": "1"}, {"S": "ab"}]}}, 1 + 3 + (2 + 1) + (2 + 1)),
        ({"l": {"L": [{"M": {"k": {"BOOL": False}}}]}}, 1 + 3 + (3 + (1 + 1 + 1) + 1)),
    ],
)
def test_item_size_follows_the_documented_rules(item: dict[str, Any], size: int) -> None:
    assert item_size(item) == size


def test_write_units_are_one_per_kb_rounded_up_and_doubled_in_transactions() -> None:
    assert [write_units(n) for n in (0, 1, 1024, 1025, 2048, 2049)] == [1, 1, 1, 2, 2, 3]
    assert write_units(1025, transactional=True) == 4
    assert write_units(10, transactional=True) == 2


def test_a_bad_number_or_type_is_refused() -> None:
    with pytest.raises(ValueError, match="not a DynamoDB number"):
        item_size({"n": {"N": "twelve"}})
    with pytest.raises(ValueError, match="unknown AttributeValue type"):
        item_size({"x": {"Q": "?"}})


def test_the_meter_charges_the_larger_of_before_and_after(aws: Any) -> None:
    ddb = aws.client("dynamodb")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    setup = aws.client("dynamodb")  # unmetered
    meter = cost_meter.Meter(
        lambda table: ("id",),
        lambda table, key: setup.get_item(TableName=table, Key=dict(key)).get("Item"),
    )
    meter.attach_clients(ddb)
    key = {"id": {"S": "k"}}
    big = "x" * 1500  # with the names: 2 KB rounded up
    ddb.put_item(TableName="t", Item={**key, "blob": {"S": big}})  # 2 (after)
    ddb.update_item(  # shrinks the item: still 2 (before)
        TableName="t",
        Key=key,
        UpdateExpression="REMOVE #b",
        ExpressionAttributeNames={"#b": "blob"},
    )
    ddb.update_item(  # small before and after: 1
        TableName="t",
        Key=key,
        UpdateExpression="ADD #c :one",
        ExpressionAttributeNames={"#c": "c"},
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(  # a failed condition still costs the existing item's size: 1
            TableName="t",
            Item={**key, "blob": {"S": big}},
            ConditionExpression="attribute_not_exists(id)",
        )
    ddb.delete_item(TableName="t", Key=key)  # 1
    ddb.get_item(TableName="t", Key=key)  # a read: counted as a request, no write
    assert meter.item_writes["t"] == 5
    assert meter.write_units["t"] == 2 + 2 + 1 + 1 + 1
    assert meter.failed_conditions == 1
    assert meter.service_requests("dynamodb") == {
        "PutItem": 2,
        "UpdateItem": 2,
        "DeleteItem": 1,
        "GetItem": 1,
    }


def test_the_benchmark_runs_and_both_sides_agree() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH / "bench_cost.py"),
            "--scenario",
            "fast",
            "--fast-rate",
            "60",
            "--fast-duration",
            "2",
            "--baseline-duration",
            "1",
            "--no-budgets",
            "--only-writes",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    # 2 would mean different totals; --no-budgets never exits 1 for a missed budget.
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "both hold the exactly-once totals" in proc.stdout
    assert "clickstream pt/sk" in proc.stdout and "iot pt/sk" in proc.stdout
    assert "target (not enforced)" in proc.stdout
    assert "powertools baseline: the first 1 s of the traffic" in proc.stdout
