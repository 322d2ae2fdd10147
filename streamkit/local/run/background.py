"""The exactly-once reference of ``streamkit run``, computed in a child process meanwhile.

Local tooling: never imported by a Lambda handler.

The reference (:func:`~streamkit.local.run.reference.expected_aggregates`: every
input record planned once by the pure core) needs only the records put on the
stream, so it need not wait for the consumers: :class:`BackgroundReference` computes
it in ``python -m streamkit.local.run.background`` while they run, on the core the
run leaves idle, and the summary takes the result (the same function on the same
input; only where and when it runs differ). The input and the result cross a pipe
pickled: parent and child are this same code.

Example::

    reference = BackgroundReference(run.consumer.handler, run.env, stream, run.placed)
    ...  # drive the consumer
    expected = reference.result()  # dict[AggregateKey, Stats]
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streamkit.aggregate import Stats
    from streamkit.local.run.reference import AggregateKey

__all__ = ["BackgroundReference"]

Placed = Mapping[str, list[tuple[int, str, bytes, float]]]


class BackgroundReference:
    """``expected_aggregates(handler, env, stream_name, placed)`` in a child process."""

    def __init__(
        self, handler: str, env: Mapping[str, str], stream_name: str, placed: Placed
    ) -> None:
        payload = pickle.dumps(
            (list(sys.path), handler, dict(env), stream_name, dict(placed)),
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "streamkit.local.run.background"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reference")
        self._future: Future[tuple[bytes, bytes]] = self._pool.submit(
            self._proc.communicate, payload
        )

    def result(self) -> dict[AggregateKey, Stats]:
        """The reference; RuntimeError (with the child's stderr) when it failed."""
        out, err = self._future.result()
        self._pool.shutdown()
        if self._proc.returncode != 0:
            tail = err.decode(errors="replace").strip()[-2000:]
            raise RuntimeError(
                f"the exactly-once reference failed (exit {self._proc.returncode}): {tail}"
            )
        result: dict[AggregateKey, Stats] = pickle.loads(out)
        return result

    def close(self) -> None:
        """Stop the child if it still runs (a run that ended early); safe to call twice."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._pool.shutdown(wait=True)


def _main() -> None:
    # The handler module may print on import: the pickled result goes to the original
    # stdout, everything else to stderr.
    result_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    path, handler, env, stream_name, placed = pickle.load(sys.stdin.buffer)
    sys.path[:] = path
    from streamkit.local.run.reference import expected_aggregates

    result: Any = expected_aggregates(handler, env, stream_name, placed)
    pickle.dump(result, result_out, protocol=pickle.HIGHEST_PROTOCOL)
    result_out.close()


if __name__ == "__main__":
    _main()
