"""The consumer config file and its validation (spec section 0; architecture "One
consumer config, two runtimes")."""

from __future__ import annotations

import copy
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from streamkit.local.config import (
    ConfigError,
    ConsumerConfig,
    DestinationRef,
    EsmSettings,
    FunctionSettings,
    StreamSettings,
    consumers_to_dict,
    default_config_path,
    load_consumers,
    parse_consumers,
)

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "infra" / "consumers.json"
NOW = 1_750_000_000.0
ESM = "consumers.clickstream.event_source_mapping"
DATA_PATTERN = '{"data": {"kind": ["click"]}}'
KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def minimal_doc() -> dict[str, Any]:
    """A valid one-consumer document, independent of the shipped file."""
    return {
        "consumers": {
            "clickstream": {
                "handler": "handlers.clickstream.handler",
                "stream": {"name": "clickstream", "shard_count": 2, "retention_hours": 24},
                "function": {"timeout_seconds": 60, "memory_mb": 512, "environment": {}},
                "event_source_mapping": {
                    "StartingPosition": "TRIM_HORIZON",
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                },
            }
        }
    }


def errors_of(doc: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_consumers(doc, now=NOW)
    return info.value.errors


def esm_errors(**fields: Any) -> list[str]:
    doc = minimal_doc()
    doc["consumers"]["clickstream"]["event_source_mapping"].update(fields)
    return errors_of(doc)


def parse_esm(**fields: Any) -> EsmSettings:
    doc = minimal_doc()
    doc["consumers"]["clickstream"]["event_source_mapping"].update(fields)
    return parse_consumers(doc, now=NOW)["clickstream"].event_source_mapping


# ------------------------------------------------------------------ shipped file


def test_shipped_config_loads_with_production_settings() -> None:
    consumers = load_consumers(SHIPPED)
    assert list(consumers) == ["clickstream", "iot"]

    click = consumers["clickstream"]
    assert click.handler == "handlers.clickstream.handler"
    esm = click.event_source_mapping
    # Chosen for write cost (README "The consumers"): one batch per shard per minute.
    assert (esm.batch_size, esm.maximum_batching_window_in_seconds) == (10000, 60)
    assert esm.starting_position == "TRIM_HORIZON"
    assert esm.report_batch_item_failures and esm.bisect_batch_on_function_error
    assert (esm.maximum_retry_attempts, esm.maximum_record_age_in_seconds) == (5, 3600)
    assert esm.parallelization_factor == 1
    assert esm.on_failure == DestinationRef("sqs", "clickstream-failures")

    iot = consumers["iot"]
    assert iot.handler == "handlers.iot.handler"
    assert iot.event_source_mapping.batch_size == 10000
    assert iot.event_source_mapping.maximum_batching_window_in_seconds == 60
    assert iot.event_source_mapping.starting_position in ("LATEST", "TRIM_HORIZON")
    assert iot.event_source_mapping.on_failure is not None
    assert iot.event_source_mapping.on_failure.type == "s3"


def test_shipped_config_round_trips_to_the_exact_file() -> None:
    """to_api() gives back the AWS-named fields exactly as written (the file spells
    every field), so Terraform and the simulator see the same settings."""
    raw = json.loads(SHIPPED.read_text())
    consumers = load_consumers(SHIPPED)
    assert consumers_to_dict(consumers) == raw
    for name, consumer in consumers.items():
        assert (
            consumer.event_source_mapping.to_api() == raw["consumers"][name]["event_source_mapping"]
        )


def test_default_config_path_finds_the_checkout_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "consumers.json").write_text(json.dumps(minimal_doc()))
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert default_config_path() == (tmp_path / "infra" / "consumers.json").resolve()
    assert list(load_consumers()) == ["clickstream"]


def test_default_config_path_falls_back_to_this_checkout(tmp_path: Path) -> None:
    assert default_config_path(tmp_path) == SHIPPED


# ------------------------------------------------------------ defaults, round trip


def test_defaults_follow_spec_0_1_and_0_2() -> None:
    """Spec 0.1/0.2: BatchSize 100, window 0, retries -1, age -1, bisect off, no
    tumbling window, FunctionResponseTypes [], ParallelizationFactor 1, no filters,
    no destination."""
    esm = EsmSettings.from_api({"StartingPosition": "TRIM_HORIZON"}, now=NOW)
    assert esm == EsmSettings(starting_position="TRIM_HORIZON")
    assert esm.to_api() == {
        "BatchSize": 100,
        "MaximumBatchingWindowInSeconds": 0,
        "StartingPosition": "TRIM_HORIZON",
        "BisectBatchOnFunctionError": False,
        "MaximumRetryAttempts": -1,
        "MaximumRecordAgeInSeconds": -1,
        "FunctionResponseTypes": [],
        "TumblingWindowInSeconds": 0,
        "ParallelizationFactor": 1,
        "Enabled": True,
    }
    assert esm.retries_forever and not esm.report_batch_item_failures
    assert esm.enabled and esm.metrics is None and esm.kms_key_arn is None and not esm.tags


def test_stream_and_function_defaults() -> None:
    doc = minimal_doc()
    consumer = doc["consumers"]["clickstream"]
    del consumer["stream"]["retention_hours"]
    del consumer["function"]["environment"]
    parsed = parse_consumers(doc, now=NOW)["clickstream"]
    assert parsed.stream.retention_hours == 24  # Kinesis default, spec 7.5
    assert dict(parsed.function.environment) == {}


def test_starting_position_is_required() -> None:
    doc = minimal_doc()
    del doc["consumers"]["clickstream"]["event_source_mapping"]["StartingPosition"]
    assert errors_of(doc) == [
        f"{ESM}.StartingPosition: missing required field "
        "(allowed: TRIM_HORIZON, LATEST, AT_TIMESTAMP)"
    ]


@pytest.mark.parametrize(
    "settings",
    [
        EsmSettings(starting_position="LATEST"),
        EsmSettings(
            starting_position="AT_TIMESTAMP",
            starting_position_timestamp=NOW - 3600,
            batch_size=10000,
            maximum_batching_window_in_seconds=300,
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=10000,
            maximum_record_age_in_seconds=604800,
            function_response_types=("ReportBatchItemFailures",),
            filter_patterns=(DATA_PATTERN, '{"data": {"n": [{"numeric": [">", 1]}]}}'),
            tumbling_window_in_seconds=900,
            parallelization_factor=10,
            on_failure=DestinationRef("sns", "alerts"),
            enabled=False,
            metrics=("EventCount",),
            kms_key_arn=KMS_KEY,
            tags={"team": "data", "cost-center": "4711"},
        ),
        EsmSettings(starting_position="TRIM_HORIZON", on_failure=DestinationRef("s3", "bucket")),
    ],
    ids=["defaults", "everything-set", "s3-destination"],
)
def test_to_api_round_trip(settings: EsmSettings) -> None:
    api = settings.to_api()
    assert EsmSettings.from_api(api, now=NOW) == settings
    assert EsmSettings.from_api(json.loads(json.dumps(api)), now=NOW) == settings


