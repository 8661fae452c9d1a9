"""One LISTEN connection per server process, waking the live streams of a tenant.

The audit log's insert trigger notifies ``loopctl_changes`` with the tenant's id when the
writing transaction commits. Streams never poll the database while idle: each waits on its
``Waiter``, which the listener sets. A lost listener connection is reopened, and every
stream is woken then, since notifications sent meanwhile are gone (a stream only re-reads
from its cursor, so a spurious wake-up costs one query and loses nothing).
"""

import asyncio
import contextlib
import logging
from collections import defaultdict
from uuid import UUID

import psycopg

from loopctl.database.connections import conninfo

CHANNEL = "loopctl_changes"
RETRY_SECONDS = 1.0
log = logging.getLogger(__name__)


class Waiter:
    """What one stream waits on."""

    def __init__(self, tenant_id: UUID) -> None:
        self.tenant_id = tenant_id
        self.event = asyncio.Event()


class ChangeNotifier:
    def __init__(self, url: str) -> None:
        self._conninfo = conninfo(url, application_name="loopctl-changes")
        self._waiters: dict[UUID, set[Waiter]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    def subscribe(self, tenant_id: UUID) -> Waiter:
        if self._task is None:
            self._task = asyncio.create_task(self._listen())
        waiter = Waiter(tenant_id)
        self._waiters[tenant_id].add(waiter)
        return waiter

    def unsubscribe(self, waiter: Waiter) -> None:
        waiters = self._waiters.get(waiter.tenant_id)
        if waiters is not None:
            waiters.discard(waiter)
            if not waiters:
                del self._waiters[waiter.tenant_id]

    def _wake(self, tenant_id: UUID | None) -> None:
        groups = self._waiters.values() if tenant_id is None else [self._waiters.get(tenant_id, ())]
        for group in groups:
            for waiter in group:
                waiter.event.set()

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    self._wake(None)  # whatever was sent while no one listened
                    async for notice in conn.notifies():
                        self._wake(_tenant(notice.payload))
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning("change listener lost its connection: %s", type(exc).__name__)
                await asyncio.sleep(RETRY_SECONDS)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def _tenant(payload: str) -> UUID | None:
    try:
        return UUID(payload)
    except ValueError:
        return None  # not ours: wake everyone rather than miss a change
