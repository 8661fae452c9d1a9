"""SQL of the change feed: a read of the audit log in (txid, id) order below the horizon."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql

from loopctl.database.connections import Connection
from loopctl.kit.repository import Filters, fetch_all


@dataclass(frozen=True, slots=True)
class ChangeRow:
    id: UUID
    project_id: UUID | None
    entity_type: str
    entity_id: UUID
    action: str
    actor_key_id: UUID | None
    actor_agent_id: UUID | None
    actor_role: str
    actor_label: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
    created_at: datetime
    txid: int


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


_SELECT = sql.SQL(
    "SELECT id, project_id, entity_type, entity_id, action, actor_key_id, actor_agent_id,"
    " actor_role, actor_label, before, after, request_id, created_at,"
    " txid::text::bigint AS txid FROM audit_log"
)


async def after(conn: Connection, query: FeedQuery, seen: Horizon, limit: int) -> list[ChangeRow]:
    """The tenant's rows (row-level security) after the cursor and below the horizon.

    The upper bound is an index condition, so the scan stops at the horizon however many
    later rows are already committed.
    """
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
    # Qualified: a bare "txid" here would name the bigint output column, which no index
    # covers, and sort every row after the cursor instead of walking audit_log_feed_idx.
    statement = sql.SQL("{}{} ORDER BY audit_log.txid, audit_log.id LIMIT %(limit)s").format(
        _SELECT, filters.where
    )
    return await fetch_all(conn, ChangeRow, statement, filters.params)


async def held_back(conn: Connection, seen: Horizon) -> bool:
    """Whether committed rows of the tenant wait above the horizon (an older transaction
    is still running): a live stream then reads again shortly instead of waiting."""
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM audit_log WHERE txid >= %s::xid8)", [str(seen.xmin)]
    )
    found = await cur.fetchone()
    return bool(found and found[0])