def test_to_api_spells_aws_field_names() -> None:
    api = EsmSettings(
        starting_position="AT_TIMESTAMP",
        starting_position_timestamp=1_700_000_000,
        filter_patterns=(DATA_PATTERN,),
        on_failure=DestinationRef("sqs", "q"),
    ).to_api()
    assert api["StartingPositionTimestamp"] == 1_700_000_000
    assert api["FilterCriteria"] == {"Filters": [{"Pattern": DATA_PATTERN}]}
    assert api["DestinationConfig"] == {"OnFailure": {"Destination": {"type": "sqs", "name": "q"}}}


def test_whole_consumer_round_trip() -> None:
    doc = minimal_doc()
    doc["consumers"]["clickstream"]["function"]["environment"] = {"LOG_LEVEL": "INFO"}
    consumers = parse_consumers(doc, now=NOW)
    again = parse_consumers(consumers_to_dict(consumers), now=NOW)
    assert again == consumers
    assert again["clickstream"].function.environment["LOG_LEVEL"] == "INFO"


# ----------------------------------------------------------------- range boundaries

# (section, field, min, max) for every integer field; spec 0.1 for the ESM, spec 7.5
# for retention, Lambda limits for the function, the default shard quota for shards.
INT_FIELDS = [
    ("event_source_mapping", "BatchSize", 1, 10000),
    ("event_source_mapping", "MaximumBatchingWindowInSeconds", 0, 300),
    ("event_source_mapping", "ParallelizationFactor", 1, 10),
    ("event_source_mapping", "MaximumRetryAttempts", -1, 10000),
    ("event_source_mapping", "TumblingWindowInSeconds", 0, 900),
    ("stream", "shard_count", 1, 500),
    ("stream", "retention_hours", 24, 8760),
    ("function", "timeout_seconds", 1, 900),
    ("function", "memory_mb", 128, 10240),
]
ATTRIBUTE = {
    "BatchSize": "batch_size",
    "MaximumBatchingWindowInSeconds": "maximum_batching_window_in_seconds",
    "ParallelizationFactor": "parallelization_factor",
    "MaximumRetryAttempts": "maximum_retry_attempts",
    "TumblingWindowInSeconds": "tumbling_window_in_seconds",
    "MaximumRecordAgeInSeconds": "maximum_record_age_in_seconds",
}


def with_field(section: str, field: str, value: Any) -> dict[str, Any]:
    doc = minimal_doc()
    doc["consumers"]["clickstream"][section][field] = value
    return doc


def parsed_value(consumer: ConsumerConfig, section: str, field: str) -> Any:
    if section == "event_source_mapping":
        return getattr(consumer.event_source_mapping, ATTRIBUTE[field])
    return getattr(getattr(consumer, section), field)


@pytest.mark.parametrize("bound", ["min", "max"])
@pytest.mark.parametrize(("section", "field", "lo", "hi"), INT_FIELDS)
def test_range_bounds_are_accepted(section: str, field: str, lo: int, hi: int, bound: str) -> None:
    """Spec rule 0.1: the minimum and maximum of each range are valid."""
    value = lo if bound == "min" else hi
    if field == "ParallelizationFactor" and value != 1:
        # Valid for Lambda (checked at the API level), refused for streamkit consumers
        # (see test_parallelization_factor_above_1_is_refused_for_the_ledger).
        api = {"StartingPosition": "TRIM_HORIZON", field: value}
        assert EsmSettings.from_api(api, now=NOW).parallelization_factor == value
        return
    consumer = parse_consumers(with_field(section, field, value), now=NOW)["clickstream"]
    assert parsed_value(consumer, section, field) == value


@pytest.mark.parametrize("bound", ["min-1", "max+1"])
@pytest.mark.parametrize(("section", "field", "lo", "hi"), INT_FIELDS)
def test_just_outside_range_is_rejected(
    section: str, field: str, lo: int, hi: int, bound: str
) -> None:
    """Spec rule 0.1: one below the minimum and one above the maximum are rejected,
    and the message names consumer, field path, value and allowed range."""
    value = lo - 1 if bound == "min-1" else hi + 1
    assert errors_of(with_field(section, field, value)) == [
        f"consumers.clickstream.{section}.{field}: {value} is out of range (allowed: {lo}..{hi})"
    ]


@pytest.mark.parametrize("value", [2, 10])
def test_parallelization_factor_above_1_is_refused_for_the_ledger(value: int) -> None:
    """Spec 4.7: with P > 1 Lambda runs P batches of one shard at once, which breaks
    the exactly-once ledger's one-writer-per-shard assumption: refused, loudly."""
    [error] = esm_errors(ParallelizationFactor=value)
    assert error.startswith(f"{ESM}.ParallelizationFactor: {value} is not supported")
    assert "(allowed: 1;" in error


@pytest.mark.parametrize("value", [-1, 60, 3600, 604800])
def test_record_age_accepted_values(value: int) -> None:
    """Spec rule 0.1: MaximumRecordAgeInSeconds is -1 (infinite) or 60..604800."""
    assert parse_esm(MaximumRecordAgeInSeconds=value).maximum_record_age_in_seconds == value


@pytest.mark.parametrize("value", [-2, 0, 1, 59, 604801])
def test_record_age_rejected_values(value: int) -> None:
    """Spec rule 0.1: -1-1, 604800+1 and 0..59 (inside the API's -1..604800 but
    rejected by Lambda) are invalid."""
    errors = esm_errors(MaximumRecordAgeInSeconds=value)
    assert len(errors) == 1
    assert errors[0].startswith(
        f"{ESM}.MaximumRecordAgeInSeconds: {value} is out of range (allowed: -1, or 60..604800"
    )


