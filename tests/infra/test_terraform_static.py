"""Static checks of infra/ (no Terraform binary or provider is reachable here).

* every .tf file parses (python-hcl2);
* per module, every ``var.X`` referenced is declared and every declared one used;
  every module call passes only declared variables and all required ones;
* the event source mapping is built argument by argument from the consumer's entry
  of infra/consumers.json: the expressions are followed from the resource back to
  ``jsondecode(file(".../consumers.json"))``, the variable's ``optional()`` defaults
  are applied, and the result must equal what the local simulator reads
  (``streamkit.local.config``) for every consumer;
* the variables validate the ranges of spec section 0 (the constants of config.py);
* IAM: no wildcard action in any Allow statement, no ``"*"`` resource without a
  ``Resource "*":`` comment saying why AWS requires it, and each consumer role's
  actions are exactly the documented least-privilege set.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest

from streamkit.local import config as cfg
from streamkit.local.config import ResourceSettings, limits, load_consumers

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
CONSUMER_MODULE = INFRA / "modules" / "kinesis-consumer"
TF_FILES = sorted(INFRA.rglob("*.tf"))
MODULE_DIRS = sorted({p.parent for p in TF_FILES})
CONSUMERS_JSON = INFRA / "consumers.json"
RAW_CONSUMERS: dict[str, Any] = json.loads(CONSUMERS_JSON.read_text())["consumers"]

# aws_lambda_event_source_mapping argument -> CreateEventSourceMapping field.
ESM_ARGUMENTS = {
    "batch_size": "BatchSize",
    "maximum_batching_window_in_seconds": "MaximumBatchingWindowInSeconds",
    "starting_position": "StartingPosition",
    "bisect_batch_on_function_error": "BisectBatchOnFunctionError",
    "maximum_retry_attempts": "MaximumRetryAttempts",
    "maximum_record_age_in_seconds": "MaximumRecordAgeInSeconds",
    "function_response_types": "FunctionResponseTypes",
    "tumbling_window_in_seconds": "TumblingWindowInSeconds",
    "parallelization_factor": "ParallelizationFactor",
    "enabled": "Enabled",
    "kms_key_arn": "KMSKeyArn",
}


# --------------------------------------------------------------------- helpers


def unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of string literals and block labels."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def expr(value: Any) -> str:
    """An expression as text, without the ``${...}`` wrapper python-hcl2 adds."""
    assert isinstance(value, str), value
    if value.startswith("${") and value.endswith("}"):
        return value[2:-1]
    return value


@functools.cache
def load(path: Path) -> dict[str, Any]:
    """Parsed once per run (lark parsing is slow); callers must not mutate it."""
    with path.open() as f:
        doc: dict[str, Any] = hcl2.load(f)
    return doc


def module_docs(directory: Path) -> list[dict[str, Any]]:
    return [load(p) for p in sorted(directory.glob("*.tf"))]


def blocks(docs: list[dict[str, Any]], kind: str) -> dict[tuple[str, ...], dict[str, Any]]:
    """Labelled blocks of ``kind`` (resource, data, module, variable): labels -> body."""
    out: dict[tuple[str, ...], dict[str, Any]] = {}
    for doc in docs:
        for entry in doc.get(kind, []):
            for label, body in entry.items():
                if kind in ("resource", "data"):
                    for name, inner in body.items():
                        out[(unquote(label), unquote(name))] = inner
                else:
                    out[(unquote(label),)] = body
    return out


def locals_of(docs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for doc in docs:
        for entry in doc.get("locals", []):
            out.update({k: v for k, v in entry.items() if k != "__is_block__"})
    return out


def code_text(directory: Path) -> str:
    """The module's .tf text without comment lines."""
    lines = [
        line
        for path in sorted(directory.glob("*.tf"))
        for line in path.read_text().splitlines()
        if not line.lstrip().startswith(("#", "//"))
    ]
    return "\n".join(lines)


