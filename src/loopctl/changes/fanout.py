"""The live streams' fan-out: per process, one reader per tenant that has streams.

On each notification for its tenant the reader reads the new events once (as the app role,
with the tenant set, unfiltered), encodes each as a Server-Sent Events frame once, and hands
the same frames to every stream of the tenant in this process. Each stream keeps its own
position and filters: it takes the frames after its position that its filters match. A
stream joins only at or after the reader's position, so it can neither miss an event the
reader already handed out nor get one twice; one behind the reader reads the gap for itself
first (``stream.py``). A stream that falls ``BACKLOG_EVENTS`` behind (a client that does
not read) is dropped by the reader and reads for itself again, so it holds up no one else.
"""

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

from sse_starlette import ServerSentEvent

from loopctl.changes.notifier import ChangeNotifier
from loopctl.changes.repository import FeedRow
from loopctl.changes.service import (
    MAX_LIMIT,
    NO_FILTERS,
    Filters,
    Page,
    Position,
    encode,
    read_from,
)
from loopctl.database.connections import ConnectionSource, tenant_transaction

FIRST_RETRY_SECONDS = 0.005
LAST_RETRY_SECONDS = 0.5
BACKLOG_EVENTS = 10_000
log = logging.getLogger(__name__)


def frame(row: FeedRow) -> bytes:
    """One event as a Server-Sent Events frame: its cursor as id, its JSON as data."""
    return ServerSentEvent(data=row.body, event="change", id=encode(row.txid, row.id)).encode()


@dataclass(frozen=True, slots=True)
class Batch:
    """Events a reader read in one page: every event of the tenant after the previous
    batch's end, up to ``end``, with each one's frame."""

    end: Position
    rows: list[FeedRow]
    frames: list[bytes]


class Subscription:
    """One stream's place in a reader's fan-out."""

    def __init__(self, position: Position) -> None:
        # Every event up to here was sent to the client or left out by its filters.
        self.position = position
        self.dropped = False
        self.reader_failed = False
        self._batches: deque[Batch] = deque()
        self._backlog = 0
        self._ready = asyncio.Event()

    def offer(self, batch: Batch) -> None:
        if self._backlog + len(batch.rows) > BACKLOG_EVENTS:
            self.drop()
            return
        self._batches.append(batch)
        self._backlog += len(batch.rows)
        self._ready.set()

    def drop(self, *, reader_failed: bool = False) -> None:
        """Stop handing this stream events: it reads from its position itself instead."""
        self.dropped = True
        self.reader_failed = reader_failed
        self._batches.clear()
        self._backlog = 0
        self._ready.set()

    async def follow(self, filters: Filters) -> AsyncIterator[bytes]:
        """The frames handed to this stream that its filters match, until it is dropped."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            if self.dropped:
                return
            chunk = self._take(filters)
            if chunk:
                yield chunk

    def _take(self, filters: Filters) -> bytes:
        parts = []
        while self._batches:
            batch = self._batches.popleft()
            for row, data in zip(batch.rows, batch.frames, strict=True):
                if (row.txid, row.id) > self.position and filters.match(row):
                    parts.append(data)
            self.position = max(self.position, batch.end)
        self._backlog = 0
        return b"".join(parts)


class TenantReader:
    """Reads one tenant's new events once per wake-up for every stream of it in the process."""

    def __init__(
        self,
        source: ConnectionSource,
        notifier: ChangeNotifier,
        tenant_id: UUID,
        position: Position,
    ) -> None:
        self.tenant_id = tenant_id
        # Every event of the tenant up to here has been handed out.
        self.position = position
        self.failed = False
        self._source = source
        self._notifier = notifier
        self._subscriptions: set[Subscription] = set()
        # Subscribed before the first read: a commit after it wakes the reader.
        self._waiter = notifier.subscribe(tenant_id)
        self.task = asyncio.create_task(self._run())

    @property
    def idle(self) -> bool:
        return not self._subscriptions

    @property
    def following(self) -> int:
        return len(self._subscriptions)

    def join(self, position: Position) -> Subscription | None:
        """A subscription handing out the events after ``position``; None if this reader
        is already past it (the stream must read up to here itself first)."""
        if self.failed or position < self.position:
            return None
        subscription = Subscription(position)
        self._subscriptions.add(subscription)
        return subscription

    def leave(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    async def _run(self) -> None:
        retry = FIRST_RETRY_SECONDS
        try:
            while True:
                self._waiter.event.clear()
                async with tenant_transaction(self._source, self.tenant_id) as conn:
                    page, waiting = await read_from(
                        conn, self.position, None, NO_FILTERS, MAX_LIMIT, probe=True
                    )
                self._publish(page)
                if page.has_more:
                    continue
                if waiting:
                    # Rows wait above the horizon, and the transaction holding it may end
                    # without notifying this tenant: read again soon (docs/architecture.md).
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._waiter.event.wait(), retry)
                    retry = min(retry * 2, LAST_RETRY_SECONDS)
                    continue
                retry = FIRST_RETRY_SECONDS
                await self._waiter.event.wait()
        except Exception:
            log.exception("the change reader of a tenant failed; its streams read for themselves")
            self.failed = True
            for subscription in self._subscriptions:
                subscription.drop(reader_failed=True)
            self._subscriptions.clear()
        finally:
            self._notifier.unsubscribe(self._waiter)

    def _publish(self, page: Page) -> None:
        self.position = page.next_position
        if not page.rows:
            return
        batch = Batch(page.next_position, page.rows, [frame(row) for row in page.rows])
        for subscription in list(self._subscriptions):
            subscription.offer(batch)
            if subscription.dropped:
                self._subscriptions.discard(subscription)


class ChangeStreams:
    """The process's live streams: one listener (``notifier.py``) and a reader per tenant."""

    def __init__(self, source: ConnectionSource, url: str) -> None:
        self.source = source
        self.notifier = ChangeNotifier(url)
        self._readers: dict[UUID, TenantReader] = {}
        self._stopping: set[asyncio.Task[None]] = set()

    def join(self, tenant_id: UUID, position: Position) -> Subscription | None:
        """Hand the tenant's events after ``position`` to a stream from now on; None if the
        tenant's reader is past ``position`` already."""
        reader = self._readers.get(tenant_id)
        if reader is None or reader.failed:
            reader = TenantReader(self.source, self.notifier, tenant_id, position)
            self._readers[tenant_id] = reader
        return reader.join(position)

    def leave(self, tenant_id: UUID, subscription: Subscription) -> None:
        reader = self._readers.get(tenant_id)
        if reader is None:
            return
        # Also when the reader dropped it already: a reader no stream follows stops.
        reader.leave(subscription)
        if reader.idle:
            del self._readers[tenant_id]
            self._stop(reader)

    def readers(self) -> int:
        """How many tenants have a reader in this process."""
        return len(self._readers)

    def following(self, tenant_id: UUID | None = None) -> int:
        """How many streams (of one tenant, or all) take their events from a reader."""
        if tenant_id is None:
            return sum(reader.following for reader in self._readers.values())
        reader = self._readers.get(tenant_id)
        return 0 if reader is None else reader.following

    def _stop(self, reader: TenantReader) -> None:
        reader.task.cancel()
        # Kept until done: the event loop holds only a weak reference to a task.
        self._stopping.add(reader.task)
        reader.task.add_done_callback(self._stopping.discard)

    async def close(self) -> None:
        for reader in self._readers.values():
            self._stop(reader)
        self._readers.clear()
        for task in list(self._stopping):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.notifier.close()
