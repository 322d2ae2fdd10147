"""A faithful simulator of Lambda's Kinesis event source mapping (ESM).

It polls a real (usually local) Kinesis endpoint with ListShards, GetShardIterator
and GetRecords, and invokes a handler with exactly Lambda's event shape (spec 1.1,
1.2), following every numbered
rule of ``shared/spec/lambda-kinesis-esm.md`` sections 2 to 6. Rule numbers are
cited where they apply. The handler runs in this process (``execution="inline"``,
with a Lambda-like context, for tests that inspect its state) or in Lambda-like
execution environments, one worker process per shard under AWS's runtime
interface client (``execution="process"``, spec 10; see
:mod:`streamkit.local.runtime`).

Example::

    from streamkit.local.esm import EventSourceMapping
    from streamkit.local.config import EsmSettings

    esm = EventSourceMapping(
        handler, EsmSettings("TRIM_HORIZON", batch_size=100,
                             function_response_types=("ReportBatchItemFailures",)),
        kinesis_client, "clickstream",
    )
    stats = esm.run()          # until every record is processed, filtered or discarded
    assert stats.unresolved == 0

One job per module:

* :mod:`~streamkit.local.esm.mapping`: :class:`EventSourceMapping`, polling,
  scheduling and the verdict on each invocation;
* :mod:`~streamkit.local.esm.lineage`: the shards, which may start, and from which
  position (spec 4.10, 4.12);
* :mod:`~streamkit.local.esm.reads`: reads as Lambda's poller does them (back-off
  on throttled and failed reads, retention); :mod:`~streamkit.local.esm.read_limits`:
  the per-shard read limits a stream's mappings share (``read_limits=True``);
* :mod:`~streamkit.local.esm.together`: :func:`run_together`, several mappings at
  once on one virtual clock;
* :mod:`~streamkit.local.esm.batching`: when a batch is due and where it is cut;
* :mod:`~streamkit.local.esm.events`: the invocation event, byte for byte;
* :mod:`~streamkit.local.esm.invoker`: one invocation, the context, faults;
* :mod:`~streamkit.local.esm.responses`: what a response means;
* :mod:`~streamkit.local.esm.retries`: bisection, back-off, retry and age limits;
* :mod:`~streamkit.local.esm.outcomes`: checkpoints and discards;
* :mod:`~streamkit.local.esm.windows`: tumbling windows;
* :mod:`~streamkit.local.esm.state`, :mod:`~streamkit.local.esm.stats`,
  :mod:`~streamkit.local.esm.limits`: shard and lane state, run totals, Lambda's
  limits.

Choices where the spec marks a fact unconfirmed (section 9), each tested. The
open points of ``docs/simulator.md`` section 9 (S3 ``payload``, merged bisection
failures, the final window invocation, ``encryptionType``, a record over 6 MB) are
named constants in :mod:`~streamkit.local.esm.choices`:

* 9.1 / 2.2.8: a partial response that moves the checkpoint forward starts a new,
  smaller batch with a fresh retry counter; one that does not move it counts as a
  failed attempt (``mapping``). 2.3.6: each half of a bisected batch gets a fresh
  counter, and bisection continues down to single records before retries are
  counted (``retries``).
* 9.2 / 2.1.6: retry back-off is 1 s, doubling, capped at 10 s (about 8
  invocations in 60 s, as observed) (``retries``).
* 9.6 / 1.2.3-1.2.4: a window's first invocation gets ``state: {}``; the final
  invocation of a window carries an empty ``Records`` array (``windows``).
* 9.8 / 4.5: a single record whose event exceeds 6 MB cannot be invoked; it is
  treated as a service error (retried until the record expires, never counted as
  an attempt), which with infinite age ends in the stuck-shard error (``mapping``).
* 2.2.3-2.2.4: with ReportBatchItemFailures, a response that is not a JSON object,
  null, "" or [] (say, a non-empty string) is a complete failure (``responses``).
* 4.10 / 9.7: a child shard starts only after all its parents are finished
  (``mapping``); 4.12: shards listed when the mapping starts are read from its
  StartingPosition, shards created later from TRIM_HORIZON (``mapping``); 1.2.7: a
  shard end closes its tumbling window at once (``batching``).
* 7.9: failed reads back off 1 s doubling to 10 s and never fail the mapping;
  records past the stream's retention on the simulator's clock are ``expired``
  (``reads``). 7.2: the read limits are a sliding window of 5 calls per second and
  a 2 MiB token bucket per shard (``read_limits``). Rule numbers S7.10-S7.12 in
  ``docs/simulator.md``.

The simulator runs on a virtual clock by default (no sleeping); see
:mod:`streamkit.local.clock`. There each lane (shard) has its own timeline: the time
a handler takes passes only on its lane, as shards are processed concurrently on
AWS (S4.13). On the virtual clock each :meth:`~EventSourceMapping.run`
reads every shard to its tip and processes what it found (a replay); records
written during a run are picked up by the next run. On a
:class:`~streamkit.local.clock.RealClock` idle shards are polled about once per
second for new records (spec 4.1).
"""

from streamkit.local.esm.invoker import Handler, LambdaContext
from streamkit.local.esm.limits import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    MAX_EVENT_BYTES,
    MAX_STATE_BYTES,
    POLL_INTERVAL,
    WINDOW_IDLE_WAIT,
)
from streamkit.local.esm.mapping import EventSourceMapping
from streamkit.local.esm.read_limits import StreamReadLimits, shared_read_limits
from streamkit.local.esm.retries import StuckShardError
from streamkit.local.esm.stats import (
    DISCARDED,
    EXPIRED,
    FILTERED,
    PROCESSED,
    EsmStats,
    InvocationLog,
)
from streamkit.local.esm.together import run_together

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "DISCARDED",
    "EXPIRED",
    "FILTERED",
    "MAX_EVENT_BYTES",
    "MAX_STATE_BYTES",
    "POLL_INTERVAL",
    "PROCESSED",
    "WINDOW_IDLE_WAIT",
    "EsmStats",
    "EventSourceMapping",
    "Handler",
    "InvocationLog",
    "LambdaContext",
    "StreamReadLimits",
    "StuckShardError",
    "run_together",
    "shared_read_limits",
]