def test_large_batch_with_zero_window_is_allowed_for_kinesis() -> None:
    """Spec 0.3: "BatchSize > 10 needs a window >= 1" is enforced for SQS only; AWS's
    own Kinesis example uses BatchSize 500 with window 0."""
    esm = parse_esm(BatchSize=500, MaximumBatchingWindowInSeconds=0)
    assert (esm.batch_size, esm.maximum_batching_window_in_seconds) == (500, 0)
    assert parse_esm(BatchSize=10000).batch_size == 10000


# ---------------------------------------------------------------------------- types


@pytest.mark.parametrize(("section", "field", "lo", "hi"), INT_FIELDS)
def test_booleans_are_not_integers(section: str, field: str, lo: int, hi: int) -> None:
    """JSON true would pass an isinstance(int) check in Python; it is not a BatchSize."""
    assert errors_of(with_field(section, field, True)) == [
        f"consumers.clickstream.{section}.{field}: true is a boolean, not an integer "
        f"(allowed: {lo}..{hi})"
    ]


@pytest.mark.parametrize("value", ["500", 500.0, None, [500]])
def test_non_integers_are_rejected(value: Any) -> None:
    assert esm_errors(BatchSize=value) == [
        f"{ESM}.BatchSize: {json.dumps(value)} is not an integer (allowed: 1..10000)"
    ]


@pytest.mark.parametrize("value", [1, "true", None])
def test_bisect_must_be_boolean(value: Any) -> None:
    assert esm_errors(BisectBatchOnFunctionError=value) == [
        f"{ESM}.BisectBatchOnFunctionError: {json.dumps(value)} is not a boolean "
        "(allowed: true, false)"
    ]


def test_bad_enum_value_names_the_allowed_values() -> None:
    assert esm_errors(StartingPosition="EARLIEST") == [
        f'{ESM}.StartingPosition: "EARLIEST" is not a valid value '
        "(allowed: TRIM_HORIZON, LATEST, AT_TIMESTAMP)"
    ]


def test_enum_value_in_wrong_case_gets_a_suggestion() -> None:
    assert esm_errors(StartingPosition="trim_horizon") == [
        f'{ESM}.StartingPosition: "trim_horizon" is not a valid value; did you mean '
        '"TRIM_HORIZON"? (allowed: TRIM_HORIZON, LATEST, AT_TIMESTAMP)'
    ]


# ------------------------------------------------------------ StartingPositionTimestamp


def test_timestamp_accepted_with_at_timestamp() -> None:
    for value in (0, NOW - 1, NOW, 1_700_000_000.5):
        esm = parse_esm(StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=value)
        assert esm.starting_position_timestamp == value


def test_timestamp_in_the_future_is_rejected() -> None:
    """Spec 0.1: StartingPositionTimestamp must not be in the future."""
    errors = esm_errors(StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=NOW + 1)
    assert errors == [
        f"{ESM}.StartingPositionTimestamp: {json.dumps(NOW + 1)} is in the future (allowed: "
        "Unix seconds, not in the future, only with StartingPosition AT_TIMESTAMP; "
        f"now is {int(NOW)})"
    ]


def test_timestamp_uses_the_clock_by_default() -> None:
    far_future = {"StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": 4e9}
    with pytest.raises(ConfigError, match="is in the future"):
        EsmSettings.from_api(far_future)
    assert EsmSettings.from_api(far_future, now=5e9).starting_position_timestamp == 4e9


@pytest.mark.parametrize("position", ["LATEST", "TRIM_HORIZON"])
def test_timestamp_without_at_timestamp_is_rejected(position: str) -> None:
    """Spec 0.1: StartingPositionTimestamp only with AT_TIMESTAMP."""
    errors = esm_errors(StartingPosition=position, StartingPositionTimestamp=NOW - 60)
    assert len(errors) == 1
    assert errors[0].startswith(
        f"{ESM}.StartingPositionTimestamp: {json.dumps(NOW - 60)} is set but "
        f'StartingPosition is "{position}"'
    )


def test_at_timestamp_requires_a_timestamp() -> None:
    errors = esm_errors(StartingPosition="AT_TIMESTAMP")
    assert len(errors) == 1
    assert errors[0].startswith(f"{ESM}.StartingPositionTimestamp: missing, required with")


@pytest.mark.parametrize("value", [-1, "2024-01-01T00:00:00Z", True, None])
def test_bad_timestamps_are_rejected(value: Any) -> None:
    errors = esm_errors(StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=value)
    assert errors == [
        f"{ESM}.StartingPositionTimestamp: {json.dumps(value)} is not a valid timestamp "
        "(allowed: Unix seconds, not in the future, only with StartingPosition AT_TIMESTAMP)"
    ]


# ---------------------------------------------------------------- response types


@pytest.mark.parametrize("value", [[], ["ReportBatchItemFailures"]])
def test_function_response_types_accepted_by_the_api_rules(value: list[str]) -> None:
    """Spec 0.1: [] and ["ReportBatchItemFailures"] are the AWS values."""
    esm = EsmSettings.from_api(
        {"StartingPosition": "TRIM_HORIZON", "FunctionResponseTypes": value}, now=NOW
    )
    assert esm.function_response_types == tuple(value)
    assert esm.report_batch_item_failures == bool(value)


def test_streamkit_consumers_must_report_batch_item_failures() -> None:
    """Spec 2.2.1: without ReportBatchItemFailures Lambda ignores the response, so a
    record streamkit reports for retry would be skipped: the config refuses it."""
    for doc_value in ([], None):
        doc = minimal_doc()
        esm = doc["consumers"]["clickstream"]["event_source_mapping"]
        if doc_value is None:
            del esm["FunctionResponseTypes"]
        else:
            esm["FunctionResponseTypes"] = doc_value
        [error] = errors_of(doc)
        assert error.startswith(f"{ESM}.FunctionResponseTypes: [] loses records")
        assert '(allowed: ["ReportBatchItemFailures"])' in error


@pytest.mark.parametrize(
    "value",
    [
        ["reportBatchItemFailures"],
        ["ReportBatchItemFailures", "ReportBatchItemFailures"],
        "ReportBatchItemFailures",
        None,
    ],
)
def test_function_response_types_rejected(value: Any) -> None:
    assert esm_errors(FunctionResponseTypes=value) == [
        f"{ESM}.FunctionResponseTypes: {json.dumps(value)} is not a valid value "
        '(allowed: [] or ["ReportBatchItemFailures"])'
    ]


# ------------------------------------------------------------------------ filters


def pattern_of_length(length: int) -> str:
    head, tail = '{"data": {"k": ["', '"]}}'
    pattern = head + "a" * (length - len(head) - len(tail)) + tail
    assert len(pattern) == length
    return pattern


