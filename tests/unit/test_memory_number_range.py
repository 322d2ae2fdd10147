"""MemoryDynamoDB's number range is DynamoDB's, for 38-digit numbers at its edges.

``abs()`` rounds to the decimal context's 28 digits: the largest 38-digit numbers
below 1E+126 were refused as an overflow, and ones just below 1E-130 were accepted.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from streamkit.testing.memory import MemoryAWS


def _put(number: str) -> None:
    mem = MemoryAWS()
    mem.dynamodb.create_table("t", ("pk", "sk"))
    item = {"pk": {"S": "p"}, "sk": {"S": "s"}, "v": {"N": number}}
    mem.clients("dynamodb").put_item(TableName="t", Item=item)


@pytest.mark.parametrize(
    "number",
    [
        "9.9999999999999999999999999999999999999E+125",
        "-9.9999999999999999999999999999999999999E+125",
        "1E-130",
        "-1.0000000000000000000000000000000000001E-130",
    ],
)
def test_numbers_inside_the_range_are_stored(number: str) -> None:
    _put(number)


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("1E+126", "Number overflow"),
        ("9.9999999999999999999999999999999999999E-131", "Number underflow"),
        ("-9.99999999999999999999999999999E-131", "Number underflow"),
    ],
)
def test_numbers_outside_the_range_are_refused(number: str, message: str) -> None:
    with pytest.raises(ClientError, match=message):
        _put(number)
