"""What the shard's ledger committed of a discarded range, from the commit journal.

Lambda discards a batch the ledger may already have committed (the invocation
committed, then timed out; spec 2.5.3): ``streamkit recover`` must skip that part
(issue 10, class 7). These cases pin :func:`committed_prefix` on the in-memory
DynamoDB (the exactly-once proof runs it through the whole recover path).
"""

from __future__ import annotations

from typing import Any

import pytest

from streamkit.ledger import Intent, Ledger, Position
from streamkit.local.recover.committed import JournalGap, committed_prefix
from streamkit.testing.memory import MemoryAWS

SHARD = "shardId-000000000000"


@pytest.fixture
def ledger() -> Ledger:
    aws = MemoryAWS()
    aws.dynamodb.create_table("ledger", ("id",))
    return Ledger("ledger", "clicks", aws.clients)


def commit(ledger: Ledger, start: Position, end: Position, *, pending: bool = False) -> Intent:
    """Write and (unless ``pending``) commit the next generation covering start..end."""
    state = ledger.read(SHARD)
    intent = Intent("clicks", SHARD, state.generation + 1, start, end, None)
    ledger.write_intent(state, intent)
    if not pending:
        ledger.commit(intent)
    return intent


def records(*seqs: int) -> list[dict[str, Any]]:
    return [{"kinesis": {"sequenceNumber": str(s)}} for s in seqs]


def forget(ledger: Ledger, generation: int) -> None:
    """The journal entry of ``generation`` expired (DynamoDB TTL deleted it)."""
    ledger.clients("dynamodb").delete_item(
        TableName="ledger", Key={"id": {"S": f"clicks#{SHARD}#commit#{generation}"}}
    )


def test_commit_journals_its_span(ledger: Ledger) -> None:
    commit(ledger, (10, 0), (12, 0))
    assert ledger.committed_span(SHARD, 1) == ((10, 0), (12, 0))
    assert ledger.committed_span(SHARD, 2) is None


def test_a_range_after_every_commit_has_nothing_committed(ledger: Ledger) -> None:
    commit(ledger, (10, 0), (12, 0))
    assert committed_prefix(ledger, SHARD, records(13, 14)) is None
    assert committed_prefix(ledger, "shardId-000000000009", records(13, 14)) is None


def test_a_range_the_shard_committed_whole_is_skipped(ledger: Ledger) -> None:
    commit(ledger, (10, 0), (12, 0))
    commit(ledger, (13, 0), (20, 0))  # committed, then the invocation timed out
    commit(ledger, (30, 0), (31, 0))  # Lambda moved past the discarded 13..20
    assert committed_prefix(ledger, SHARD, records(13, 15, 20)) == (20, 0)


def test_the_committed_prefix_ends_where_the_commits_stop(ledger: Ledger) -> None:
    commit(ledger, (13, 0), (15, 0))  # 13..15 committed, 18 and 20 never
    commit(ledger, (30, 0), (31, 0))
    assert committed_prefix(ledger, SHARD, records(13, 15, 18, 20)) == (15, 0)


def test_a_commit_stopping_inside_a_kpl_aggregate(ledger: Ledger) -> None:
    commit(ledger, (13, 0), (15, 2))  # sub-records 0..2 of aggregate 15
    commit(ledger, (15, 3), (15, 4))  # the next commit continues inside it
    assert committed_prefix(ledger, SHARD, records(13, 15, 18)) == (15, 4)


def test_the_next_record_covered_means_the_aggregate_was_done(ledger: Ledger) -> None:
    commit(ledger, (13, 0), (15, 2))
    commit(ledger, (18, 0), (18, 0))  # starts at the next record: 15 had 3 sub-records
    assert committed_prefix(ledger, SHARD, records(13, 15, 18, 20)) == (18, 0)


def test_a_pending_intent_counts_as_committed(ledger: Ledger) -> None:
    commit(ledger, (10, 0), (12, 0))
    commit(ledger, (13, 0), (14, 0), pending=True)
    assert committed_prefix(ledger, SHARD, records(13, 14, 15)) == (14, 0)


def test_many_generations_are_searched_not_walked(ledger: Ledger) -> None:
    for g in range(60):
        commit(ledger, (100 + 10 * g, 0), (105 + 10 * g, 0))
    for g in range(1, 20):  # the oldest entries expired: they are not needed here
        forget(ledger, g)
    calls = []
    read = ledger.committed_span
    ledger.committed_span = lambda shard, g: calls.append(g) or read(shard, g)  # type: ignore[method-assign]
    assert committed_prefix(ledger, SHARD, records(400, 403, 405, 407)) == (405, 0)
    assert len(calls) <= 10, calls  # log2(60) probes and a few neighbours


def test_an_expired_entry_that_may_cover_the_range_is_refused(ledger: Ledger) -> None:
    commit(ledger, (10, 0), (12, 0))
    commit(ledger, (13, 0), (20, 0))
    commit(ledger, (30, 0), (31, 0))
    forget(ledger, 2)
    with pytest.raises(JournalGap, match="generation 2"):
        committed_prefix(ledger, SHARD, records(13, 15, 20))


def test_a_commit_journal_that_is_not_a_prefix_is_refused(ledger: Ledger) -> None:
    commit(ledger, (10, 0), (12, 0))
    commit(ledger, (18, 0), (20, 0))  # the range's later records, not its first
    with pytest.raises(JournalGap, match="not a prefix"):
        committed_prefix(ledger, SHARD, records(13, 15, 18, 20))


def test_no_journal_means_no_journal_writes() -> None:
    aws = MemoryAWS()
    aws.dynamodb.create_table("ledger", ("id",))
    quiet = Ledger("ledger", "clicks", aws.clients, journal_days=None)
    commit(quiet, (10, 0), (12, 0))
    assert quiet.read(SHARD).position == (12, 0)
    assert quiet.committed_span(SHARD, 1) is None


def test_a_pending_intent_after_every_commit_needs_no_journal(ledger: Ledger) -> None:
    commit(ledger, (10, 0), (19, 0))  # committed before the journal existed (or expired)
    forget(ledger, 1)
    commit(ledger, (20, 0), (24, 0), pending=True)  # blocked: the shard's intent covers it
    assert committed_prefix(ledger, SHARD, records(20, 22, 24, 30)) == (24, 0)
