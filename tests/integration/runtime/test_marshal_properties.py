"""Properties of the in-process marshalling (spec 10.3): awslambdaric's marshaller,
read back the way the event source reads the response."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit.local.runtime import MarshalError, marshal_response, parse_response


@given(st.integers())
def test_10_3_integers_of_any_size_survive_the_round_trip(n: int) -> None:
    body, content_type = marshal_response({"n": n, "batchItemFailures": []})
    assert parse_response(body, content_type) == {"n": n, "batchItemFailures": []}


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_10_3_finite_decimals_serialise_as_json_numbers(d: Decimal) -> None:
    body, content_type = marshal_response({"d": d})
    assert content_type == "application/json"
    # The runtime writes the Decimal's own digits: exact, not rounded through a float
    # (an integral one like 9007199254740993 is not even a float then).
    assert json.loads(body, parse_float=Decimal, parse_int=Decimal)["d"] == d
    assert parse_response(body, content_type)["d"] == pytest.approx(float(d))


@given(st.datetimes(timezones=st.just(UTC)) | st.sets(st.integers(), min_size=1))
def test_10_3_datetimes_and_sets_are_a_marshal_error(value: datetime | set[int]) -> None:
    with pytest.raises(MarshalError):
        marshal_response({"value": value})
