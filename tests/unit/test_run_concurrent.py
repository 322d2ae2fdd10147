"""streamkit run's concurrency: consumers driven in threads, one shared status line."""

from __future__ import annotations

import io
import threading

import pytest

from streamkit.local.console import StatusLine
from streamkit.local.run.concurrent import SharedStatus, run_concurrently


def test_jobs_run_at_the_same_time() -> None:
    # Each job waits for the other: run one after the other, both would time out.
    barrier = threading.Barrier(2, timeout=30)
    met: list[str] = []

    def job(name: str) -> None:
        barrier.wait()
        met.append(name)

    run_concurrently({"a": lambda: job("a"), "b": lambda: job("b")})
    assert sorted(met) == ["a", "b"]


def test_every_job_ends_and_the_first_failure_is_raised() -> None:
    ran: list[str] = []

    def fails(name: str) -> None:
        ran.append(name)
        raise RuntimeError(name)

    with pytest.raises(RuntimeError, match=r"^a$"):
        run_concurrently(
            {"a": lambda: fails("a"), "b": lambda: fails("b"), "c": lambda: ran.append("c")}
        )
    assert sorted(ran) == ["a", "b", "c"]


def test_one_job_runs_in_this_thread() -> None:
    seen: list[threading.Thread] = []
    run_concurrently({"only": lambda: seen.append(threading.current_thread())})
    assert seen == [threading.current_thread()]


def test_the_shared_line_shows_each_consumer_and_keeps_each_final_status() -> None:
    out = io.StringIO()
    shared = SharedStatus(StatusLine(out, prefix="run: ", tty=True))
    a, b = shared.part("a"), shared.part("b")
    a.update("a 1")
    b.update("b 1")
    assert out.getvalue().endswith("a 1 | b 1")
    a.update("a 2")
    a.done()  # a's last status stays as a permanent line; b's goes on
    assert "run: a 2\n" in out.getvalue()
    assert out.getvalue().endswith("b 1")
    b.done()
    assert out.getvalue().endswith("run: b 1\n")
