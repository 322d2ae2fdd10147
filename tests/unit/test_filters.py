"""Unit tests for streamkit.local.filters: Lambda FilterCriteria for Kinesis (spec 5).

Test names carry the spec rule they check (``test_5_6_...``); decisions on the
[UNCONFIRMED] points are documented in the module docstring of
:mod:`streamkit.local.filters` and pinned here.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streamkit.local.filters import (
    ALLOWED_OPERATORS,
    MAX_FILTERS,
    MAX_PATTERN_LENGTH,
    FilterError,
    FilterSet,
    compile_filters,
)

PREFIX = "Invalid filter pattern definition."


def filters(*patterns: Any) -> FilterSet:
    """Compile patterns given as dicts (dumped to JSON) or raw strings."""
    return compile_filters(
        {
            "Filters": [
                {"Pattern": p if isinstance(p, str) else orjson.dumps(p).decode()} for p in patterns
            ]
        }
    )


def on_data(field_pattern: Any) -> dict[str, Any]:
    """``{"data": {"f": <field_pattern>}}``."""
    return {"data": {"f": field_pattern}}


def match(pattern: Any, payload: Any) -> bool:
    """Does ``pattern`` match a record whose payload is ``payload`` dumped as JSON?"""
    return filters(pattern).matches(orjson.dumps(payload))


def compile_error(pattern: Any) -> FilterError:
    with pytest.raises(FilterError) as info:
        filters(pattern)
    return info.value


# --------------------------------------------------------------------------- 5.1


@pytest.mark.parametrize("criteria", [None, {}, {"Filters": []}, {"Filters": None}])
def test_5_1_no_filters_matches_everything(criteria: Any) -> None:
    fs = compile_filters(criteria)
    assert fs.matches_all
    assert len(fs) == 0
    assert fs.matches(b"\x00\xff not json at all")
    assert fs.matches(b'{"x": 1}')
    assert fs.matches_document(None)


def test_5_1_configured_filters_are_not_matches_all() -> None:
    fs = filters(on_data(["a"]))
    assert not fs.matches_all
    assert len(fs) == 1
    assert fs.patterns == ('{"data":{"f":["a"]}}',)


def test_5_1_filters_are_ored() -> None:
    fs = filters(on_data(["a"]), on_data(["b"]))
    assert fs.matches(b'{"f": "a"}')
    assert fs.matches(b'{"f": "b"}')
    assert not fs.matches(b'{"f": "c"}')


def test_5_1_record_delivered_when_only_a_later_filter_matches() -> None:
    fs = filters(on_data([{"numeric": [">", 100]}]), {"data": {"g": ["x"]}})
    assert fs.matches(b'{"f": 1, "g": "x"}')
    assert not fs.matches(b'{"f": 1, "g": "y"}')


def test_5_1_up_to_ten_filters_accepted_raised_quota() -> None:
    fs = filters(*[on_data([str(i)]) for i in range(MAX_FILTERS)])
    assert MAX_FILTERS == 10
    assert len(fs) == 10
    assert fs.matches(b'{"f": "9"}')


def test_5_1_more_than_ten_filters_rejected() -> None:
    with pytest.raises(FilterError) as info:
        filters(*[on_data([str(i)]) for i in range(11)])
    message = str(info.value)
    assert message.startswith(PREFIX)
    assert "11 filters" in message
    assert "maximum of 10" in message
    assert "default quota 5" in message
    assert info.value.index is None


def test_5_1_pattern_of_exactly_4096_chars_accepted() -> None:
    base = '{"data": {"f": ["x"]}}'
    pattern = base[:-1] + " " * (MAX_PATTERN_LENGTH - len(base)) + "}"
    assert len(pattern) == 4096
    assert filters(pattern).matches(b'{"f": "x"}')


def test_5_1_pattern_longer_than_4096_chars_rejected() -> None:
    base = '{"data": {"f": ["x"]}}'
    pattern = base[:-1] + " " * (MAX_PATTERN_LENGTH + 1 - len(base)) + "}"
    with pytest.raises(FilterError) as info:
        filters(on_data(["ok"]), pattern)
    assert info.value.index == 1
    assert "4097 characters" in str(info.value)
    assert "4096" in str(info.value)


# --------------------------------------------------------------------------- 0.4


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("not json", "not valid JSON"),
        ("", "not valid JSON"),
        ('{"data": ', "not valid JSON"),
        ("[1, 2]", "must be a JSON object, got array"),
        ('"data"', "must be a JSON object, got string"),
        ("42", "must be a JSON object, got number"),
        ("null", "must be a JSON object, got null"),
        ("{}", "empty objects are not allowed"),
    ],
)
def test_0_4_pattern_not_a_json_object_rejected(pattern: str, fragment: str) -> None:
    error = compile_error(pattern)
    assert str(error).startswith(PREFIX + " Filters[0].Pattern: ")
    assert fragment in str(error)
    assert isinstance(error, ValueError)
    assert error.index == 0


def test_0_4_error_names_the_failing_filter_index_and_path() -> None:
    with pytest.raises(FilterError) as info:
        filters(on_data(["ok"]), on_data(["ok"]), {"data": {"a": {"b": [{"prefix": 1}]}}})
    error = info.value
    assert error.index == 2
    assert error.path == "data.a.b[0]"
    assert "Filters[2].Pattern" in str(error)
    assert "[at data.a.b[0]]" in str(error)
    assert "prefix needs a string, got number" in error.detail


@pytest.mark.parametrize(
    ("criteria", "fragment"),
    [
        ("Filters", "must be an object"),
        ({"Filters": "x"}, "Filters must be an array"),
        ({"Filters": {"Pattern": "{}"}}, "Filters must be an array"),
        ({"filters": []}, "unknown key(s) 'filters'"),
        ({"Filters": ["{}"]}, "Filters[0]: must be an object"),
        ({"Filters": [{}]}, "Pattern must be a JSON string, got null"),
        ({"Filters": [{"Pattern": {"data": ["x"]}}]}, "Pattern must be a JSON string, got object"),
        ({"Filters": [{"pattern": "{}"}]}, "Filters[0]: unknown key(s) 'pattern'"),
    ],
)
def test_0_4_malformed_filter_criteria_rejected(criteria: Any, fragment: str) -> None:
    with pytest.raises(FilterError) as info:
        compile_filters(criteria)
    assert str(info.value).startswith(PREFIX)
    assert fragment in str(info.value)


# --------------------------------------------------------------------------- 5.4


def test_5_4_pattern_is_matched_against_data_key() -> None:
    fs = filters({"data": {"order": {"status": ["paid"]}}})
    assert fs.matches(b'{"order": {"status": "paid", "id": 7}}')
    assert not fs.matches(b'{"order": {"status": "open"}}')
    assert not fs.matches(b'{"status": "paid"}')


@pytest.mark.parametrize(
    "key", ["partitionKey", "sequenceNumber", "approximateArrivalTimestamp", "kinesis", "Data"]
)
def test_5_4_metadata_keys_rejected_at_compile_time(key: str) -> None:
    error = compile_error({key: ["x"]})
    assert f"key {key!r} is not filterable" in str(error)
    assert "only on 'data'" in str(error)
    assert "5.4" in str(error)


def test_5_4_metadata_key_inside_root_or_branch_rejected() -> None:
    error = compile_error({"$or": [{"data": {"f": ["x"]}}, {"partitionKey": ["p"]}]})
    assert "'partitionKey' is not filterable" in str(error)
    assert error.path == "$or[1]"


def test_5_4_keys_named_like_metadata_inside_data_are_fine() -> None:
    assert match({"data": {"partitionKey": ["p1"]}}, {"partitionKey": "p1"})
    assert not match({"data": {"partitionKey": ["p1"]}}, {"partitionKey": "p2"})


def test_5_4_scalar_json_payload_matches_leaf_pattern_on_data() -> None:
    assert filters({"data": [42]}).matches(b"42")
    assert filters({"data": [{"prefix": "ab"}]}).matches(b'"abc"')
    assert not filters({"data": [{"prefix": "ab"}]}).matches(b'"xbc"')
    # a scalar payload has no fields, so a field pattern only matches by absence
    assert not filters(on_data(["x"])).matches(b'"x"')
    assert filters(on_data([{"exists": False}])).matches(b'"x"')


def test_5_4_array_payload_matches_any_element() -> None:
    fs = filters(on_data(["x"]))
    assert fs.matches(b'[{"f": "y"}, {"f": "x"}]')
    assert not fs.matches(b'[{"f": "y"}, {"g": "x"}]')


# --------------------------------------------------------------------------- 5.5


@pytest.mark.parametrize(
    "payload",
    [
        b"plain text",
        b"",
        b"   ",
        b"\xff\xfe\x00binary",
        b'{"f": "x"',  # truncated JSON
        b'\xef\xbb\xbf{"f": "x"}',  # UTF-8 BOM
        b'{"f": "\xff"}',  # invalid UTF-8 inside JSON
        b"NaN",
    ],
)
def test_5_5_non_json_data_dropped_when_data_pattern(payload: bytes) -> None:
    assert not filters(on_data(["x"])).matches(payload)


def test_5_5_non_json_dropped_even_when_pattern_matches_by_absence() -> None:
    fs = filters(on_data([{"exists": False}]))
    assert fs.matches(b"{}")
    assert not fs.matches(b"not json")


def test_5_5_no_data_pattern_row_cannot_occur_pattern_rejected() -> None:
    """5.5 'no data pattern -> other properties only': for Kinesis (5.4) there are none."""
    error = compile_error({"partitionKey": [{"exists": True}]})
    assert "not filterable" in str(error)


def test_5_5_non_json_pattern_rejected() -> None:
    assert "not valid JSON" in str(compile_error("data = x"))


def test_5_7_kpl_aggregated_record_is_protobuf_so_dropped() -> None:
    aggregated = bytes.fromhex("f3899ac2") + b"\x0a\x02pk\x1a\x06\x08\x00\x1a\x02{}" + bytes(16)
    assert not filters(on_data([{"exists": False}])).matches(aggregated)


# --------------------------------------------------------------------------- 5.6 values


def test_5_6_null_matches_json_null_only() -> None:
    pattern = on_data([None])
    assert match(pattern, {"f": None})
    assert not match(pattern, {})
    assert not match(pattern, {"f": "null"})
    assert not match(pattern, {"f": ""})
    assert not match(pattern, {"f": False})


def test_5_6_empty_string_matches_empty_string_only() -> None:
    pattern = on_data([""])
    assert match(pattern, {"f": ""})
    assert not match(pattern, {"f": None})
    assert not match(pattern, {})
    assert not match(pattern, {"f": " "})


def test_5_6_equals_list_is_or_exact_and_case_sensitive() -> None:
    pattern = on_data(["a", "b"])
    assert match(pattern, {"f": "a"})
    assert match(pattern, {"f": "b"})
    assert not match(pattern, {"f": "A"})
    assert not match(pattern, {"f": "a "})
    assert not match(pattern, {"f": "ab"})


def test_5_6_strings_are_not_unicode_normalised() -> None:
    composed, decomposed = "\u00e9", "e\u0301"
    assert match(on_data([composed]), {"f": composed})
    assert not match(on_data([composed]), {"f": decomposed})


def test_5_6_booleans_match_booleans_not_numbers_or_strings() -> None:
    assert match(on_data([True]), {"f": True})
    assert not match(on_data([True]), {"f": 1})
    assert not match(on_data([True]), {"f": "true"})
    assert not match(on_data([False]), {"f": 0})
    assert not match(on_data([1]), {"f": True})
    assert not match(on_data([0]), {"f": False})


def test_5_6_numbers_never_match_strings() -> None:
    assert not match(on_data([300]), {"f": "300"})
    assert not match(on_data(["300"]), {"f": 300})


def test_5_6_number_exact_match_is_numeric_like_event_ruler() -> None:
    """5.6 decision: event-ruler adds numeric equality, so 300 == 300.0 == 3.0e2."""
    fs = filters(on_data([300]))
    assert fs.matches(b'{"f": 300}')
    assert fs.matches(b'{"f": 300.0}')
    assert fs.matches(b'{"f": 3.0e2}')
    assert fs.matches(b'{"f": 3e2}')
    assert not fs.matches(b'{"f": 300.5}')
    assert filters(on_data([3.0e2])).matches(b'{"f": 300}')


def test_5_6_number_equality_has_six_decimal_precision() -> None:
    fs = filters(on_data([1]))
    assert fs.matches(b'{"f": 1.0000001}')  # truncated to 6 decimals, like event-ruler
    assert not fs.matches(b'{"f": 1.000001}')
    assert filters(on_data([-2.5])).matches(b'{"f": -2.5}')


def test_5_6_numbers_outside_range_compare_by_text() -> None:
    fs = filters(on_data([123456789012]))  # e.g. an account id, beyond 5e9
    assert fs.matches(b'{"f": 123456789012}')
    assert not fs.matches(b'{"f": 123456789012.0}')
    assert not fs.matches(b'{"f": 123456789013}')
    big_float = filters(on_data([1e10]))
    assert big_float.matches(b'{"f": 1.0e10}')
    assert big_float.matches(b'{"f": 10000000000.0}')
    assert not big_float.matches(b'{"f": 10000000000}')


def test_5_6_equals_ignore_case() -> None:
    pattern = on_data([{"equals-ignore-case": "OrDeR"}])
    assert match(pattern, {"f": "order"})
    assert match(pattern, {"f": "ORDER"})
    assert not match(pattern, {"f": "orders"})
    assert not match(pattern, {})
    number_text = on_data([{"equals-ignore-case": "1"}])
    assert not match(number_text, {"f": 1})  # strings only
    assert match(number_text, {"f": "1"})


def test_5_6_and_all_keys_must_match() -> None:
    pattern = {"data": {"a": ["x"], "b": {"c": [1]}}}
    assert match(pattern, {"a": "x", "b": {"c": 1}})
    assert not match(pattern, {"a": "x", "b": {"c": 2}})
    assert not match(pattern, {"a": "y", "b": {"c": 1}})
    assert not match(pattern, {"a": "x"})


def test_5_6_values_in_one_list_are_ored_across_operators() -> None:
    pattern = on_data(["exact", {"prefix": "pre-"}, {"numeric": [">", 10]}, None])
    assert match(pattern, {"f": "exact"})
    assert match(pattern, {"f": "pre-x"})
    assert match(pattern, {"f": 11})
    assert match(pattern, {"f": None})
    assert not match(pattern, {"f": 10})
    assert not match(pattern, {"f": "other"})


# --------------------------------------------------------------------------- 5.6 $or


def test_5_6_or_at_root_between_data_patterns() -> None:
    pattern = {"$or": [{"data": {"a": ["x"]}}, {"data": {"b": ["y"]}}]}
    assert match(pattern, {"a": "x"})
    assert match(pattern, {"b": "y"})
    assert not match(pattern, {"a": "y", "b": "x"})


def test_5_6_or_nested_and_combined_with_and() -> None:
    pattern = {
        "data": {
            "source": ["app"],
            "$or": [{"level": ["error"]}, {"code": [{"numeric": [">=", 500]}], "retry": [True]}],
        }
    }
    assert match(pattern, {"source": "app", "level": "error"})
    assert match(pattern, {"source": "app", "code": 503, "retry": True})
    assert not match(pattern, {"source": "app", "code": 503, "retry": False})
    assert not match(pattern, {"source": "web", "level": "error"})


def test_5_6_two_or_groups_are_anded() -> None:
    pattern = {
        "data": {
            "$or": [{"a": [1]}, {"b": [1]}],
            "x": {"$or": [{"c": [1]}, {"d": [1]}]},
        }
    }
    assert match(pattern, {"a": 1, "x": {"d": 1}})
    assert not match(pattern, {"a": 1, "x": {"e": 1}})
    assert not match(pattern, {"x": {"c": 1}})


@pytest.mark.parametrize(
    ("or_value", "fragment"),
    [
        ([{"a": ["x"]}], "at least 2 objects, got 1 element(s)"),
        ([], "at least 2 objects, got 0 element(s)"),
        ({"a": ["x"]}, "at least 2 objects, got object"),
        ([{"a": ["x"]}, ["b"]], "$or elements must be objects, got array"),
        ([{"a": ["x"]}, {}], "empty objects are not allowed"),
        ([{"a": ["x"]}, {"prefix": ["b"]}], "'prefix' is a reserved word"),
        ([{"a": ["x"]}, {"b": {"numeric": ["x"]}}], "'numeric' is a reserved word"),
    ],
)
def test_5_6_or_malformed_rejected(or_value: Any, fragment: str) -> None:
    error = compile_error({"data": {"$or": or_value}})
    assert fragment in str(error)
    assert error.path.startswith("data.$or")


def test_5_6_reserved_words_are_fine_as_keys_outside_or() -> None:
    assert match({"data": {"prefix": ["p"]}}, {"prefix": "p"})


# --------------------------------------------------------------------------- 5.6 anything-but


def test_5_6_anything_but_string_list() -> None:
    pattern = on_data([{"anything-but": ["stopped", "overloaded"]}])
    assert match(pattern, {"f": "running"})
    assert not match(pattern, {"f": "stopped"})
    assert not match(pattern, {"f": "overloaded"})


def test_5_6_anything_but_single_string_and_other_types() -> None:
    pattern = on_data([{"anything-but": "x"}])
    assert not match(pattern, {"f": "x"})
    assert match(pattern, {"f": "X"})
    assert match(pattern, {"f": 5})
    assert match(pattern, {"f": None})
    assert match(pattern, {"f": False})


def test_5_6_anything_but_needs_the_key_present() -> None:
    pattern = on_data([{"anything-but": "x"}])
    assert not match(pattern, {})
    assert not match(pattern, {"f": {"nested": "y"}})
    assert not match(pattern, {"f": []})


def test_5_6_anything_but_numbers_compare_numerically() -> None:
    pattern = on_data([{"anything-but": [100, 200]}])
    assert not match(pattern, {"f": 100})
    assert not filters(pattern).matches(b'{"f": 100.0}')
    assert not match(pattern, {"f": 200})
    assert match(pattern, {"f": 150})
    assert match(pattern, {"f": "100"})  # a string is not one of the excluded numbers
    assert match(pattern, {"f": 1e12})  # beyond the numeric range: never equal


def test_5_6_anything_but_single_number() -> None:
    pattern = on_data([{"anything-but": 0}])
    assert not match(pattern, {"f": 0})
    assert match(pattern, {"f": 0.5})


def test_5_6_anything_but_on_event_array_matches_if_any_element_differs() -> None:
    pattern = on_data([{"anything-but": "x"}])
    assert match(pattern, {"f": ["x", "y"]})
    assert not match(pattern, {"f": ["x", "x"]})


@pytest.mark.parametrize(
    ("argument", "fragment"),
    [
        ({"prefix": "init"}, "anything-but with an object ('prefix') is unsupported"),
        ({"suffix": ".png"}, "anything-but with an object ('suffix') is unsupported"),
        ({"equals-ignore-case": ["a"]}, "('equals-ignore-case') is unsupported"),
        ({"wildcard": "a*"}, "('wildcard') is unsupported"),
        (["a", 1], "all strings or all numbers, got number, string"),
        ([None], "all strings or all numbers, got null"),
        (True, "all strings or all numbers, got boolean"),
        ([], "non-empty array"),
        ([6e9], "outside the supported range"),
    ],
)
def test_5_6_anything_but_invalid_forms_rejected(argument: Any, fragment: str) -> None:
    error = compile_error(on_data([{"anything-but": argument}]))
    assert fragment in str(error)
    assert error.path == "data.f[0]"


# --------------------------------------------------------------------------- 5.6 numeric


@pytest.mark.parametrize(
    ("expression", "inside", "outside"),
    [
        (["=", 100], [100, 100.0], [99, 101, 100.5]),
        (["<", 10], [9.999, -5e9], [10, 11]),
        (["<=", 10], [10, -1], [10.000001, 11]),
        ([">", 10], [10.000001, 11], [10, 9]),
        ([">=", 10], [10, 11], [9.999999]),
        ([">", 10, "<=", 20], [10.5, 20], [10, 20.5]),
        ([">=", 10, "<", 20], [10, 19.99], [9, 20]),
        ([">", 0, "<", 1], [0.5], [0, 1]),
        ([">=", -5e9, "<=", 5e9], [-5e9, 0, 5e9], [-5.1e9, 5.1e9]),
    ],
)
def test_5_6_numeric_operators_and_ranges(
    expression: list[Any], inside: list[float], outside: list[float]
) -> None:
    fs = filters(on_data([{"numeric": expression}]))
    for value in inside:
        assert fs.matches(orjson.dumps({"f": value})), (expression, value)
    for value in outside:
        assert not fs.matches(orjson.dumps({"f": value})), (expression, value)


def test_5_6_numeric_only_matches_json_numbers() -> None:
    fs = filters(on_data([{"numeric": [">", 0]}]))
    assert fs.matches(b'{"f": 1}')
    assert not fs.matches(b'{"f": "1"}')
    assert not fs.matches(b'{"f": true}')
    assert not fs.matches(b'{"f": null}')
    assert not fs.matches(b"{}")


def test_5_6_numeric_six_decimal_precision_like_event_ruler() -> None:
    fs = filters(on_data([{"numeric": [">", 1]}]))
    assert not fs.matches(b'{"f": 1.0000001}')  # equal to 1 at 6 decimals
    assert fs.matches(b'{"f": 1.000001}')


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ([">"], "malformed numeric range"),
        ([">", 1, "<"], "malformed numeric range"),
        ([">", 1, "<", 2, 3], "malformed numeric range"),
        ("> 1", "malformed numeric range"),
        (["~", 1], 'unknown operator "~"'),
        ([1, ">"], "unknown operator 1"),
        ([">", "1"], "value after '>' must be a number, got string"),
        ([">", True], "must be a number, got boolean"),
        (["<", 1, ">", 0], "lower bound first"),
        (["=", 1, "<", 2], "lower bound first"),
        ([">", 0, ">", 2], "lower bound first"),
        ([">", 0, ["<"], 2], "lower bound first"),
        ([">", 5, "<", 5], "low must be less than high"),
        ([">=", 6, "<=", 5], "low must be less than high"),
        ([">", 6e9], "outside the supported range"),
        (["<", -5000000001], "outside the supported range"),
    ],
)
def test_5_6_malformed_numeric_rejected(expression: Any, fragment: str) -> None:
    error = compile_error(on_data([{"numeric": expression}]))
    assert fragment in str(error)
    assert error.path == "data.f[0]"


# --------------------------------------------------------------------------- 5.6 exists


def test_5_6_exists_true_and_false_on_leaf() -> None:
    present, absent = on_data([{"exists": True}]), on_data([{"exists": False}])
    assert match(present, {"f": "v"})
    assert match(present, {"f": None})  # null is a leaf value
    assert not match(present, {"g": 1})
    assert match(absent, {"g": 1})
    assert not match(absent, {"f": None})


def test_5_6_exists_applies_only_to_leaf_nodes() -> None:
    present, absent = on_data([{"exists": True}]), on_data([{"exists": False}])
    assert not match(present, {"f": {"c1": 100}})
    assert match(absent, {"f": {"c1": 100}})


def test_5_6_exists_with_arrays() -> None:
    present, absent = on_data([{"exists": True}]), on_data([{"exists": False}])
    assert match(present, {"f": [1, 2]})
    assert not match(present, {"f": []})
    assert match(absent, {"f": []})
    assert not match(present, {"f": [{"x": 1}]})  # only objects: no leaf at f
    assert match(absent, {"f": [{"x": 1}]})
    assert not match(absent, {"f": [[None]]})


def test_5_6_exists_false_when_intermediate_node_missing_or_scalar() -> None:
    absent = {"data": {"a": {"b": [{"exists": False}]}}}
    present = {"data": {"a": {"b": [{"exists": True}]}}}
    assert match(absent, {})
    assert match(absent, {"a": 5})
    assert match(absent, {"a": [1, 2]})
    assert not match(absent, {"a": {"b": 0}})
    assert not match(present, {"a": 5})
    assert match(present, {"a": {"b": 0}})


def test_5_6_exists_needs_boolean() -> None:
    assert "exists needs true or false, got string" in str(
        compile_error(on_data([{"exists": "true"}]))
    )


# --------------------------------------------------------------------------- 5.6 prefix / suffix


def test_5_6_prefix_on_strings_only() -> None:
    pattern = on_data([{"prefix": "us-"}])
    assert match(pattern, {"f": "us-east-1"})
    assert match(pattern, {"f": "us-"})
    assert not match(pattern, {"f": "eu-west-1"})
    assert not match(pattern, {"f": "US-east-1"})
    assert not match(on_data([{"prefix": "1"}]), {"f": 123})


def test_5_6_empty_prefix_matches_any_string() -> None:
    pattern = on_data([{"prefix": ""}])
    assert match(pattern, {"f": ""})
    assert match(pattern, {"f": "x"})
    assert not match(pattern, {"f": 1})


def test_5_6_suffix_on_strings_only() -> None:
    pattern = on_data([{"suffix": ".png"}])
    assert match(pattern, {"f": "cat.png"})
    assert not match(pattern, {"f": "cat.PNG"})
    assert not match(pattern, {"f": "png.jpg"})
    assert not match(on_data([{"suffix": "3"}]), {"f": 123})


@pytest.mark.parametrize("operator", ["prefix", "suffix", "equals-ignore-case"])
def test_5_6_string_operators_need_a_string(operator: str) -> None:
    error = compile_error(on_data([{operator: ["x"]}]))
    assert f"{operator} needs a string, got array" in str(error)


# --------------------------------------------------------------------------- 5.6 arrays


def test_5_6_event_array_matches_when_any_element_matches() -> None:
    pattern = on_data(["b"])
    assert match(pattern, {"f": ["a", "b"]})
    assert not match(pattern, {"f": ["a", "c"]})
    assert match(pattern, {"f": [["a"], ["b"]]})  # nested arrays are flattened


def test_5_6_objects_in_arrays_match_one_element_at_a_time() -> None:
    pattern = {"data": {"employees": {"first": ["Anna"], "last": ["Smith"]}}}
    event = {"employees": [{"first": "John", "last": "Smith"}, {"first": "Anna", "last": "Jones"}]}
    assert not match(pattern, event)  # would match if array elements were crushed together
    event["employees"].append({"first": "Anna", "last": "Smith"})
    assert match(pattern, event)


def test_5_6_deeply_nested_event_arrays_do_not_overflow() -> None:
    payload = b'{"f": ' + b"[" * 900 + b'"x"' + b"]" * 900 + b"}"
    assert filters(on_data(["x"])).matches(payload)
    assert not filters(on_data(["y"])).matches(payload)


# --------------------------------------------------------------------------- 5.6 / 9.4 rejects


@pytest.mark.parametrize(
    ("operator", "argument"),
    [("wildcard", "a*b"), ("cidr", "10.0.0.0/24"), ("exactly", "x")],
)
def test_5_6_9_4_eventbridge_only_operators_rejected(operator: str, argument: str) -> None:
    with pytest.raises(FilterError) as info:
        filters(on_data(["ok"]), on_data([{operator: argument}]))
    message = str(info.value)
    assert message.startswith(
        f"{PREFIX} Filters[1].Pattern: unknown operator {operator!r} "
        "(allowed: equals-ignore-case, anything-but, numeric, exists, prefix, suffix)"
    )
    assert "unsupported for Lambda ESM" in message
    assert info.value.index == 1


def test_5_6_unknown_operator_lists_allowed_operators() -> None:
    message = str(compile_error(on_data([{"regex": "a.*"}])))
    assert "unknown operator 'regex'" in message
    for operator in ALLOWED_OPERATORS:
        assert operator in message


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        (on_data("x"), "value of 'f' must be an array or an object, got string"),
        (on_data(1), "got number"),
        (on_data(None), "got null"),
        (on_data(True), "got boolean"),
        ({"data": {"prefix": "x"}}, "operators go inside an array"),
        (on_data([]), "empty arrays are not allowed"),
        (on_data({}), "empty objects are not allowed"),
        (on_data([["x"]]), "got array"),
        (on_data([{}]), "exactly one key, got none"),
        (on_data([{"prefix": "a", "suffix": "b"}]), "exactly one key, got 'prefix', 'suffix'"),
        ({"data": "x"}, "value of 'data' must be an array or an object"),
    ],
)
def test_5_6_leaf_values_must_be_arrays_of_valid_values(pattern: Any, fragment: str) -> None:
    assert fragment in str(compile_error(pattern))


# --------------------------------------------------------------------------- API


def test_matches_document_agrees_with_matches() -> None:
    fs = filters(on_data([{"numeric": [">", 1]}]))
    assert fs.matches_document({"f": 2})
    assert not fs.matches_document({"f": 1})
    assert not fs.matches_document("x")


def test_compile_once_is_reusable_and_immutable() -> None:
    fs = filters(on_data(["x"]))
    assert [fs.matches(b'{"f": "x"}') for _ in range(3)] == [True, True, True]
    with pytest.raises(AttributeError):
        fs.patterns = ()  # type: ignore[misc]
