"""The options the simulator takes where AWS behaviour is unconfirmed (spec section 9).

Each constant below is one open point: what AWS documents (or does not), the option
the simulator takes, and why. The simulator's code reads these constants and
nothing else for these decisions, so once real AWS output is recorded a choice is
changed here, in one place; each has a test in
``tests/integration/esm/test_choices.py`` named after it that pins the current
value's behaviour (flipping a constant flips exactly that test). The rules are
written down in ``docs/simulator.md``, section "Open points" (S9.x).

Example (a test trying the other option of a choice)::

    from streamkit.local.esm import choices

    monkeypatch.setattr(choices, "EMIT_ENCRYPTION_TYPE", True)
"""

from __future__ import annotations

from typing import Final, Literal

#: S9.3 (spec 3.4, 9.3): the S3 on-failure object's ``payload`` (the invocation
#: event) is a JSON *string* holding the event (True), not a nested JSON object
#: (False). AWS's documentation calls it "an escaped JSON string"; no recorded
#: object contradicts it. Read by :class:`~streamkit.local.esm.outcomes.RecordOutcomes`.
S3_PAYLOAD_AS_STRING: bool = True

#: S9.12 (spec 2.3.5): on-failure records of a bisected batch are *not* merged
#: (False): each discarded part of the batch (after bisection, usually single
#: records) gets its own on-failure document. With True, the consecutive discards of
#: one bisection (same condition, nothing processed in between) become one document
#: that names their whole range, sent when the bisection ends or anything else is
#: resolved on the shard. AWS's documentation says Lambda "consolidates" the
#: metadata, so ``batchSize`` may be above 1, but not which parts it merges; one
#: document per discarded batch is the reading that never describes a record that
#: was processed. Read by :class:`~streamkit.local.esm.outcomes.RecordOutcomes`.
MERGE_BISECTED_FAILURES: bool = False

#: S9.6 (spec 1.2.4, 9.6): the final invocation of a tumbling window carries an
#: empty ``Records`` array (True). AWS documents the final invocation and its flag
#: but not its records; an empty array keeps every record in exactly one ordinary
#: invocation, so the handler's aggregation code is the same for every record. The
#: other reading (the window's last records arrive in the final invocation) is not
#: implemented: the simulator refuses to start with False, naming this constant.
#: Read by :class:`~streamkit.local.esm.windows.Windows`.
FINAL_WINDOW_INVOKE_EMPTY: bool = True

#: S9.9b (spec 1.1, 9.9): the event's records carry no ``kinesis.encryptionType``
#: (False). aws-lambda-go models the field (omitempty), but no documented or recorded
#: Lambda event contains it, for SSE-KMS streams either. With True, a record read
#: with an ``EncryptionType`` (GetRecords) carries it, as Kinesis returns it
#: (``KMS`` / ``NONE``). Read by :class:`~streamkit.local.esm.events.EventEncoder`.
EMIT_ENCRYPTION_TYPE: bool = False

#: S9.8 (spec 4.5, 9.8): what happens to a single record whose event exceeds the
#: 6 MB invoke limit (possible since Kinesis accepts 10 MiB records).
#: ``"retry"`` (the choice): the invoke request is refused before the function runs,
#: as any payload over the limit is, so it is a service error: retried with
#: back-off, never counted as an attempt (spec 2.1.3), until the record ages out
#: (MaximumRecordAgeInSeconds, retention), which with infinite age ends in the
#: stuck-shard error. ``"discard"``: the record is discarded at once and reported
#: to the on-failure destination (RetryAttemptsExhausted), as if Lambda gave up on
#: it. AWS documents neither. Read by :class:`~streamkit.local.esm.mapping.EventSourceMapping`.
OversizeRecord = Literal["retry", "discard"]
OVERSIZE_RECORD: OversizeRecord = "retry"

#: Every choice's name, for the docs test: each must be described in docs/simulator.md.
ALL: Final = (
    "S3_PAYLOAD_AS_STRING",
    "MERGE_BISECTED_FAILURES",
    "FINAL_WINDOW_INVOKE_EMPTY",
    "EMIT_ENCRYPTION_TYPE",
    "OVERSIZE_RECORD",
)