def split_top(text: str, sep: str = ",") -> list[str]:
    """Split at ``sep`` outside brackets and strings."""
    parts, depth, current, in_str = [], 0, [], False
    for ch in text:
        if ch == '"':
            in_str = not in_str
        elif not in_str and ch in "([{":
            depth += 1
        elif not in_str and ch in ")]}":
            depth -= 1
        if ch == sep and depth == 0 and not in_str:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


def object_type_fields(type_expr: str) -> dict[str, tuple[bool, Any]]:
    """``object({K = T, K2 = optional(T, D)})`` -> {K: (required, default)}."""
    match = re.fullmatch(r"object\(\{(.*)\}\)", type_expr.strip(), re.S)
    assert match, type_expr
    fields: dict[str, tuple[bool, Any]] = {}
    for item in split_top(match.group(1)):
        key, _, typ = item.partition("=")
        typ = typ.strip()
        opt = re.fullmatch(r"optional\((.*)\)", typ, re.S)
        if opt is None:
            fields[key.strip()] = (True, None)
            continue
        args = split_top(opt.group(1))
        default = json.loads(args[1]) if len(args) > 1 else None
        fields[key.strip()] = (False, default)
    return fields


# ------------------------------------------------------------------ parsing


@pytest.mark.parametrize("path", TF_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_every_tf_file_parses(path: Path) -> None:
    assert isinstance(load(path), dict)


def test_expected_layout() -> None:
    names = {p.relative_to(INFRA).as_posix() for p in TF_FILES}
    for module in ("kinesis-consumer", "kinesis-stream", "dynamodb-table", "s3-bucket"):
        for part in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
            assert f"modules/{module}/{part}" in names
    assert {"main.tf", "variables.tf", "outputs.tf", "versions.tf"} <= names


# ---------------------------------------------------------------- variables


@pytest.mark.parametrize("directory", MODULE_DIRS, ids=lambda p: str(p.relative_to(ROOT)))
def test_variables_declared_equal_used(directory: Path) -> None:
    declared = {label[0] for label in blocks(module_docs(directory), "variable")}
    used = set(re.findall(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)", code_text(directory)))
    assert used - declared == set(), "referenced but not declared"
    assert declared - used == set(), "declared but never used"


@pytest.mark.parametrize("directory", MODULE_DIRS, ids=lambda p: str(p.relative_to(ROOT)))
def test_variables_have_description_type_and_validation(directory: Path) -> None:
    for (name,), body in blocks(module_docs(directory), "variable").items():
        assert unquote(body.get("description", "")), f"{name} has no description"
        assert "type" in body, f"{name} has no type"
        typ = expr(body["type"])
        # Free-form values (names of other resources, tags, flags) need no range.
        if typ not in ("bool", "map(string)", "list(string)") and not typ.startswith("object"):
            if name in ("access_log_bucket", "permissions_boundary_arn"):
                continue
            assert body.get("validation"), f"{name} ({typ}) has no validation block"


def test_module_calls_pass_declared_and_required_variables() -> None:
    meta = {
        "source",
        "for_each",
        "count",
        "depends_on",
        "providers",
        "__is_block__",
        "__comments__",
    }
    for (name,), body in blocks(module_docs(INFRA), "module").items():
        source = INFRA / unquote(body["source"])
        variables = blocks(module_docs(source), "variable")
        passed = set(body) - meta
        assert passed - {v[0] for v in variables} == set(), f"module {name}: unknown inputs"
        required = {v[0] for v, b in variables.items() if "default" not in b}
        assert required - passed == set(), f"module {name}: required inputs missing"


# ------------------------------------------------- ESM == infra/consumers.json


def consumer_module_call() -> dict[str, Any]:
    return blocks(module_docs(INFRA), "module")[("consumer",)]


def test_root_reads_consumers_json_and_deploys_every_consumer() -> None:
    root_locals = locals_of(module_docs(INFRA))
    assert expr(root_locals["config"]) == 'jsondecode(file("${path.module}/consumers.json"))'
    assert expr(root_locals["consumers"]) == "local.config.consumers"
    call = consumer_module_call()
    assert unquote(call["source"]) == "./modules/kinesis-consumer"
    assert expr(call["for_each"]) == "local.consumers"
    assert expr(call["event_source_mapping"]) == "each.value.event_source_mapping"
    assert expr(call["handler"]) == "each.value.handler"
    assert expr(call["timeout_seconds"]) == "each.value.function.timeout_seconds"
    assert expr(call["memory_mb"]) == "each.value.function.memory_mb"
    assert expr(call["environment"]) == "try(each.value.function.environment, {})"
    assert call["stream"] == {
        "name": "${module.stream[each.value.stream.name].name}",
        "arn": "${module.stream[each.value.stream.name].arn}",
    }


def esm_resource() -> dict[str, Any]:
    return blocks(module_docs(CONSUMER_MODULE), "resource")[
        ("aws_lambda_event_source_mapping", "this")
    ]


def esm_variable_fields() -> dict[str, tuple[bool, Any]]:
    var = blocks(module_docs(CONSUMER_MODULE), "variable")[("event_source_mapping",)]
    return object_type_fields(expr(var["type"]))


def esm_field_reference(argument: Any) -> str:
    """The consumers.json field an ESM argument reads (following ``local.esm``)."""
    text = expr(argument)
    assert expr(locals_of(module_docs(CONSUMER_MODULE))["esm"]) == "var.event_source_mapping"
    match = re.fullmatch(r"local\.esm\.([A-Za-z]+)", text)
    assert match, f"{text!r} is not a plain field of the consumer's event_source_mapping"
    return match.group(1)


def test_esm_arguments_are_the_consumers_json_fields_of_the_same_name() -> None:
    resource = esm_resource()
    for argument, field in ESM_ARGUMENTS.items():
        assert esm_field_reference(resource[argument]) == field, argument
    # Unix seconds in the file; Terraform wants RFC 3339.
    assert expr(resource["starting_position_timestamp"]) == (
        "local.esm.StartingPositionTimestamp == null ? null : "
        'timeadd("1970-01-01T00:00:00Z", format("%ds", floor(local.esm.StartingPositionTimestamp)))'
    )
    # Enhanced fan-out: the registered stream consumer's ARN is the source (spec 0.5).
    assert expr(resource["event_source_arn"]) == (
        "var.enhanced_fan_out ? aws_kinesis_stream_consumer.this[0].arn : var.stream.arn"
    )
    assert expr(resource["function_name"]) == "aws_lambda_function.this.arn"
    # The module's tags, then the mapping's own Tags from consumers.json.
    assert expr(resource["tags"]) == "merge(var.tags, local.esm.Tags)"
    metrics = dynamic_block(resource, "metrics_config")
    assert expr(metrics["for_each"]) == (
        "local.esm.MetricsConfig == null ? [] : [local.esm.MetricsConfig]"
    )
    assert expr(metrics["content"][0]["metrics"]) == "metrics_config.value.Metrics"


def test_enhanced_fan_out_registers_a_stream_consumer_per_consumer() -> None:
    """Spec 0.5/4.2: stream.enhanced_fan_out registers a stream consumer named like the
    function on the consumer's stream; only then, and only it, may be subscribed to."""
    call = consumer_module_call()
    assert expr(call["enhanced_fan_out"]) == "try(each.value.stream.enhanced_fan_out, false)"
    resources = blocks(module_docs(CONSUMER_MODULE), "resource")
    consumer = resources[("aws_kinesis_stream_consumer", "this")]
    assert expr(consumer["count"]) == "var.enhanced_fan_out ? 1 : 0"
    assert expr(consumer["name"]) == "local.function_name"
    assert expr(consumer["stream_arn"]) == "var.stream.arn"
    variable = blocks(module_docs(CONSUMER_MODULE), "variable")[("enhanced_fan_out",)]
    assert (expr(variable["type"]), variable["default"]) == ("bool", False)
    policy = blocks(module_docs(CONSUMER_MODULE), "data")[("aws_iam_policy_document", "this")]
    [efo] = [
        inner
        for entry in policy["dynamic"]
        for label, inner in entry.items()
        if unquote(label) == "statement"
        and unquote(inner["content"][0]["sid"]) == "ReadThroughStreamConsumer"
    ]
    assert expr(efo["for_each"]) == "aws_kinesis_stream_consumer.this[*].arn"
    assert literal_list(efo["content"][0]["resources"]) == ["${statement.value}"]
    for name, raw in RAW_CONSUMERS.items():
        loaded = load_consumers(CONSUMERS_JSON)[name].stream.enhanced_fan_out
        assert raw["stream"].get("enhanced_fan_out", False) is loaded


def test_esm_variable_accepts_every_field_the_config_allows() -> None:
    # An attribute missing from the object type would be dropped by Terraform silently.
    fields = esm_variable_fields()
    assert set(fields) == set(cfg._ESM_FIELDS)
    assert fields["StartingPosition"] == (True, None)


def dynamic_block(body: dict[str, Any], name: str) -> dict[str, Any]:
    for entry in body.get("dynamic", []):
        for label, inner in entry.items():
            if unquote(label) == name:
                return inner
    raise AssertionError(f"no dynamic {name!r} block")


def effective_esm(raw: dict[str, Any]) -> dict[str, Any]:
    """What Terraform passes to the provider for ``raw``: the type's defaults applied."""
    out = {}
    for field, (required, default) in esm_variable_fields().items():
        if required:
            out[field] = raw[field]
        else:
            out[field] = raw.get(field, default)
    return out


def root_destination_resolution() -> dict[str, set[str]]:
    """The names the root creates per destination type, checked against its locals."""
    root_locals = locals_of(module_docs(INFRA))
    assert expr(root_locals["destinations"]) == (
        "{for name, c in local.consumers : name => "
        "try(c.event_source_mapping.DestinationConfig.OnFailure.Destination, null)}"
    )
    created: dict[str, set[str]] = {}
    for kind, local, address in (
        ("sqs", "destination_queues", ("aws_sqs_queue", "on_failure")),
        ("sns", "destination_topics", ("aws_sns_topic", "on_failure")),
        ("s3", "destination_buckets", None),
    ):
        assert expr(root_locals[local]) == (
            f'toset([for d in values(local.destinations) : d.name if try(d.type, "") == "{kind}"])'
        )
        names = set()
        for consumer in RAW_CONSUMERS.values():
            d = consumer["event_source_mapping"].get("DestinationConfig", {})
            d = d.get("OnFailure", {}).get("Destination")
            if d is not None and d["type"] == kind:
                names.add(d["name"])
        if address is not None:
            resources = blocks(module_docs(INFRA), "resource")
            assert expr(resources[address]["for_each"]) == f"local.{local}"
        else:
            assert f"local.{local}" in expr(root_locals["buckets"])
            bucket = blocks(module_docs(INFRA), "module")[("bucket",)]
            assert expr(bucket["for_each"]) == "local.buckets"
        created[kind] = names
    assert root_locals["destination_arns"] == {
        "sqs": "${{for n, q in aws_sqs_queue.on_failure : n => q.arn}}",
        "sns": "${{for n, t in aws_sns_topic.on_failure : n => t.arn}}",
        "s3": "${{for n, b in module.bucket : n => b.arn}}",
    }
    return created


@pytest.mark.parametrize("name", sorted(RAW_CONSUMERS))
def test_esm_arguments_equal_consumers_json(name: str) -> None:
    raw = RAW_CONSUMERS[name]["event_source_mapping"]
    simulator = load_consumers(CONSUMERS_JSON)[name].event_source_mapping.to_api()
    terraform = effective_esm(raw)
    resource = esm_resource()
    for argument in ESM_ARGUMENTS:
        field = esm_field_reference(resource[argument])
        if field in raw:
            assert terraform[field] == raw[field], argument
        # Same effective value (AWS defaults included) as the local simulator uses;
        # KMSKeyArn is absent from both when not set.
        assert terraform[field] == simulator.get(field), argument
    assert terraform["StartingPositionTimestamp"] == simulator.get("StartingPositionTimestamp")
    assert terraform["Tags"] == simulator.get("Tags", {}) == raw.get("Tags", {})
    assert terraform["MetricsConfig"] == simulator.get("MetricsConfig") == raw.get("MetricsConfig")

    # filter_criteria: one filter per Pattern, in order.
    criteria = dynamic_block(resource, "filter_criteria")
    assert expr(criteria["for_each"]) == (
        "local.esm.FilterCriteria == null ? [] : [local.esm.FilterCriteria]"
    )
    inner = dynamic_block(criteria["content"][0], "filter")
    assert expr(inner["for_each"]) == "filter_criteria.value.Filters"
    assert expr(inner["content"][0]["pattern"]) == "filter.value.Pattern"
    filters = terraform["FilterCriteria"]
    patterns = [f["Pattern"] for f in filters["Filters"]] if filters else []
    assert patterns == [
        f["Pattern"] for f in simulator.get("FilterCriteria", {}).get("Filters", [])
    ]

    # destination_config: the logical destination, resolved to the resource the root
    # creates for it.
    destination = dynamic_block(resource, "destination_config")
    assert expr(destination["for_each"]) == (
        "var.on_failure_destination == null ? [] : [var.on_failure_destination]"
    )
    on_failure = destination["content"][0]["on_failure"][0]
    assert expr(on_failure["destination_arn"]) == "destination_config.value.arn"
    call = consumer_module_call()
    resolved = expr(call["on_failure_destination"])
    assert "local.destinations[each.key] == null ? null" in resolved
    assert "type = local.destinations[each.key].type" in resolved
    assert (
        "arn = local.destination_arns[local.destinations[each.key].type]"
        "[local.destinations[each.key].name]"
    ) in resolved
    ref = simulator.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    created = root_destination_resolution()
    if ref is not None:
        assert ref["name"] in created[ref["type"]]


@pytest.mark.parametrize("name", sorted(RAW_CONSUMERS))
def test_function_settings_equal_consumers_json(name: str) -> None:
    consumer = load_consumers(CONSUMERS_JSON)[name]
    function = blocks(module_docs(CONSUMER_MODULE), "resource")[("aws_lambda_function", "this")]
    assert expr(function["handler"]) == "var.handler"
    assert expr(function["timeout"]) == "var.timeout_seconds"
    assert expr(function["memory_size"]) == "var.memory_mb"
    assert expr(function["architectures"][0]) == "var.architecture"
    assert expr(function["source_code_hash"]) == "filebase64sha256(var.package_path)"
    variables = blocks(module_docs(CONSUMER_MODULE), "variable")
    assert unquote(variables[("architecture",)]["default"]) == "arm64"
    assert unquote(variables[("runtime",)]["default"]) in ("python3.12", "python3.13")
    assert consumer.handler == f"handlers.{name}.handler"


def test_environment_has_every_streamkit_variable() -> None:
    settings = ResourceSettings(
        ledger_table="l", dead_letter_bucket="d", aggregate_table="a", archive_bucket="b"
    )
    expected = set(settings.environment("c", alerts_queue_url="https://q"))
    env = expr(locals_of(module_docs(CONSUMER_MODULE))["streamkit_environment"])
    found = set(re.findall(r"\b(STREAMKIT_[A-Z_]+)\s*=", env))
    assert found == expected
    powertools = locals_of(module_docs(CONSUMER_MODULE))["powertools_environment"]
    assert powertools == {
        "POWERTOOLS_SERVICE_NAME": "${var.name}",
        "POWERTOOLS_METRICS_NAMESPACE": "${var.metrics_namespace}",
    }


# ------------------------------------------------------------- validation ranges


def conditions(directory: Path, variable: str) -> list[str]:
    body = blocks(module_docs(directory), "variable")[(variable,)]
    return [expr(v["condition"]) for v in body.get("validation", [])]


def mentions(condition: str, *numbers: int) -> bool:
    tokens = set(re.findall(r"-?\d+", condition))
    return all(str(n) in tokens for n in numbers)


@pytest.mark.parametrize(
    ("field", "numbers"),
    [
        ("BatchSize", cfg.BATCH_SIZE),
        ("MaximumBatchingWindowInSeconds", cfg.BATCHING_WINDOW),
        ("MaximumRetryAttempts", cfg.MAXIMUM_RETRY_ATTEMPTS),
        ("MaximumRecordAgeInSeconds", (-1, cfg.MINIMUM_FINITE_RECORD_AGE, 604800)),
        ("TumblingWindowInSeconds", cfg.TUMBLING_WINDOW),
        ("ParallelizationFactor", (1,)),
        ("FilterCriteria", (cfg.MAX_FILTERS, cfg.MAX_PATTERN_CHARS)),
        ("Tags", (limits.MAX_TAGS, limits.TAG_KEY_CHARS[1], limits.TAG_VALUE_CHARS[1])),
        ("MetricsConfig", (len(limits.KINESIS_ESM_METRICS),)),
    ],
)
def test_esm_validation_ranges_match_the_spec(field: str, numbers: tuple[int, ...]) -> None:
    conds = [c for c in conditions(CONSUMER_MODULE, "event_source_mapping") if field in c]
    assert any(mentions(c, *numbers) for c in conds), f"no validation of {field} {numbers}"


def test_new_mapping_fields_are_validated_like_the_config() -> None:
    conds = conditions(CONSUMER_MODULE, "event_source_mapping")
    [metrics] = [c for c in conds if "MetricsConfig" in c]
    assert all(f'"{m}"' in metrics for m in limits.KINESIS_ESM_METRICS)
    [kms] = [c for c in conds if "KMSKeyArn" in c]
    pattern = re.search(r'regex\("(.*)", var', kms)
    assert pattern and pattern.group(1) == limits.KMS_KEY_ARN
    [tags] = [c for c in conds if "Tags" in c]
    assert f'"{limits.RESERVED_TAG_PREFIX}"' in tags and "lower(k)" in tags


def test_parallelization_factor_must_be_one() -> None:
    conds = conditions(CONSUMER_MODULE, "event_source_mapping")
    assert "var.event_source_mapping.ParallelizationFactor == 1" in conds
    assert any('tolist(["ReportBatchItemFailures"])' in c for c in conds)


@pytest.mark.parametrize(
    ("module", "variable", "numbers"),
    [
        ("kinesis-consumer", "timeout_seconds", cfg.TIMEOUT_SECONDS),
        ("kinesis-consumer", "memory_mb", cfg.MEMORY_MB),
        ("kinesis-stream", "shard_count", cfg.SHARD_COUNT),
        ("kinesis-stream", "retention_hours", cfg.RETENTION_HOURS),
    ],
)
def test_function_and_stream_ranges_match_the_config(
    module: str, variable: str, numbers: tuple[int, int]
) -> None:
    conds = conditions(INFRA / "modules" / module, variable)
    assert any(mentions(c, *numbers) for c in conds)


# ---------------------------------------------------------------------- IAM


def policy_statements() -> list[tuple[Path, dict[str, Any]]]:
    """Every statement of every aws_iam_policy_document (dynamic ones included)."""
    out = []
    for path in TF_FILES:
        for (kind, _name), body in blocks([load(path)], "data").items():
            if kind != "aws_iam_policy_document":
                continue
            out += [(path, s) for s in body.get("statement", [])]
            for entry in body.get("dynamic", []):
                for label, inner in entry.items():
                    assert unquote(label) == "statement"
                    out += [(path, s) for s in inner["content"]]
    return out


def literal_list(value: Any) -> list[str]:
    assert isinstance(value, list), value
    return [unquote(v) for v in value]


def test_no_wildcard_action_in_any_allow_statement() -> None:
    statements = policy_statements()
    assert len(statements) > 15
    for path, statement in statements:
        effect = unquote(statement.get("effect", '"Allow"'))
        actions = literal_list(statement["actions"])
        assert actions, path
        if effect == "Allow":
            assert not [a for a in actions if "*" in a], (path, actions)
        else:
            # A Deny may use a wildcard: it can only remove access (TLS-only policies).
            assert effect == "Deny"


def test_no_wildcard_action_in_inline_json_policies() -> None:
    # Key policies are written with jsonencode: check their Action lists as text.
    for path in TF_FILES:
        text = path.read_text()
        for match in re.finditer(r"\bAction\s*=\s*(\[[^\]]*\]|\"[^\"]*\")", text):
            actions = re.findall(r'"([^"]*)"', match.group(1))
            assert actions and not [a for a in actions if "*" in a], (path, actions)


def test_wildcard_resources_only_where_aws_requires_them() -> None:
    seen = 0
    for path in TF_FILES:
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if re.search(r'\b(resources|Resource)\s*=\s*\[?\s*"\*"', line):
                seen += 1
                above = "\n".join(lines[max(0, number - 4) : number])
                assert 'Resource "*":' in above, f'{path}:{number + 1}: "*" without a reason'
    assert seen >= 1


def test_consumer_role_is_least_privilege() -> None:
    actions: dict[str, set[str]] = {}
    resources: dict[str, list[str]] = {}
    path = CONSUMER_MODULE / "iam.tf"
    for where, statement in policy_statements():
        if where != path or "sid" not in statement:
            continue
        sid = unquote(statement["sid"])
        actions[sid] = set(literal_list(statement["actions"]))
        resources[sid] = literal_list(statement.get("resources", []))
    assert actions == {
        "LambdaAssumeRole": {"sts:AssumeRole"},
        "ReadThroughStreamConsumer": {"kinesis:SubscribeToShard"},
        "ReadStream": {
            "kinesis:DescribeStream",
            "kinesis:DescribeStreamSummary",
            "kinesis:GetRecords",
            "kinesis:GetShardIterator",
            "kinesis:ListShards",
        },
        "LedgerOwnItems": {"dynamodb:GetItem", "dynamodb:UpdateItem"},
        "AggregateItems": {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem"},
        "WriteDeadLettersAndIntents": {"s3:PutObject"},
        "ReadIntents": {"s3:GetObject"},
        "WriteArchive": {"s3:PutObject"},
        "SendAlerts": {"sqs:SendMessage"},
        "OnFailureQueue": {"sqs:SendMessage"},
        "OnFailureTopic": {"sns:Publish"},
        "OnFailureBucketList": {"s3:ListBucket"},
        "OnFailureBucketWrite": {"s3:PutObject"},
        "UseProjectKey": {"kms:Decrypt", "kms:GenerateDataKey"},
        "WriteOwnLogs": {"logs:CreateLogStream", "logs:PutLogEvents"},
        "XRayTraces": {"xray:PutTraceSegments", "xray:PutTelemetryRecords"},
    }
    wildcard = {sid for sid, res in resources.items() if "*" in res}
    assert wildcard == {"XRayTraces"}
    assert resources["ReadStream"] == ["${var.stream.arn}"]
    assert resources["ReadThroughStreamConsumer"] == ["${statement.value}"]
    assert resources["WriteOwnLogs"] == ["${aws_cloudwatch_log_group.this.arn}:*"]


def test_checkov_skips_carry_a_reason() -> None:
    for path in TF_FILES:
        for line in path.read_text().splitlines():
            if "checkov:skip" in line:
                match = re.fullmatch(r"\s*#checkov:skip=(CKV2?_AWS_\d+):(.+)", line)
                assert match and len(match.group(2).split()) >= 8, f"{path}: {line.strip()}"
