"""Property tests for streamkit.local.filters (spec 5.1, 5.4, 5.5, 5.6)."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from streamkit.local.filters import FilterError, FilterSet, compile_filters

SETTINGS = settings(max_examples=200, deadline=None)

# JSON documents as orjson produces them. Keys avoid "$or" (a pattern keyword).
keys = st.text(min_size=1, max_size=6).filter(lambda key: key != "$or")
in_range_floats = st.floats(min_value=-5e9, max_value=5e9, allow_nan=False)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(keys, children, max_size=3),
    ),
    max_leaves=12,
)
objects = st.dictionaries(keys, documents, min_size=1, max_size=4)


def compile_patterns(*patterns: Any) -> FilterSet:
    return compile_filters(
        {"Filters": [{"Pattern": orjson.dumps(pattern).decode()} for pattern in patterns]}
    )


def pattern_from(document: dict[str, Any]) -> dict[str, Any]:
    """A pattern built from the document's own leaf values (empty if none usable)."""
    pattern: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            nested = pattern_from(value)
            if nested:
                pattern[key] = nested
        elif isinstance(value, list):
            leaves = [item for item in value if not isinstance(item, dict | list)]
            if leaves:
                pattern[key] = [leaves[-1]]
        else:
            pattern[key] = [value]
    return pattern


@SETTINGS
@given(objects)
def test_5_6_pattern_from_documents_own_leaf_values_matches_it(document: dict[str, Any]) -> None:
    pattern = pattern_from(document)
    assume(pattern)
    text = orjson.dumps({"data": pattern}).decode()
    assume(len(text) <= 4096)
    fs = compile_filters({"Filters": [{"Pattern": text}]})
    assert fs.matches(orjson.dumps(document))


@SETTINGS
@given(objects, st.data())
def test_5_6_changing_a_matched_string_breaks_the_match(
    document: dict[str, Any], data: st.DataObject
) -> None:
    key = data.draw(st.sampled_from(sorted(document)))
    value = data.draw(st.text(max_size=8))
    other = data.draw(st.text(max_size=8).filter(lambda text: text != value))
    fs = compile_patterns({"data": {key: [value]}})
    assert fs.matches(orjson.dumps({**document, key: value}))
    assert not fs.matches(orjson.dumps({**document, key: other}))


@SETTINGS
@given(st.one_of(st.text(max_size=8), in_range_floats, st.integers(-(10**9), 10**9)))
def test_5_6_anything_but_x_never_matches_x(value: Any) -> None:
    single = compile_patterns({"data": {"f": [{"anything-but": value}]}})
    listed = compile_patterns({"data": {"f": [{"anything-but": [value]}]}})
    payload = orjson.dumps({"f": value})
    assert not single.matches(payload)
    assert not listed.matches(payload)
    assert not single.matches(orjson.dumps({"f": [value, value]}))


@SETTINGS
@given(st.text(max_size=8), st.text(max_size=8), scalars)
def test_5_6_anything_but_string_matches_every_other_present_value(
    excluded: str, other: str, non_string: Any
) -> None:
    assume(other != excluded)
    fs = compile_patterns({"data": {"f": [{"anything-but": excluded}]}})
    assert fs.matches(orjson.dumps({"f": other}))
    if not isinstance(non_string, str):
        assert fs.matches(orjson.dumps({"f": non_string}))
    assert not fs.matches(b"{}")


# A small vocabulary so that generated patterns and documents often meet.
small_values = st.sampled_from(["a", "b", "", 0, 1, 2.5, -3, True, False, None])
field_names = st.sampled_from(["x", "y", "z"])
operators = st.one_of(
    small_values,
    st.builds(lambda text: {"prefix": text}, st.sampled_from(["", "a", "b"])),
    st.builds(lambda text: {"suffix": text}, st.sampled_from(["a", "b"])),
    st.builds(lambda text: {"equals-ignore-case": text}, st.sampled_from(["A", "b"])),
    st.builds(lambda flag: {"exists": flag}, st.booleans()),
    st.builds(lambda bound: {"numeric": [">", bound]}, st.integers(-2, 2)),
    st.builds(lambda bound: {"numeric": [">=", bound, "<", bound + 2]}, st.integers(-2, 2)),
    st.builds(lambda value: {"anything-but": value}, st.sampled_from(["a", 1, ["a", "b"]])),
)
field_patterns = st.dictionaries(
    field_names, st.lists(operators, min_size=1, max_size=3), min_size=1
)
small_patterns = st.one_of(
    st.builds(lambda fields: {"data": fields}, field_patterns),
    st.builds(
        lambda first, second: {"$or": [{"data": first}, {"data": second}]},
        field_patterns,
        field_patterns,
    ),
)
small_documents = st.dictionaries(
    field_names, st.one_of(small_values, st.lists(small_values, max_size=2)), max_size=3
)


