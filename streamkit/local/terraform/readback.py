"""What was deployed, read back through the AWS APIs in the config's own terms.

An event source mapping as ``GetEventSourceMapping`` / ``ListEventSourceMappings``
returns it becomes an :class:`~streamkit.local.config.EsmSettings`, so it compares
field by field with the consumer's ``event_source_mapping`` of ``consumers.json``:

* ``State`` -> ``Enabled`` (``Disabled``/``Disabling`` are false, every other state,
  ``Enabled``, ``Enabling``, ``Creating``, ``Updating``, true: spec 0.7);
* the on-failure destination's ARN -> the logical ``{type, name}`` reference;
* a field the response leaves out takes its AWS default (spec 0.2), exactly as the
  config loader fills in a field the file leaves out. AWS echoes every field; moto
  echoes only those of the create request (the provider leaves out
  ``TumblingWindowInSeconds`` 0, for one), which is the same thing after defaults.
  A field that differs from its default is never filled in, so a setting Terraform
  dropped still shows as a difference.

Example::

    lam = boto3.client("lambda")
    mapping = lam.list_event_source_mappings(FunctionName="streamkit-iot")["EventSourceMappings"][0]
    tags = lam.list_tags(Resource=mapping["EventSourceMappingArn"])["Tags"]
    deployed_esm(mapping, tags=tags) == load_consumers()["iot"].event_source_mapping
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from streamkit.local.config import ESM_FIELDS, DestinationRef, EsmSettings

__all__ = ["DISABLED_STATES", "deployed_esm", "destination_ref"]

#: ESM states in which Lambda does not poll (spec 0.7).
DISABLED_STATES: Final = frozenset({"Disabled", "Disabling"})


def destination_ref(arn: str) -> DestinationRef:
    """The logical on-failure destination of an SQS queue, SNS topic or S3 bucket ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[5]:
        raise ValueError(f"not an ARN: {arn!r}")
    service, resource = parts[2], parts[5]
    plain = "/" not in resource and ":" not in resource
    if service == "sqs" and plain:
        return DestinationRef("sqs", resource)
    if service == "sns" and plain:
        return DestinationRef("sns", resource)
    if service == "s3" and "/" not in resource:
        return DestinationRef("s3", resource)
    raise ValueError(f"{arn!r} is not an SQS queue, SNS topic or S3 bucket ARN (spec 3.2)")


def deployed_esm(
    mapping: Mapping[str, Any], *, tags: Mapping[str, str] | None = None
) -> EsmSettings:
    """The settings of a deployed Kinesis event source mapping (see the module doc).

    ``tags``: the mapping's tags (``ListTags``; AWS does not return them with the
    mapping); None takes ``mapping["Tags"]`` where the endpoint returns it, else none.
    """
    doc: dict[str, Any] = {
        field: mapping[field]
        for field in ESM_FIELDS
        if field in mapping and field not in ("DestinationConfig", "Enabled", "Tags")
    }
    if "State" in mapping:
        doc["Enabled"] = mapping["State"] not in DISABLED_STATES
    arn = mapping.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    if arn:
        ref = destination_ref(arn)
        doc["DestinationConfig"] = {"OnFailure": {"Destination": ref.to_api()}}
    if doc.get("FilterCriteria") == {} or doc.get("FilterCriteria", {}).get("Filters") == []:
        doc.pop("FilterCriteria")
    found_tags = tags if tags is not None else mapping.get("Tags")
    if found_tags:
        doc["Tags"] = dict(found_tags)
    timestamp = doc.get("StartingPositionTimestamp")
    if timestamp is not None and not isinstance(timestamp, int | float):
        doc["StartingPositionTimestamp"] = timestamp.timestamp()  # boto3 gives a datetime
    return EsmSettings.from_api(doc)
