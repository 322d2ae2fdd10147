"""What a function's response means for its batch (spec 2.2, 1.2.8)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from streamkit.local.config import EsmSettings
from streamkit.local.shards import StreamRecord

#: ``success``: the whole batch is done; ``failure``: none of it is; ``partial``:
#: records before the lowest reported sequence number are done.
Verdict = Literal["success", "failure", "partial"]


def classify_response(
    response: Any,
    records: Sequence[StreamRecord],
    settings: EsmSettings,
    shown_sequence: Callable[[StreamRecord], str] | None = None,
) -> tuple[Verdict, int | None, str]:
    """The verdict on a normal return, the lowest failed sequence number (for
    ``partial``) and why: what makes the response a failure, or which record is the
    lowest failed one.

    ``shown_sequence`` gives the sequence number the handler saw for each record
    (a replay's captured one); the handler's identifiers are matched against those,
    and the lowest failed record is returned by its own (emulator) number, the one
    the lane checkpoints with.
    """
    if settings.tumbling_window_in_seconds and not (
        isinstance(response, dict) and isinstance(response.get("state"), dict)
    ):
        return "failure", None, "tumbling-window response without a state object (spec 1.2.8)"
    if not settings.report_batch_item_failures:
        return "success", None, ""  # spec 2.2.1: the response body is ignored
    if response is None or response == "" or response == [] or response == {}:
        return "success", None, ""  # spec 2.2.3
    if not isinstance(response, dict):
        return "failure", None, f"response is not a JSON object: {response!r:.80}"
    failures = response.get("batchItemFailures")
    if failures is None or failures == []:
        return "success", None, ""
    if not isinstance(failures, list):
        return "failure", None, "batchItemFailures is not a list"
    shown = shown_sequence or _own_sequence
    in_batch: dict[str, int] = {}
    for r in records:
        # A number shown twice (a capture holding a record twice) means the first:
        # retrying from earlier re-delivers more, never skips a record.
        in_batch.setdefault(shown(r), r.seq)
    lowest: int | None = None
    lowest_shown = ""
    for item in failures:
        # Spec 2.2.4: empty/null identifier, wrong key, or one not in the batch
        # fails the whole batch.
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(ident, str) or not ident or ident not in in_batch:
            return "failure", None, f"invalid batchItemFailures entry {item!r:.80}"
        n = in_batch[ident]
        if lowest is None or n < lowest:
            lowest, lowest_shown = n, ident
    return "partial", lowest, f"lowest failed {lowest_shown}"


def _own_sequence(rec: StreamRecord) -> str:
    return rec.sequence_number
