"""The sinks' clients skip botocore's client-side parameter validation (CPU, issue 13):
a malformed request still fails loudly, refused by the service, never written."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from streamkit.local.aws import DynamoDbTable, LocalAWS
from streamkit.sinks.clients import Clients


def test_a_malformed_request_is_refused_by_the_service(aws: LocalAWS) -> None:
    table = DynamoDbTable.aggregates("sink-clients-aggregates")
    table.ready(aws.clients, wait=True, created=table.create(aws.clients))
    ddb = Clients()("dynamodb")
    bad_items = {
        # a number as S: botocore's validator would raise ParamValidationError here,
        # before sending; without it the service refuses the request
        "SerializationException": {"pk": {"S": 1}, "sk": {"S": "w"}},
        "ValidationException": {"pk": {"S": "a#k"}},  # no sort key
    }
    for code, item in bad_items.items():
        with pytest.raises(ClientError) as refused:
            ddb.put_item(TableName=table.name, Item=item)
        assert refused.value.response["Error"]["Code"] == code
    assert ddb.scan(TableName=table.name)["Count"] == 0  # nothing was written