def test_ten_filters_and_a_4096_char_pattern_are_accepted() -> None:
    """Spec 0.1/5.1: at most 10 filters (quota-raisable), Pattern <= 4096 chars."""
    patterns = [pattern_of_length(4096)] + [DATA_PATTERN] * 9
    esm = parse_esm(FilterCriteria={"Filters": [{"Pattern": p} for p in patterns]})
    assert esm.filter_patterns == tuple(patterns)


def test_eleven_filters_are_rejected() -> None:
    errors = esm_errors(FilterCriteria={"Filters": [{"Pattern": DATA_PATTERN}] * 11})
    assert len(errors) == 1
    assert errors[0].startswith(
        f"{ESM}.FilterCriteria.Filters: 11 filters are too many (allowed: at most 10"
    )


def test_pattern_over_4096_chars_is_rejected() -> None:
    errors = esm_errors(FilterCriteria={"Filters": [{"Pattern": pattern_of_length(4097)}]})
    assert len(errors) == 1
    assert errors[0].startswith(f"{ESM}.FilterCriteria.Filters[0].Pattern: ")
    assert (
        "is 4097 characters, too long (allowed: a JSON object as a string of at most 4096"
        in (errors[0])
    )


@pytest.mark.parametrize("pattern", ["not json", "[1]", '"x"', ""])
def test_pattern_must_be_a_json_object(pattern: str) -> None:
    """Spec 0.4: a pattern that is not JSON, or not a JSON object, fails creation."""
    errors = esm_errors(FilterCriteria={"Filters": [{"Pattern": pattern}]})
    assert errors == [
        f"{ESM}.FilterCriteria.Filters[0].Pattern: {json.dumps(pattern)} is not a JSON object "
        "(allowed: a JSON object as a string of at most 4096 characters)"
    ]


def test_empty_filter_list_means_no_filters() -> None:
    esm = parse_esm(FilterCriteria={"Filters": []})
    assert esm.filter_patterns == ()
    assert "FilterCriteria" not in esm.to_api()


def test_filter_module_errors_are_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    class FilterError(ValueError):
        def __init__(self, detail: str, index: int) -> None:
            super().__init__(detail)
            self.detail, self.index, self.path = detail, index, "data.kind"

    seen: list[Any] = []

    def compile_filters(criteria: Any) -> None:
        seen.append(criteria)
        raise FilterError("unknown operator 'wildcard'", 1)

    fake = types.ModuleType("streamkit.local.filters")
    fake.FilterError = FilterError  # type: ignore[attr-defined]
    fake.compile_filters = compile_filters  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "streamkit.local.filters", fake)

    criteria = {"Filters": [{"Pattern": DATA_PATTERN}, {"Pattern": '{"data": {"kind": [1]}}'}]}
    errors = esm_errors(FilterCriteria=criteria)
    assert seen == [criteria]
    assert errors == [
        f"{ESM}.FilterCriteria.Filters[1].Pattern: "
        f"{json.dumps(criteria['Filters'][1]['Pattern'])} is not a valid filter pattern: "
        "unknown operator 'wildcard' [at data.kind]"
    ]
    assert isinstance(ConfigError(errors), ValueError)


def test_works_without_the_filter_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "streamkit.local.filters", None)
    wildcard = '{"data": {"kind": [{"wildcard": "c*"}]}}'
    esm = parse_esm(FilterCriteria={"Filters": [{"Pattern": wildcard}]})
    assert esm.filter_patterns == (wildcard,)


def test_real_filter_module_rejects_unsupported_operator() -> None:
    pytest.importorskip("streamkit.local.filters")
    wildcard = '{"data": {"kind": [{"wildcard": "c*"}]}}'
    errors = esm_errors(FilterCriteria={"Filters": [{"Pattern": wildcard}]})
    assert len(errors) == 1
    assert errors[0].startswith(f"{ESM}.FilterCriteria.Filters[0].Pattern: ")
    assert "wildcard" in errors[0]


# -------------------------------------------------------------------- destinations


@pytest.mark.parametrize(
    ("kind", "name", "arn"),
    [
        ("sqs", "clickstream-failures", "arn:aws:sqs:eu-west-1:123456789012:clickstream-failures"),
        ("sns", "alerts", "arn:aws:sns:eu-west-1:123456789012:alerts"),
        ("s3", "iot-failures", "arn:aws:s3:::iot-failures"),
    ],
)
def test_destination_types_and_arns(kind: str, name: str, arn: str) -> None:
    esm = parse_esm(DestinationConfig={"OnFailure": {"Destination": {"type": kind, "name": name}}})
    assert esm.on_failure == DestinationRef(kind, name)  # type: ignore[arg-type]
    assert esm.on_failure.arn(region="eu-west-1", account_id="123456789012") == arn


@pytest.mark.parametrize("config", [{}, {"OnFailure": {}}, {"OnFailure": {"Destination": None}}])
def test_empty_destination_config_means_none(config: dict[str, Any]) -> None:
    """Spec 0.2: AWS echoes DestinationConfig {"OnFailure": {}} when none is set."""
    assert parse_esm(DestinationConfig=config).on_failure is None


@pytest.mark.parametrize(("kind", "what"), [("sqs", "queue"), ("sns", "topic")])
def test_fifo_destinations_are_rejected(kind: str, what: str) -> None:
    """Spec 3.2 / 9.11: FIFO queues/topics are unsupported destinations; we refuse them
    when loading rather than fail at delivery."""
    dest = {"type": kind, "name": "failures.fifo"}
    assert esm_errors(DestinationConfig={"OnFailure": {"Destination": dest}}) == [
        f'{ESM}.DestinationConfig.OnFailure.Destination.name: "failures.fifo" is a FIFO '
        f"{what} (allowed: a standard queue or topic; FIFO destinations are unsupported, "
        "spec 3.2/9.11)"
    ]


def test_s3_bucket_ending_in_fifo_is_not_fifo() -> None:
    dest = {"type": "s3", "name": "logs.fifo"}
    esm = parse_esm(DestinationConfig={"OnFailure": {"Destination": dest}})
    assert esm.on_failure == DestinationRef("s3", "logs.fifo")


def test_destination_type_outside_sqs_sns_s3_is_rejected() -> None:
    dest = {"type": "kafka", "name": "topic"}
    assert esm_errors(DestinationConfig={"OnFailure": {"Destination": dest}}) == [
        f'{ESM}.DestinationConfig.OnFailure.Destination.type: "kafka" is not a valid value '
        "(allowed: sqs, sns, s3)"
    ]


