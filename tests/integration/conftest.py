"""Fixtures shared by the pipeline's integration tests."""

from __future__ import annotations

from typing import Any

import pytest

from streamkit.local.aws import DynamoDbTable, LocalAWS, S3Bucket


@pytest.fixture
def stores(aws: LocalAWS) -> Any:
    """The embedded endpoint with a pipeline's tables and buckets: ledger ``ledger``,
    aggregates ``aggs``, buckets ``archive-bucket`` and ``dlq-bucket``; its clients."""
    for r in (
        DynamoDbTable.ledger("ledger"),
        DynamoDbTable.aggregates("aggs"),
        S3Bucket("archive-bucket"),
        S3Bucket("dlq-bucket"),
    ):
        r.create(aws.clients)
    return aws.clients
