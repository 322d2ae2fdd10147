"""What the shard's own ledger committed of a range Lambda discarded.

Lambda can discard a batch the ledger already committed: the invocation committed,
then timed out or crashed, and its retries did the same until the retries ran out or
the records passed ``MaximumRecordAgeInSeconds`` (spec 2.5.3). Re-processing such a
range would count its records twice, so recovery first asks the ledger's commit
journal (:meth:`streamkit.ledger.Ledger.journal`: one entry per generation, its
start and end positions) which positions of the range the shard committed.

The shard commits contiguously from its position (the pipeline plans from the first
record after it), so what it committed of one discarded range is a prefix of the
range; only after a discard does Lambda deliver records beyond uncommitted ones.
:func:`committed_prefix` finds the end of that prefix, and refuses (``JournalGap``)
when the journal cannot say: its entries expired (older than ``journal_days``), or
the commits predate the journal, or the committed positions are not a prefix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from streamkit.ledger import Intent, Ledger, Position
from streamkit.local.recover.consumer import RecoverError

Span = tuple[Position, Position]


class JournalGap(RecoverError):
    """The journal cannot tell which records of a discarded range the shard committed."""


def shard_ledger(ledger: Ledger, shard_id: str, stream: str) -> str:
    """The ledger shard holding ``stream``'s ``shard_id`` (another stream of the
    consumer may own the plain shard id's item: :meth:`Ledger.stream_shard`)."""
    owner = ledger.read(shard_id).stream
    return shard_id if owner in (None, stream) else Ledger.stream_shard(shard_id, stream)


def committed_prefix(
    ledger: Ledger, shard: str, records: Sequence[Mapping[str, Any]]
) -> Position | None:
    """The last position of ``records`` (a discarded range, in shard order) that the
    ledger item ``shard`` committed or holds in its pending intent, or None when it
    committed none of them.

    Raises :class:`JournalGap` when the journal lacks the entries to decide.
    """
    if not records:
        return None
    seqs = [int(r["kinesis"]["sequenceNumber"]) for r in records]
    first: Position = (seqs[0], 0)
    state = ledger.read(shard)
    pending: Span | None = _span_of(state.intent) if state.intent is not None else None
    if (state.position is None or state.position < first) and (
        pending is None or pending[1] < first
    ):
        return None  # every commit of the shard ends before the range
    last: Position = (seqs[-1], 1 << 62)
    # Committed positions all end before the range: only a pending intent can cover
    # it (no journal entry needed, so an old or expired journal does not matter).
    before = state.position is None or state.position < first
    spans = [] if before else _spans_from(ledger, shard, state.generation, first, last)
    if pending is not None:
        spans.append(pending)
    return _prefix_end(spans, seqs, last, shard)


def _span_of(intent: Intent) -> Span:
    return (intent.start, intent.end)


def _spans_from(
    ledger: Ledger, shard: str, generation: int, first: Position, last: Position
) -> list[Span]:
    """The journal spans of ``shard`` that may overlap ``first..last``: from the first
    generation ending at or after ``first`` up to ``generation`` (the committed one),
    in order.

    Binary search over generations (spans grow with the generation). A missing entry
    is treated as older than every present one (entries expire in generation order);
    the answer is refused when the entry that may cover ``first`` is missing.
    """
    if generation < 1:
        return []
    known: dict[int, Span | None] = {}

    def span(g: int) -> Span | None:
        if g not in known:
            known[g] = ledger.committed_span(shard, g)
        return known[g]

    lo, hi = 1, generation  # the first generation whose span ends at or after first
    while lo < hi:
        mid = (lo + hi) // 2
        found = span(mid)
        if found is None or found[1] < first:
            lo = mid + 1
        else:
            hi = mid
    start = span(lo)
    if start is None or (start[0] > first and lo > 1 and span(lo - 1) is None):
        missing = lo if start is None else lo - 1
        raise JournalGap(
            f"the commit journal of {shard} has no entry for generation {missing}: it "
            "expired (older than the ledger's journal_days) or was committed before the "
            "journal existed, so recovery cannot tell which records of the range the "
            "shard already committed; nothing of the range was re-processed"
        )
    if start[1] < first:
        return []  # every commit ends before the range (start is the last one)
    spans = [start]
    for g in range(lo + 1, generation + 1):
        found = span(g)
        if found is None:
            raise JournalGap(f"the commit journal of {shard} has no entry for generation {g}")
        if found[0] > last:
            break
        spans.append(found)
    return spans


def _prefix_end(spans: list[Span], seqs: list[int], last: Position, shard: str) -> Position | None:
    """The end of the contiguous run of ``spans`` covering the range from its first
    record; raises :class:`JournalGap` if a span covers a later part (a hole)."""

    def containing(pos: Position) -> Span | None:
        return next((s for s in spans if s[0] <= pos <= s[1]), None)

    end: Position | None = None
    for seq in seqs:
        if end is not None and end[0] >= seq:
            # In the run, or the run ends inside this record: if the next record is
            # covered too, this one had no further sub-records (commits are contiguous).
            continue
        covering = containing((seq, 0))
        if covering is None:
            break
        end = covering[1]
        # A commit may stop inside a KPL aggregate; the next one continues in it.
        while (after := containing((end[0], end[1] + 1))) is not None:
            end = after[1]
    holes = [s for s in spans if (end is None or s[0] > end) and s[0] <= last]
    if holes:
        raise JournalGap(
            f"{shard} committed {holes[0][0][0]}..{holes[0][1][0]} of the range but not the "
            "records before it: the committed part is not a prefix, so recovery cannot "
            "re-process the rest exactly once; inspect the range by hand"
        )
    return end