def test_destination_arn_is_rejected_with_the_expected_form() -> None:
    arn = "arn:aws:sqs:us-east-1:123456789012:q"
    errors = esm_errors(DestinationConfig={"OnFailure": {"Destination": arn}})
    assert errors == [
        f'{ESM}.DestinationConfig.OnFailure.Destination: "{arn}" is an ARN, not a logical '
        'destination (allowed: {"type": "sqs"|"sns"|"s3", "name": "<queue, topic or bucket>"})'
    ]


@pytest.mark.parametrize(
    ("kind", "name", "valid"),
    [
        ("sqs", "q" * 80, True),
        ("sqs", "q" * 81, False),
        ("sqs", "", False),
        ("sns", "t" * 256, True),
        ("sns", "t" * 257, False),
        ("s3", "abc", True),
        ("s3", "ab", False),
        ("s3", "b" * 63, True),
        ("s3", "b" * 64, False),
        ("s3", "Upper", False),
        ("s3", "a..b", False),
    ],
)
def test_destination_name_rules(kind: str, name: str, valid: bool) -> None:
    dest = {"type": kind, "name": name}
    config = {"OnFailure": {"Destination": dest}}
    if valid:
        assert parse_esm(DestinationConfig=config).on_failure == DestinationRef(kind, name)  # type: ignore[arg-type]
    else:
        errors = esm_errors(DestinationConfig=config)
        assert len(errors) == 1
        assert errors[0].startswith(f"{ESM}.DestinationConfig.OnFailure.Destination.name: ")
        assert json.dumps(name)[:80] in errors[0]
        assert f" is not a valid {kind} name (allowed: " in errors[0]


def test_on_success_is_rejected() -> None:
    """Spec 0.1: OnSuccess is not supported for event source mappings."""
    errors = esm_errors(DestinationConfig={"OnSuccess": {"Destination": {}}})
    assert errors == [
        f'{ESM}.DestinationConfig.OnSuccess: unknown field "OnSuccess": OnSuccess is not '
        "supported for event source mappings (spec 0.1); use OnFailure"
    ]


# ---------------------------------------------------------------- unknown fields


@pytest.mark.parametrize(
    ("mutate", "path", "suggestion"),
    [
        (lambda d: d.update(consumer={}), "consumer", "consumers"),
        (
            lambda d: d["consumers"]["clickstream"].update(handlr="x.y"),
            "consumers.clickstream.handlr",
            "handler",
        ),
        (
            lambda d: d["consumers"]["clickstream"]["stream"].update(shards=1),
            "consumers.clickstream.stream.shards",
            "shard_count",
        ),
        (
            lambda d: d["consumers"]["clickstream"]["function"].update(timeout=3),
            "consumers.clickstream.function.timeout",
            "timeout_seconds",
        ),
        (
            lambda d: d["consumers"]["clickstream"]["event_source_mapping"].update(batch_size=5),
            f"{ESM}.batch_size",
            "BatchSize",
        ),
        (
            lambda d: d["consumers"]["clickstream"]["event_source_mapping"].update(
                MaximumRetryAttempt=5
            ),
            f"{ESM}.MaximumRetryAttempt",
            "MaximumRetryAttempts",
        ),
        (
            lambda d: d["consumers"]["clickstream"]["event_source_mapping"].update(
                FilterCriteria={"Filters": [], "Filter": []}
            ),
            f"{ESM}.FilterCriteria.Filter",
            "Filters",
        ),
        (
            lambda d: d["consumers"]["clickstream"]["event_source_mapping"].update(
                FilterCriteria={"Filters": [{"Pattern": DATA_PATTERN, "Patern": "{}"}]}
            ),
            f"{ESM}.FilterCriteria.Filters[0].Patern",
            "Pattern",
        ),
        (
            lambda d: d["consumers"]["clickstream"]["event_source_mapping"].update(
                DestinationConfig={"Onfailure": {}}
            ),
            f"{ESM}.DestinationConfig.Onfailure",
            "OnFailure",
        ),
        (
            lambda d: d["consumers"]["clickstream"]["event_source_mapping"].update(
                DestinationConfig={"OnFailure": {"Destinaton": None}}
            ),
            f"{ESM}.DestinationConfig.OnFailure.Destinaton",
            "Destination",
        ),
        (
            lambda d: d["consumers"]["clickstream"]["event_source_mapping"].update(
                DestinationConfig={
                    "OnFailure": {"Destination": {"type": "sqs", "name": "q", "nmae": "q"}}
                }
            ),
            f"{ESM}.DestinationConfig.OnFailure.Destination.nmae",
            "name",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_unknown_fields_at_every_level_get_a_suggestion(
    mutate: Any, path: str, suggestion: str
) -> None:
    doc = minimal_doc()
    mutate(doc)
    errors = errors_of(doc)
    key = path.rsplit(".", 1)[-1]
    assert len(errors) == 1
    assert errors[0].startswith(
        f'{path}: unknown field "{key}"; did you mean "{suggestion}"? (allowed: '
    )


def test_unknown_field_without_close_match_lists_allowed_fields() -> None:
    assert esm_errors(Zzz=1) == [
        f'{ESM}.Zzz: unknown field "Zzz" (allowed: BatchSize, MaximumBatchingWindowInSeconds, '
        "StartingPosition, StartingPositionTimestamp, BisectBatchOnFunctionError, "
        "MaximumRetryAttempts, MaximumRecordAgeInSeconds, FunctionResponseTypes, FilterCriteria, "
        "TumblingWindowInSeconds, ParallelizationFactor, DestinationConfig, Enabled, "
        "MetricsConfig, KMSKeyArn, Tags)"
    ]


def test_aws_fields_set_by_deployment_get_a_hint() -> None:
    errors = esm_errors(EventSourceArn="arn:aws:kinesis:us-east-1:1:stream/x")
    assert errors == [
        f'{ESM}.EventSourceArn: unknown field "EventSourceArn": it is derived from stream.name; '
        "do not set it here"
    ]


# -------------------------------------------------------------- consumer / stream


def test_missing_sections_are_reported() -> None:
    doc = minimal_doc()
    del doc["consumers"]["clickstream"]["function"]
    del doc["consumers"]["clickstream"]["stream"]["shard_count"]
    assert errors_of(doc) == [
        "consumers.clickstream.stream.shard_count: missing required field (allowed: 1..500)",
        "consumers.clickstream.function: missing required field (allowed: an object)",
    ]


@pytest.mark.parametrize("handler", ["handler", "handlers/clickstream.handler", "1x.y", 5])
def test_bad_handler_is_rejected(handler: Any) -> None:
    doc = minimal_doc()
    doc["consumers"]["clickstream"]["handler"] = handler
    errors = errors_of(doc)
    assert errors == [
        f"consumers.clickstream.handler: {json.dumps(handler)} is not a valid handler "
        '(allowed: a dotted "module.attribute" path, at most 128 characters)'
    ]


@pytest.mark.parametrize("doc", [[], {"consumers": {}}, {"consumers": []}, {}])
def test_document_shape_errors(doc: Any) -> None:
    errors = errors_of(doc)
    assert len(errors) == 1
    assert errors[0].startswith(("<root>: [] is not an object", "consumers: "))


def test_bad_consumer_name_is_rejected() -> None:
    doc = minimal_doc()
    doc["consumers"]["click stream"] = doc["consumers"].pop("clickstream")
    assert errors_of(doc) == [
        'consumers.click stream: consumer name "click stream" is not valid '
        "(allowed: 1..64 characters of A-Z a-z 0-9 _ -)"
    ]


def test_bad_stream_name_is_rejected() -> None:
    errors = errors_of(with_field("stream", "name", "click/stream"))
    assert errors == [
        'consumers.clickstream.stream.name: "click/stream" is not a valid name '
        "(allowed: 1..128 characters of A-Z a-z 0-9 _ . -)"
    ]


def test_consumers_sharing_a_stream_must_agree_on_it() -> None:
    doc = minimal_doc()
    other = copy.deepcopy(doc["consumers"]["clickstream"])
    other["stream"]["shard_count"] = 4
    doc["consumers"]["audit"] = other
    errors = errors_of(doc)
    assert len(errors) == 1
    assert errors[0].startswith('consumers.audit.stream: stream "clickstream" has shard_count')

    other["stream"]["shard_count"] = 2
    assert set(parse_consumers(doc, now=NOW)) == {"clickstream", "audit"}


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"AWS_REGION": "x"}, 'variable name "AWS_REGION" is reserved by Lambda'),
        (
            {"STREAMKIT_LEDGER_TABLE": "x"},
            'variable name "STREAMKIT_LEDGER_TABLE" is set by streamkit from the consumer',
        ),
        ({"9LIVES": "x"}, 'variable name "9LIVES" is not valid'),
        ({"LEVEL": 3}, "3 is not a string (allowed: a string)"),
    ],
)
def test_environment_rules(environment: dict[str, Any], message: str) -> None:
    errors = errors_of(with_field("function", "environment", environment))
    (key,) = environment
    assert len(errors) == 1
    assert errors[0].startswith(f"consumers.clickstream.function.environment.{key}: {message}")


