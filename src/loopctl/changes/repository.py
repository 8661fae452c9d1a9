"""SQL of the change feed: a read of the audit log in (txid, id) order below the horizon.

Each event's JSON is written once, by the database, when its audit row is inserted
(``audit_log.event``, migration 0013; rows older than that are written by the same SQL
function as they are read), so a page of 1,000 events reaches the response as 1,000
stored strings joined, with no row turned into Python objects and back
(docs/architecture.md, "The change feed").
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from psycopg import sql
from psycopg.rows import tuple_row

from loopctl.database.connections import Connection
from loopctl.kit.repository import Filters


class FeedRow(NamedTuple):
    """One event: its position and what filters match on, and its JSON for the response.

    A NamedTuple made from psycopg's plain tuples: a page has 1,000 of them, and psycopg
    fetched them three times slower through any other row factory (class_row: 8 ms of CPU
    a page, against 2.6 ms as tuples and 0.2 ms to make these of them).
    """

    txid: int
    id: UUID
    project_id: UUID | None
    entity_type: str
    action: str
    body: str


@dataclass(frozen=True, slots=True)
class Horizon:
    # Every transaction with a smaller id has ended: its rows are all visible, or never will be.
    xmin: int
    # The reading transaction's own id, if it has written (only ever in tests, which read
    # their own uncommitted rows inside one transaction; an API read never writes).
    own: int | None


async def horizon(conn: Connection) -> Horizon:
    cur = await conn.execute(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text,"
        " pg_current_xact_id_if_assigned()::text"
    )
    found = await cur.fetchone()
    assert found is not None
    return Horizon(int(found[0]), None if found[1] is None else int(found[1]))


@dataclass(frozen=True, slots=True)
class FeedQuery:
    after_txid: int
    after_id: UUID
    since: datetime | None = None
    project_id: UUID | None = None
    entity_type: str | None = None
    action: str | None = None


# The index scan stops at the limit; the projection (and the fallback for rows written
# before migration 0013, whose JSON was not stored) runs for those rows only.
_READ = sql.SQL(
    "SELECT audit_log.txid::text::bigint AS txid, audit_log.id, audit_log.project_id,"
    " audit_log.entity_type, audit_log.action,"
    " coalesce(audit_log.event, loopctl_audit_event(audit_log)) AS body"
    " FROM audit_log{where}"
    " ORDER BY audit_log.txid, audit_log.id LIMIT %(limit)s"
)


def _read(query: FeedQuery, seen: Horizon, limit: int) -> tuple[sql.Composed, dict[str, Any]]:
    """The read of the tenant's rows (row-level security) after the cursor and below the
    horizon. The upper bound is an index condition, so the scan stops at the horizon however
    many later rows are already committed."""
    upper = max(seen.xmin - 1, seen.own or 0)
    filters = Filters(
        after_txid=str(query.after_txid),
        after_id=query.after_id,
        upper=str(upper),
        xmin=str(seen.xmin),
        own=None if seen.own is None else str(seen.own),
        limit=limit,
    )
    filters.when(True, "(txid, id) > (%(after_txid)s::xid8, %(after_id)s)")
    filters.when(True, "txid <= %(upper)s::xid8")
    filters.when(True, "(txid < %(xmin)s::xid8 OR txid = %(own)s::xid8)")
    filters.given("created_at > %(since)s", since=query.since)
    filters.given("project_id = %(project_id)s", project_id=query.project_id)
    filters.given("entity_type = %(entity_type)s", entity_type=query.entity_type)
    filters.given("action = %(action)s", action=query.action)
    # ORDER BY qualified: "txid" alone in an outer ORDER BY could name an output column
    # rather than the indexed one, and sort every row after the cursor (docs/benchmarks.md).
    return _READ.format(where=filters.where), filters.params


async def after(conn: Connection, query: FeedQuery, seen: Horizon, limit: int) -> list[FeedRow]:
    """Up to ``limit`` events after the cursor, each with its JSON (the live streams')."""
    statement, params = _read(query, seen, limit)
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(statement, params)
        return [FeedRow._make(row) for row in await cur.fetchall()]


@dataclass(frozen=True, slots=True)
class JsonPage:
    """A poll's page as PostgreSQL joined it: how many events the read found (up to the
    limit and one more), the JSON of the first ``limit`` of them, comma-separated, and the
    position of the last of those."""

    found: int
    events: str
    last: tuple[int, UUID] | None


# One value for the whole page rather than 1,000 rows: what psycopg and Python spend on each
# row cost more CPU than the SQL (docs/architecture.md). Newlines separate the events: JSON
# as PostgreSQL writes it never holds one (strings escape it), so the page's extra event
# (read to learn whether more follow) is cut off after the last one, in Python, instead of
# numbering the rows in SQL. The aggregate sorts the page again (its ORDER BY names the
# bigint txid, not the read's xid8): 1,001 rows in memory, a fraction of a millisecond.
_JOINED = sql.SQL(
    "SELECT count(*)::int, coalesce(string_agg(feed.body, E'\\n' ORDER BY feed.txid, feed.id), '')"
    " FROM ({read}) AS feed"
)
# Each event's JSON ends with its cursor, the last of its keys.
_LAST_CURSOR = re.compile(r'"cursor":"([0-9]+)\.([0-9a-f]{32})"\}\Z')


def joined(query: FeedQuery, seen: Horizon, page: int) -> tuple[sql.Composed, dict[str, Any]]:
    """The poll's statement and its parameters (``benchmarks/feed_plans.py`` explains it)."""
    statement, params = _read(query, seen, page + 1)
    return _JOINED.format(read=statement), params


async def page_json(conn: Connection, query: FeedQuery, seen: Horizon, page: int) -> JsonPage:
    """The first ``page`` events after the cursor as JSON, and whether one more follows."""
    cur = await conn.execute(*joined(query, seen, page))
    found = await cur.fetchone()
    assert found is not None  # an aggregate without GROUP BY returns one row
    count, events = found
    if count > page:
        events = events[: events.rindex("\n")]
    if not events:
        return JsonPage(count, "", None)
    last = _LAST_CURSOR.search(events, len(events) - 100)
    assert last is not None, "an event's JSON ends with its cursor (loopctl_audit_event)"
    return JsonPage(count, events.replace("\n", ","), (int(last[1]), UUID(hex=last[2])))


async def held_back(conn: Connection, seen: Horizon) -> bool:
    """Whether committed rows of the tenant wait above the horizon (an older transaction
    is still running): a live stream then reads again shortly instead of waiting."""
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM audit_log WHERE txid >= %s::xid8)", [str(seen.xmin)]
    )
    found = await cur.fetchone()
    return bool(found and found[0])
