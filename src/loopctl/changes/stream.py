"""The live stream: the change feed pushed as Server-Sent Events, woken by the notifier.

A stream reads from its cursor whenever the process's listener says its tenant committed
something, sends what it read, and waits again. While committed rows wait above the
horizon (an older transaction still running, whose end may notify nobody: it may have
written nothing of this tenant's, or rolled back) it reads again after a short, growing
pause instead; it never polls while nothing is pending.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from uuid import UUID

import orjson
from sse_starlette import ServerSentEvent

from loopctl.changes.notifier import ChangeNotifier
from loopctl.changes.service import MAX_LIMIT, Filters, decode, read_from
from loopctl.database.connections import ConnectionSource, tenant_transaction

HEARTBEAT_SECONDS = 15.0
FIRST_RETRY_SECONDS = 0.005
LAST_RETRY_SECONDS = 0.5


def start_of(last_event_id: str | None, cursor: str | None) -> tuple[int, UUID] | None:
    """Where a stream starts: a reconnecting client's Last-Event-ID wins over the cursor
    its URL still carries."""
    if last_event_id is not None:
        return decode(last_event_id, "header.last-event-id")
    return None if cursor is None else decode(cursor)


async def events(
    source: ConnectionSource,
    notifier: ChangeNotifier,
    tenant_id: UUID,
    start: tuple[int, UUID],
    since: datetime | None,
    filters: Filters,
) -> AsyncIterator[ServerSentEvent]:
    waiter = notifier.subscribe(tenant_id)
    retry = FIRST_RETRY_SECONDS
    try:
        while True:
            waiter.event.clear()
            async with tenant_transaction(source, tenant_id) as conn:
                page, waiting = await read_from(conn, start, since, filters, MAX_LIMIT, probe=True)
            for event in page.data:
                data = orjson.dumps(event.model_dump(mode="json")).decode()
                yield ServerSentEvent(data=data, event="change", id=event.cursor)
            start, since = decode(page.meta.next_cursor), None
            if page.meta.has_more:
                continue
            if waiting:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.event.wait(), retry)
                retry = min(retry * 2, LAST_RETRY_SECONDS)
                continue
            retry = FIRST_RETRY_SECONDS
            await waiter.event.wait()
    finally:
        notifier.unsubscribe(waiter)


def notifier_of(state: object, url: str) -> ChangeNotifier:
    """The process's one notifier, made on the first stream (kept on the app's state)."""
    notifier: ChangeNotifier | None = getattr(state, "change_notifier", None)
    if notifier is None:
        notifier = ChangeNotifier(url)
        setattr(state, "change_notifier", notifier)  # noqa: B010 (Starlette's State)
    return notifier