def test_handler_settings_named_streamkit_are_allowed() -> None:
    # Only the names streamkit sets from resources are reserved (limits.STREAMKIT_RESOURCE_ENV).
    env = {"STREAMKIT_IOT_THRESHOLDS": "t>1:hot", "STREAMKIT_ALLOWED_LATENESS_S": "60"}
    consumers = parse_consumers(with_field("function", "environment", env), now=NOW)
    assert dict(consumers["clickstream"].function.environment) == env


def test_environment_over_4kb_is_rejected() -> None:
    errors = errors_of(with_field("function", "environment", {"BIG": "x" * 4094}))
    assert errors == [
        "consumers.clickstream.function.environment: 4097 bytes of variables is too large "
        "(allowed: at most 4096)"
    ]
    assert parse_consumers(with_field("function", "environment", {"BIG": "x" * 4093}), now=NOW)


# ------------------------------------------------------------ many errors, files


def test_all_errors_are_reported_together() -> None:
    doc = minimal_doc()
    doc["consumers"]["iot"] = copy.deepcopy(doc["consumers"]["clickstream"])
    doc["consumers"]["iot"]["stream"]["name"] = "iot"
    click = doc["consumers"]["clickstream"]
    click["event_source_mapping"].update(BatchSize=20000, ParallelizationFactor=0)
    click["function"]["memory_mb"] = 64
    doc["consumers"]["iot"]["event_source_mapping"]["StartingPosition"] = "NOW"

    with pytest.raises(ConfigError) as info:
        parse_consumers(doc, now=NOW)
    expected = [
        "consumers.clickstream.function.memory_mb: 64 is out of range (allowed: 128..10240)",
        f"{ESM}.BatchSize: 20000 is out of range (allowed: 1..10000)",
        f"{ESM}.ParallelizationFactor: 0 is out of range (allowed: 1..10)",
        'consumers.iot.event_source_mapping.StartingPosition: "NOW" is not a valid value '
        "(allowed: TRIM_HORIZON, LATEST, AT_TIMESTAMP)",
    ]
    assert info.value.errors == expected
    assert str(info.value) == "\n".join(expected)


def test_load_reports_the_source_file(tmp_path: Path) -> None:
    doc = minimal_doc()
    doc["consumers"]["clickstream"]["event_source_mapping"]["BatchSize"] = 0
    path = tmp_path / "consumers.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as info:
        load_consumers(path, now=NOW)
    assert info.value.source == str(path)
    assert info.value.errors == [f"{ESM}.BatchSize: 0 is out of range (allowed: 1..10000)"]


def test_duplicate_keys_in_the_file_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "consumers.json"
    text = json.dumps(minimal_doc()).replace(
        '"StartingPosition": "TRIM_HORIZON"',
        '"StartingPosition": "TRIM_HORIZON", "BatchSize": 10, "BatchSize": 20',
    )
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_consumers(path, now=NOW)
    assert info.value.errors == [
        f"{ESM}.BatchSize: duplicate field (allowed: each field once)",
    ]


@pytest.mark.parametrize("text", ["{", '{"consumers": NaN}', ""])
def test_invalid_json_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "consumers.json"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_consumers(path)
    assert len(info.value.errors) == 1
    assert info.value.errors[0].startswith(f"{path}: not valid JSON: ")


# ------------------------------------------------------- dataclasses keep invariants


