"""``streamkit demo``: one batch through the processor, Lambda's retry included.

Local tooling: never imported by a Lambda handler.
"""

from __future__ import annotations

import contextlib
import io
import random
import time
from collections import Counter
from typing import Any

import orjson

from streamkit import InMemoryDeadLetters, PermanentError, Record, TransientError, run_batch
from streamkit.local.events import kinesis_event, kpl_aggregate


class Throttled(TransientError):
    """Stands in for a downstream throttle: transient, so Lambda retries."""


def build_batch(records: int, seed: int) -> tuple[dict[str, Any], int]:
    """A clickstream event with KPL, corrupt and invalid records mixed in.

    Returns the event and the number of user records it holds.
    """
    rnd = random.Random(seed)
    pages = [f"/product/{i}" for i in range(40)]
    weights = [1 / (i + 1) for i in range(len(pages))]  # a few pages are popular

    def click(i: int) -> bytes:
        page = rnd.choices(pages, weights)[0]
        return orjson.dumps({"type": "page", "user_id": f"u{rnd.randrange(300)}", "page": page})

    payloads = [click(i) for i in range(records)]
    aggregate = kpl_aggregate((f"u{i}", click(i), None) for i in range(50))
    corrupt = bytearray(kpl_aggregate((f"u{i}", click(i), None) for i in range(5)))
    corrupt[-3] ^= 0x55
    broken = [b"{not json", b'{"type": "page", "user_id": "u1"}', b"\x00\xff binary"]
    for i, extra in enumerate([aggregate, bytes(corrupt), *broken]):
        payloads.insert(rnd.randrange(len(payloads) + 1) if i else len(payloads) // 3, extra)
    return kinesis_event(payloads), records + 50 + 1 + len(broken)


def run_demo(records: int = 1000, seed: int = 1, as_json: bool = False) -> int:
    """Run the demo; print a summary; return 0 when every record ended exactly once."""
    event, user_records = build_batch(records, seed)
    page_views: Counter[str] = Counter()
    handled: Counter[str] = Counter()
    dlq = InMemoryDeadLetters()
    flaky_at = event["Records"][len(event["Records"]) * 2 // 3]["kinesis"]["sequenceNumber"]
    failed_once: set[str] = set()

    def handle(record: Record) -> None:
        doc = record.json()
        if not isinstance(doc, dict) or "page" not in doc or "user_id" not in doc:
            raise PermanentError("a page event needs page and user_id", reason="schema")
        if record.sequence_number == flaky_at and flaky_at not in failed_once:
            failed_once.add(flaky_at)
            raise Throttled("downstream throttled (simulated)")
        page_views[doc["page"]] += 1
        handled[record.id] += 1

    attempts: list[dict[str, Any]] = []
    started = time.perf_counter()
    batch = event
    out = io.StringIO()
    while True:
        with contextlib.redirect_stdout(out):  # Lambda would ship these lines to CloudWatch
            result = run_batch(batch, handle, dead_letters=dlq)
        c = result.counts
        attempts.append(
            {
                "records": c.received,
                "succeeded": c.succeeded,
                "dead_lettered": c.dead_lettered,
                "retried": c.retried,
                "response": result.response,
            }
        )
        retry_from = result.retry_sequence_number
        if retry_from is None or len(attempts) > 5:
            break
        # Lambda checkpoints at the reported record and re-delivers from it (spec 2.2.5).
        n = int(retry_from)
        batch = {
            "Records": [r for r in batch["Records"] if int(r["kinesis"]["sequenceNumber"]) >= n]
        }
    elapsed = time.perf_counter() - started

    dead = dlq.reasons()
    dead_ids = Counter(letter.record.id for letter in dlq.letters)
    outcomes = handled + dead_ids
    exactly_once = len(outcomes) == user_records and set(outcomes.values()) == {1}
    log_lines = out.getvalue().splitlines()
    summary = {
        "user_records": user_records,
        "attempts": attempts,
        "handled": sum(handled.values()),
        "dead_letters": dict(dead),
        "top_pages": page_views.most_common(5),
        "exactly_once": exactly_once,
        "emf_documents": sum(1 for line in log_lines if '"_aws"' in line),
        "log_lines": len(log_lines),
        "seconds": round(elapsed, 3),
    }
    if as_json:
        print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
    else:
        _print_summary(summary)
    return 0 if exactly_once else 1


def _print_summary(s: dict[str, Any]) -> None:
    print(f"streamkit demo: one batch of {s['user_records']} user records")
    for i, a in enumerate(s["attempts"], 1):
        failures = a["response"]["batchItemFailures"]
        answer = f"retry from {failures[0]['itemIdentifier'][-8:]}..." if failures else "all done"
        print(
            f"  attempt {i}: {a['records']:>6} records  {a['succeeded']:>6} ok  "
            f"{a['dead_lettered']:>3} dead-lettered  {a['retried']:>6} to retry  -> {answer}"
        )
    print(f"  handled exactly once: {s['handled']}")
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(s["dead_letters"].items())) or "none"
    print(f"  dead letters by reason: {reasons}")
    print("  top pages: " + ", ".join(f"{p} {n}" for p, n in s["top_pages"]))
    print(
        f"  observability: {s['log_lines']} log lines, {s['emf_documents']} EMF documents "
        f"({len(s['attempts'])} batches; nothing per record)"
    )
    verdict = "yes" if s["exactly_once"] else "NO"
    print(f"  check: every record handled or dead-lettered exactly once: {verdict}")
    print(f"  took {s['seconds']} s")
