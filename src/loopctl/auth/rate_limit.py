"""Sliding-window rate limits shared by every server process through PostgreSQL.

Each process counts hits in memory and, every sync interval, adds its new hits to
``rate_limit_counters`` and reads back the totals of all processes. A decision therefore
never waits for the database, and the limit holds across processes up to what the other
processes admitted during one sync interval.

The window is a sliding-window estimate: the previous window's hits weighted by how much
of it still overlaps the last ``window`` seconds, plus the current window's hits.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from loopctl.auth import repository
from loopctl.auth.keys import KeyHasher
from loopctl.database.connections import ConnectionSource, tenant_transaction


@dataclass
class _Bucket:
    digest: bytes
    window: int
    pending: dict[int, int] = field(default_factory=dict)  # hits not yet written
    shared: dict[int, int] = field(default_factory=dict)  # all processes, at the last sync

    def total(self, start: int) -> int:
        return self.shared.get(start, 0) + self.pending.get(start, 0)


class RateLimiter:
    def __init__(self, hasher: KeyHasher, clock: Callable[[], float] = time.time) -> None:
        self._hasher = hasher
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._syncs = 0

    def _bucket(self, name: str, window: int) -> _Bucket:
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = _Bucket(self._hasher.bucket(name), window)
            self._buckets[name] = bucket
        return bucket

    def _wait(self, bucket: _Bucket, limit: int, now: float) -> int | None:
        """Seconds until one more hit fits under ``limit``, or None if it fits now."""
        window = bucket.window
        start = int(now // window) * window
        elapsed = (now - start) / window
        current = bucket.total(start)
        previous = bucket.total(start - window)
        if current + previous * (1 - elapsed) + 1 <= limit:
            return None
        if current + 1 > limit:
            # Wait for the next window, then until this window's weight has decayed enough.
            decay = max(0.0, 1 - (limit - 1) / current) if current else 0.0
            seconds = (start + window - now) + window * decay
        else:
            seconds = window * (1 - (limit - 1 - current) / previous) - (now - start)
        return max(1, math.ceil(seconds))

    def hit(self, name: str, limit: int, window: int = 60) -> int | None:
        """Count one hit if it fits; otherwise count nothing and return the seconds to wait."""
        now = self._clock()
        bucket = self._buckets.get(name) or self._bucket(name, window)
        start = int(now // window) * window
        pending = bucket.pending
        current = bucket.shared.get(start, 0) + pending.get(start, 0)
        # The common case, decided here without _wait's arithmetic: the current window alone
        # leaves room even if all of the previous window still counted.
        if current + bucket.total(start - window) + 1 <= limit:
            pending[start] = pending.get(start, 0) + 1
            return None
        wait = self._wait(bucket, limit, now)
        if wait is None:
            pending[start] = pending.get(start, 0) + 1
        return wait

    def exceeded(self, name: str, limit: int) -> int | None:
        """The seconds to wait if ``name`` is already at its limit, without counting a hit.

        The window is the one the bucket was made with (by ``hit`` or ``add``)."""
        bucket = self._buckets.get(name)
        return None if bucket is None else self._wait(bucket, limit, self._clock())

    def add(self, name: str, window: int = 60) -> None:
        """Count a hit unconditionally (failed authentications)."""
        now = self._clock()
        bucket = self._bucket(name, window)
        start = int(now // window) * window
        bucket.pending[start] = bucket.pending.get(start, 0) + 1

    async def sync(self, source: ConnectionSource) -> None:
        """Publish this process's new hits and read every process's totals."""
        now = self._clock()
        snapshot = {
            (name, start): hits
            for name, bucket in self._buckets.items()
            for start, hits in bucket.pending.items()
            if hits
        }
        by_digest = {bucket.digest: name for name, bucket in self._buckets.items()}
        oldest = int(now) - 2 * max((b.window for b in self._buckets.values()), default=60)
        self._syncs += 1
        async with tenant_transaction(source, None) as conn:
            if snapshot:
                rows = sorted(
                    (self._buckets[name].digest, start, self._buckets[name].window, hits)
                    for (name, start), hits in snapshot.items()
                )
                await repository.add_hits(conn, rows)
            totals = await repository.read_hits(conn, list(by_digest), oldest)
            if self._syncs % 60 == 0:
                await repository.prune_hits(conn, int(now))
        for (name, start), hits in snapshot.items():
            bucket = self._buckets[name]
            bucket.pending[start] -= hits
        for bucket in self._buckets.values():
            bucket.shared = {}
        for digest, start, hits in totals:
            self._buckets[by_digest[digest]].shared[start] = hits
        self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        for name in list(self._buckets):
            bucket = self._buckets[name]
            bucket.pending = {s: h for s, h in bucket.pending.items() if h}
            live = int(now // bucket.window) * bucket.window - bucket.window
            if not bucket.pending and all(start < live for start in bucket.shared):
                del self._buckets[name]