def test_direct_construction_is_validated() -> None:
    with pytest.raises(ConfigError) as info:
        EsmSettings(starting_position="LATEST", batch_size=0, parallelization_factor=11)
    assert info.value.errors == [
        "EsmSettings.BatchSize: 0 is out of range (allowed: 1..10000)",
        "EsmSettings.ParallelizationFactor: 11 is out of range (allowed: 1..10)",
    ]
    with pytest.raises(ConfigError, match=r"StreamSettings\.shard_count: 0 is out of range"):
        StreamSettings(name="s", shard_count=0)
    with pytest.raises(ConfigError, match=r"FunctionSettings\.memory_mb: 1 is out of range"):
        FunctionSettings(timeout_seconds=3, memory_mb=1)
    with pytest.raises(ConfigError, match="FIFO queue"):
        DestinationRef("sqs", "q.fifo")


def test_settings_are_immutable() -> None:
    function = FunctionSettings(timeout_seconds=3, memory_mb=128, environment={"A1": "x"})
    with pytest.raises(TypeError):
        function.environment["A1"] = "y"  # type: ignore[index]
    esm = EsmSettings(starting_position="LATEST")
    with pytest.raises(AttributeError):
        esm.batch_size = 5  # type: ignore[misc]
    assert hash(esm) == hash(EsmSettings(starting_position="LATEST"))


# ---------------------------------------------------------------------- resources


def test_shipped_resources_and_their_environment() -> None:
    consumers = load_consumers()
    click = consumers["clickstream"].resources
    assert click is not None
    assert click.environment("clickstream") == {
        "STREAMKIT_CONSUMER": "clickstream",
        "STREAMKIT_LEDGER_TABLE": "streamkit-ledger",
        "STREAMKIT_DLQ_BUCKET": "streamkit-clickstream-dlq",
        "STREAMKIT_AGGREGATE_TABLE": "clickstream-aggregates",
        "STREAMKIT_ARCHIVE_BUCKET": "streamkit-clickstream-archive",
    }
    iot = consumers["iot"].resources
    assert iot is not None and iot.alerts_queue == "iot-alerts.fifo"
    assert iot.environment("iot", "https://q")["STREAMKIT_ALERTS_QUEUE_URL"] == "https://q"
    assert parse_consumers(consumers_to_dict(consumers), now=NOW) == consumers


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("ledger_table", "ab", "3..255 characters"),
        ("dead_letter_bucket", "Upper_Case", "3..63 characters of a-z 0-9 . -"),
        ("archive_bucket", "-dash-first", "3..63 characters"),
        ("alerts_queue", "not-fifo", "an SQS FIFO queue name"),
    ],
)
def test_bad_resource_names_name_the_field(field: str, value: str, allowed: str) -> None:
    doc = minimal_doc()
    resources = {"ledger_table": "ledger", "dead_letter_bucket": "dlq-bucket", field: value}
    doc["consumers"]["clickstream"]["resources"] = resources
    [error] = errors_of(doc)
    assert error.startswith(f"consumers.clickstream.resources.{field}: ")
    assert allowed in error


def test_resources_need_a_ledger_and_a_dead_letter_bucket() -> None:
    doc = minimal_doc()
    doc["consumers"]["clickstream"]["resources"] = {"aggregate_table": "aggs"}
    errors = errors_of(doc)
    assert any(
        e.startswith("consumers.clickstream.resources.ledger_table: missing") for e in errors
    )
    assert any(
        e.startswith("consumers.clickstream.resources.dead_letter_bucket: missing") for e in errors
    )


# ------------------------------------------------------------ error tree, $schema


def test_config_error_is_a_streamkit_error_and_a_value_error() -> None:
    from streamkit.errors import StreamkitError

    assert issubclass(ConfigError, StreamkitError)
    assert issubclass(ConfigError, ValueError)


def test_schema_key_is_accepted_and_must_be_a_string() -> None:
    doc = minimal_doc()
    doc["$schema"] = "./consumers.schema.json"
    assert list(parse_consumers(doc, now=NOW)) == ["clickstream"]
    doc["$schema"] = None
    assert errors_of(doc) == [
        "$schema: null is not a string (allowed: the path or URL of this file's JSON Schema)"
    ]


def test_both_streamkit_esm_rules_are_reported_together() -> None:
    errors = esm_errors(ParallelizationFactor=2, FunctionResponseTypes=[])
    assert [e.split(":", 1)[0] for e in errors] == [
        f"{ESM}.ParallelizationFactor",
        f"{ESM}.FunctionResponseTypes",
    ]


# ------------------------------------- Enabled, MetricsConfig, KMSKeyArn, Tags


def test_new_mapping_fields_are_accepted_and_round_trip() -> None:
    """CreateEventSourceMapping's Enabled, MetricsConfig, KMSKeyArn and Tags (botocore
    shapes) are valid Kinesis mapping fields: accepted, kept, given back by to_api."""
    esm = parse_esm(
        Enabled=False,
        MetricsConfig={"Metrics": ["EventCount"]},
        KMSKeyArn=KMS_KEY,
        Tags={"team": "data", "Kostenstelle 7": "a/b=c+d@e:f", "empty": ""},
    )
    assert esm.enabled is False
    assert esm.metrics == ("EventCount",)
    assert esm.kms_key_arn == KMS_KEY
    assert dict(esm.tags) == {"team": "data", "Kostenstelle 7": "a/b=c+d@e:f", "empty": ""}
    api = esm.to_api()
    assert api["Enabled"] is False
    assert api["MetricsConfig"] == {"Metrics": ["EventCount"]}
    assert api["KMSKeyArn"] == KMS_KEY
    assert api["Tags"]["Kostenstelle 7"] == "a/b=c+d@e:f"
    assert EsmSettings.from_api(api, now=NOW) == esm
    assert parse_esm(MetricsConfig={"Metrics": []}).metrics == ()


def test_shipped_config_publishes_event_counts() -> None:
    for consumer in load_consumers(SHIPPED).values():
        assert consumer.event_source_mapping.enabled
        assert consumer.event_source_mapping.metrics == ("EventCount",)


@pytest.mark.parametrize("value", [1, "false", None])
def test_enabled_must_be_boolean(value: Any) -> None:
    assert esm_errors(Enabled=value) == [
        f"{ESM}.Enabled: {json.dumps(value)} is not a boolean (allowed: true, false)"
    ]


METRICS_ALLOWED = '[] or ["EventCount"]; ErrorCount and KafkaMetrics are for Kafka sources only'