@SETTINGS
@given(st.lists(small_patterns, min_size=1, max_size=5), small_documents)
def test_5_1_or_of_filters_equals_any_single_filter(
    patterns: list[dict[str, Any]], document: dict[str, Any]
) -> None:
    payload = orjson.dumps(document)
    combined = compile_patterns(*patterns).matches(payload)
    assert combined == any(compile_patterns(pattern).matches(payload) for pattern in patterns)


@SETTINGS
@given(small_patterns, small_patterns, small_documents)
def test_5_6_or_primitive_equals_separate_filters(
    first: dict[str, Any], second: dict[str, Any], document: dict[str, Any]
) -> None:
    assume("data" in first and "data" in second)
    payload = orjson.dumps(document)
    primitive = compile_patterns({"$or": [first, second]}).matches(payload)
    assert primitive == compile_patterns(first, second).matches(payload)


@SETTINGS
@given(st.lists(small_patterns, min_size=1, max_size=3), st.binary(max_size=64))
def test_5_5_matches_never_raises_on_arbitrary_bytes(
    patterns: list[dict[str, Any]], payload: bytes
) -> None:
    fs = compile_patterns(*patterns)
    result = fs.matches(payload)
    assert isinstance(result, bool)
    try:
        orjson.loads(payload)
    except orjson.JSONDecodeError:
        assert result is False  # 5.5: non-JSON record dropped


@SETTINGS
@given(documents, st.text(max_size=40))
def test_0_4_compile_raises_only_filter_error(pattern_body: Any, raw: str) -> None:
    for text in (orjson.dumps({"data": pattern_body}).decode(), raw):
        try:
            fs = compile_filters({"Filters": [{"Pattern": text}]})
        except FilterError as error:
            assert str(error).startswith("Invalid filter pattern definition. Filters[0]")
        else:
            assert isinstance(fs.matches(orjson.dumps(pattern_body)), bool)


@SETTINGS
@given(objects, st.text(min_size=1, max_size=6))
def test_5_6_exists_true_and_false_are_complementary_on_a_field(
    document: dict[str, Any], key: str
) -> None:
    assume(key != "$or")
    payload = orjson.dumps(document)
    present = compile_patterns({"data": {key: [{"exists": True}]}}).matches(payload)
    absent = compile_patterns({"data": {key: [{"exists": False}]}}).matches(payload)
    assert present != absent


@SETTINGS
@given(
    st.integers(-1000, 1000),
    st.integers(1, 1000),
    st.integers(-3000, 3000),
    st.booleans(),
    st.booleans(),
)
def test_5_6_numeric_range_agrees_with_arithmetic(
    low: int, width: int, value: int, low_open: bool, high_open: bool
) -> None:
    high = low + width
    expression = [">" if low_open else ">=", low, "<" if high_open else "<=", high]
    fs = compile_patterns({"data": {"n": [{"numeric": expression}]}})
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    assert fs.matches(orjson.dumps({"n": value})) == (above and below)
    assert fs.matches(orjson.dumps({"n": float(value)})) == (above and below)


@SETTINGS
@given(in_range_floats)
def test_5_6_number_pattern_matches_its_int_and_float_forms(value: float) -> None:
    fs = compile_patterns({"data": {"n": [value]}})
    assert fs.matches(orjson.dumps({"n": value}))
    if value.is_integer():
        assert fs.matches(orjson.dumps({"n": int(value)}))
    assert not fs.matches(orjson.dumps({"n": str(value)}))


@SETTINGS
@given(st.text(alphabet="abcXYZ-_ 09", max_size=10), st.integers(0, 10))
def test_5_6_prefix_suffix_and_ignore_case_accept_their_own_string(text: str, cut: int) -> None:
    fs_prefix = compile_patterns({"data": {"s": [{"prefix": text[:cut]}]}})
    fs_suffix = compile_patterns({"data": {"s": [{"suffix": text[cut:]}]}})
    fs_case = compile_patterns({"data": {"s": [{"equals-ignore-case": text.swapcase()}]}})
    payload = orjson.dumps({"s": text})
    assert fs_prefix.matches(payload)
    assert fs_suffix.matches(payload)
    assert fs_case.matches(payload)
    assert not fs_prefix.matches(orjson.dumps({"s": [len(text)]}))
