"""The aggregate sink's writer threads: shared, kept between invocations, fork-safe."""

from __future__ import annotations

import multiprocessing
import os
import threading

import pytest

from streamkit.sinks import dynamodb


def _child_writes(out: multiprocessing.SimpleQueue[object]) -> None:
    # In the forked child: the parent's writer threads are not there.
    out.put(dynamodb._writers().submit(threading.get_ident).result(timeout=30))


def test_writers_are_shared_and_reused_between_calls() -> None:
    pool = dynamodb._writers()
    assert dynamodb._writers() is pool
    idents = {pool.submit(threading.get_ident).result() for _ in range(40)}
    assert threading.get_ident() not in idents  # the work ran on writer threads
    assert len(idents) <= dynamodb._WORKERS


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_a_forked_child_gets_writers_of_its_own() -> None:
    # Writer threads exist and are idle in the parent when it forks (as in the
    # local runner's worker processes): the child must start its own, not wait on
    # threads it does not have.
    parent = dynamodb._writers()
    parent.submit(int).result()
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.SimpleQueue[object] = ctx.SimpleQueue()
    child = ctx.Process(target=_child_writes, args=(out,))
    child.start()
    child.join(60)
    hung = child.is_alive()
    if hung:
        child.kill()
    assert not hung, "the forked child's write never ran"
    assert child.exitcode == 0
    assert isinstance(out.get(), int)
    assert dynamodb._writers() is parent  # the parent keeps its own
