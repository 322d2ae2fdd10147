"""The JSON Schema of ``infra/consumers.json``, generated from the pydantic models.

``infra/consumers.schema.json`` is this schema, checked in so that editors validate
the config as it is typed (the file names it as its ``$schema``). Regenerate it after
changing the models; a unit test fails while the two differ::

    python -m streamkit.local.config.schema > infra/consumers.schema.json

The schema says the shape, types, ranges and patterns. Rules the models check in
validators (a timestamp only with AT_TIMESTAMP, destination names by type, streams
shared alike, streamkit's ParallelizationFactor 1 and ReportBatchItemFailures) are
checked by :func:`~streamkit.local.config.load.load_consumers` only.
"""

from __future__ import annotations

import json
from typing import Any, Final

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from streamkit.local.config.errors import not_null
from streamkit.local.config.models import ConsumersModel

DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


class _FileSchema(GenerateJsonSchema):
    """pydantic's schema, saying "may be left out" rather than "may be null".

    The models type optional fields as ``X | None`` and refuse an explicit null with
    :func:`~.errors.not_null`; in the file such a field is simply absent, so the
    schema gives ``X`` and no ``"default": null``.
    """

    def function_before_schema(
        self, schema: core_schema.BeforeValidatorFunctionSchema
    ) -> JsonSchemaValue:
        inner = schema["schema"]
        if schema["function"]["function"] is not_null and inner["type"] == "nullable":
            return self.generate_inner(inner["schema"])
        return super().function_before_schema(schema)

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # the key says it; pydantic's titles ("Batchsize") only add noise

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        # A map with a key pattern (consumer names, variable names) refuses other keys.
        json_schema = super().dict_schema(schema)
        if "patternProperties" in json_schema:
            json_schema.setdefault("additionalProperties", False)
        return json_schema

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        if schema.get("default", ...) is None:
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)


def consumers_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the consumer config file."""
    schema = ConsumersModel.model_json_schema(by_alias=True, schema_generator=_FileSchema)
    return {"$schema": DIALECT, **schema}


def main() -> None:
    """Print the schema as it is checked in."""
    print(json.dumps(consumers_json_schema(), indent=2))


if __name__ == "__main__":
    main()
