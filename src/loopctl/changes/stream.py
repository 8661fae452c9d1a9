"""The live stream: the change feed pushed as Server-Sent Events.

A stream first reads for itself from its cursor (with its filters) until it has read what
is committed below the horizon, then joins its tenant's reader in this process
(``fanout.py``), which reads each commit's events once for all the tenant's streams. If the
reader is already past the stream's position, or drops the stream for falling behind, the
stream reads for itself again from where it stopped and joins again: it never misses or
repeats an event, and never polls the database while nothing is pending.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from uuid import UUID

from loopctl.changes.fanout import ChangeStreams, frame
from loopctl.changes.service import MAX_LIMIT, Filters, Position, decode, read_from
from loopctl.database.connections import ConnectionSource, tenant_transaction

HEARTBEAT_SECONDS = 15.0
# After the tenant's reader failed (the database, most likely), before reading again.
REREAD_PAUSE_SECONDS = 1.0


def start_of(last_event_id: str | None, cursor: str | None) -> Position | None:
    """Where a stream starts: a reconnecting client's Last-Event-ID wins over the cursor
    its URL still carries."""
    if last_event_id is not None:
        return decode(last_event_id, "header.last-event-id")
    return None if cursor is None else decode(cursor)


async def events(
    streams: ChangeStreams,
    tenant_id: UUID,
    start: Position,
    since: datetime | None,
    filters: Filters,
) -> AsyncIterator[bytes]:
    """The stream's frames, several events to a chunk when several are ready."""
    position = start
    while True:
        async with tenant_transaction(streams.source, tenant_id) as conn:
            page, _ = await read_from(conn, position, since, filters, MAX_LIMIT)
        since = None
        if page.rows:
            yield b"".join(frame(row) for row in page.rows)
        position = page.next_position
        if page.has_more:
            continue
        subscription = streams.join(tenant_id, position)
        if subscription is None:
            continue  # the reader is ahead: read up to it first
        try:
            async for chunk in subscription.follow(filters):
                yield chunk
        finally:
            streams.leave(tenant_id, subscription)
        position = subscription.position
        if subscription.reader_failed:
            await asyncio.sleep(REREAD_PAUSE_SECONDS)


def streams_of(state: object, source: ConnectionSource, url: str) -> ChangeStreams:
    """The process's one ChangeStreams, made on the first stream (kept on the app's state)."""
    streams: ChangeStreams | None = getattr(state, "change_streams", None)
    if streams is None:
        streams = ChangeStreams(source, url)
        setattr(state, "change_streams", streams)  # noqa: B010 (Starlette's State)
    return streams