@pytest.mark.parametrize(
    "metrics", [["ErrorCount"], ["KafkaMetrics"], ["eventcount"], ["EventCount"] * 2, "EventCount"]
)
def test_metrics_other_than_event_count_are_rejected_for_kinesis(metrics: Any) -> None:
    """botocore: EventCount, ErrorCount, KafkaMetrics; the last two are Kafka-only."""
    assert esm_errors(MetricsConfig={"Metrics": metrics}) == [
        f"{ESM}.MetricsConfig.Metrics: {json.dumps(metrics)} is not a valid value "
        f"(allowed: {METRICS_ALLOWED})"
    ]


def test_metrics_config_needs_metrics_and_no_other_field() -> None:
    assert esm_errors(MetricsConfig={}) == [
        f"{ESM}.MetricsConfig.Metrics: missing required field (allowed: {METRICS_ALLOWED})"
    ]
    [error] = esm_errors(MetricsConfig={"Metrics": [], "Metric": []})
    assert error.startswith(f'{ESM}.MetricsConfig.Metric: unknown field "Metric"; did you mean')
    assert esm_errors(MetricsConfig=None) == [
        f"{ESM}.MetricsConfig: null is not an object (allowed: an object with Metrics)"
    ]


KMS_ALLOWED = "a KMS key ARN, arn:aws:kms:<region>:<12-digit account>:key/<key id>"


@pytest.mark.parametrize(
    "arn",
    [
        "",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:eu-west-1:123456789012:alias/streamkit",
        "arn:aws:s3:::bucket",
        "arn:aws:kms:eu-west-1:1234:key/abc",
        f"{KMS_KEY} ",
    ],
)
def test_kms_key_arn_must_be_a_key_arn(arn: str) -> None:
    assert esm_errors(KMSKeyArn=arn) == [
        f"{ESM}.KMSKeyArn: {json.dumps(arn)} is not a valid KMS key ARN (allowed: {KMS_ALLOWED})"
    ]


def test_kms_key_arn_of_other_partitions_and_multi_region_keys() -> None:
    for arn in (
        "arn:aws-cn:kms:cn-north-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab",
    ):
        assert parse_esm(KMSKeyArn=arn).kms_key_arn == arn


TAG_KEY_ALLOWED = (
    "1..128 characters of letters, digits, spaces and _ . : / = + - @, not starting with aws:"
)
TAG_VALUE_ALLOWED = "0..256 characters of letters, digits, spaces and _ . : / = + - @"


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ({"": "v"}, f'Tags.: tag key "" is not valid (allowed: {TAG_KEY_ALLOWED})'),
        (
            {"k" * 129: "v"},
            f"Tags.{'k' * 129}: tag key {json.dumps('k' * 129)[:80]}...(131 chars) is not "
            f"valid (allowed: {TAG_KEY_ALLOWED})",
        ),
        ({"a#b": "v"}, f'Tags.a#b: tag key "a#b" is not valid (allowed: {TAG_KEY_ALLOWED})'),
        (
            {"aws:team": "v"},
            f'Tags.aws:team: tag key "aws:team" is reserved for AWS (allowed: {TAG_KEY_ALLOWED})',
        ),
        (
            {"AWS:team": "v"},
            f'Tags.AWS:team: tag key "AWS:team" is reserved for AWS (allowed: {TAG_KEY_ALLOWED})',
        ),
        (
            {"team": "x" * 257},
            f"Tags.team: {json.dumps('x' * 257)[:80]}...(259 chars) is not a valid tag value "
            f"(allowed: {TAG_VALUE_ALLOWED})",
        ),
        (
            {"team": "a;b"},
            f'Tags.team: "a;b" is not a valid tag value (allowed: {TAG_VALUE_ALLOWED})',
        ),
        ({"team": 5}, f"Tags.team: 5 is not a valid tag value (allowed: {TAG_VALUE_ALLOWED})"),
        (
            {f"t{i}": "v" for i in range(51)},
            "Tags: 51 tags are too many (allowed: at most 50 per resource)",
        ),
        (
            ["team"],
            'Tags: ["team"] is not an object (allowed: an object of tag key -> value strings)',
        ),
    ],
    ids=[
        "empty-key",
        "long-key",
        "bad-key",
        "aws-prefix",
        "AWS-prefix",
        "long-value",
        "bad-value",
        "number",
        "51-tags",
        "list",
    ],
)
def test_bad_tags_are_rejected(tags: Any, message: str) -> None:
    """Lambda's tag limits (botocore TagKey/TagValue; 50 tags per resource; aws: reserved)."""
    assert esm_errors(Tags=tags) == [f"{ESM}.{message}"]


def test_fifty_tags_at_the_length_limits_are_accepted() -> None:
    tags = {f"{i:03d}" + "k" * 125: "v" * 256 for i in range(50)}
    assert dict(parse_esm(Tags=tags).tags) == tags


def test_esm_settings_tags_are_read_only_and_hashing_ignores_them() -> None:
    esm = EsmSettings(starting_position="LATEST", tags={"team": "data"})
    with pytest.raises(TypeError):
        esm.tags["team"] = "other"  # type: ignore[index]
    assert hash(esm) == hash(EsmSettings(starting_position="LATEST", tags={"team": "x"}))
    with pytest.raises(ConfigError, match=r"EsmSettings\.Tags\.aws:x: tag key"):
        EsmSettings(starting_position="LATEST", tags={"aws:x": "y"})


# ------------------------------------------------------------ enhanced fan-out


def test_enhanced_fan_out_is_a_per_consumer_stream_option() -> None:
    """Spec 0.5/4.2: a consumer may read through a registered stream consumer; two
    consumers of one stream may differ (it is not part of the stream's provisioning)."""
    doc = minimal_doc()
    click = doc["consumers"]["clickstream"]
    doc["consumers"]["audit"] = copy.deepcopy(click)
    click["stream"]["enhanced_fan_out"] = True
    consumers = parse_consumers(doc, now=NOW)
    assert consumers["clickstream"].stream.enhanced_fan_out is True
    assert consumers["audit"].stream.enhanced_fan_out is False
    assert (
        consumers_to_dict(consumers)["consumers"]["clickstream"]["stream"]["enhanced_fan_out"]
        is True
    )
    assert "enhanced_fan_out" not in consumers_to_dict(consumers)["consumers"]["audit"]["stream"]
    assert parse_consumers(consumers_to_dict(consumers), now=NOW) == consumers


def test_enhanced_fan_out_must_be_boolean() -> None:
    assert errors_of(with_field("stream", "enhanced_fan_out", "yes")) == [
        'consumers.clickstream.stream.enhanced_fan_out: "yes" is not a boolean '
        "(allowed: true, false)"
    ]
