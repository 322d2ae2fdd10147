"""A mapping's shards and their lineage: which exist, which may start, and where
each is read from (spec 4.9, 4.10, 4.12; simulator rule S4.12.1).

A mapping starts at its first run. The shards ListShards returns then are *listed
at the start* and read from the StartingPosition, closed parents and their
children alike: with LATEST only records written after the start are delivered
(the iterators of open shards are taken at the start, also for children still
waiting for their parents), with AT_TIMESTAMP nothing from before the timestamp on
any shard. A shard that appears later was created after the start, so the mapping
read its parents to their end (4.10): it starts at TRIM_HORIZON. A child starts
only once every parent it has is finished (read to its end, every lane resolved,
its window closed).
"""

from __future__ import annotations

from streamkit.local.clock import Clock
from streamkit.local.config import EsmSettings
from streamkit.local.esm.reads import ShardReads
from streamkit.local.esm.state import Lane, ShardState
from streamkit.local.shards import KinesisShardReader


class ShardLineage:
    """The stream's shards as one mapping knows them (``shards``, by shard id)."""

    def __init__(
        self, reader: KinesisShardReader, reads: ShardReads, settings: EsmSettings, clock: Clock
    ) -> None:
        self.reader = reader
        self.reads = reads
        self.settings = settings
        self.clock = clock
        self.shards: dict[str, ShardState] = {}

    def start(self) -> None:
        """List the shards at the mapping's start; LATEST iterators are taken now."""
        self.discover()
        for shard in self.shards.values():
            shard.at_start = True
        if self.settings.starting_position == "LATEST":
            # Spec 4.12: LATEST means after the mapping started, on every open shard,
            # children that must wait for their parents (4.10) included.
            for shard in self.shards.values():
                if not shard.info.closed:
                    self.reads.open(shard.info.shard_id, "LATEST", None)

    def discover(self) -> None:
        """ListShards again: new shards (created since the start), closed ones."""
        for info in self.reader.shards():
            shard = self.shards.get(info.shard_id)
            if shard is None:
                self.shards[info.shard_id] = ShardState(info)
            else:
                shard.info = info

    def parents_finished(self, shard: ShardState) -> bool:
        """Spec 4.10: children start only after every parent is fully processed."""
        for parent_id in shard.info.parent_ids:
            parent = self.shards.get(parent_id)
            if parent is not None and not (parent.started and parent.finished):
                return False
        return True

    def open(self, shard: ShardState) -> None:
        """Start ``shard``: its iterator (unless taken at the start) and its lanes."""
        settings = self.settings
        shard_id = shard.info.shard_id
        if not self.reader.is_open(shard_id):
            # Spec 4.12: a shard listed at the start is read from the StartingPosition;
            # one created since (its parents read to the end by this mapping, 4.10)
            # from TRIM_HORIZON.
            position = settings.starting_position if shard.at_start else "TRIM_HORIZON"
            self.reads.open(shard_id, position, settings.starting_position_timestamp)
        shard.started = True
        # S4.13: a child's first invocation waits for its parents' last to end.
        now = max(
            [self.clock.now()]
            + [
                lane.busy_until
                for parent_id in shard.info.parent_ids
                if (parent := self.shards.get(parent_id)) is not None
                for lane in parent.lanes
            ]
        )
        shard.lanes = [Lane(shard_id, i, now) for i in range(settings.parallelization_factor)]
