"""SQL for the append-only audit log."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Json

from loopctl.audit.schemas import AuditQuery
from loopctl.database.connections import Connection
from loopctl.kit.pagination import Pagination
from loopctl.kit.repository import Filters, Listing, add, fetch_all


@dataclass(frozen=True, slots=True)
class AuditRow:
    tenant_id: UUID
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
    # The writing transaction's id (xid8, read as its decimal text): the change feed's order.
    txid: str


async def insert(conn: Connection, values: Mapping[str, Any]) -> None:
    """``values``: one entry's columns (``service.record`` names them)."""
    await add(conn, "audit_log", values)


@dataclass(frozen=True, slots=True)
class AuditValues:
    """One row of a bulk insert: what differs between the rows of one actor's change."""

    id: UUID
    project_id: UUID | None
    entity_type: str
    entity_id: UUID
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


async def insert_many(
    conn: Connection,
    rows: Sequence[AuditValues],
    *,
    tenant_id: UUID,
    actor_key_id: UUID | None,
    actor_agent_id: UUID | None,
    actor_role: str,
    actor_label: str,
    request_id: str | None,
) -> None:
    """Many rows by one actor in one statement (imports write tens of thousands).

    The rows travel as one JSON array: psycopg would escape every quote of every snapshot
    in a text[] parameter, which costs seconds at this size.
    """
    if not rows:
        return
    await conn.execute(
        """
        INSERT INTO audit_log (tenant_id, id, project_id, entity_type, entity_id, action,
                               actor_key_id, actor_agent_id, actor_role, actor_label,
                               before, after, request_id)
        SELECT %s, u.id, u.project_id, u.entity_type, u.entity_id, u.action, %s, %s, %s, %s,
               u.before, u.after, %s
          FROM json_to_recordset(%s::json) AS u(id uuid, project_id uuid, entity_type text,
                                                 entity_id uuid, action text, before jsonb,
                                                 after jsonb)
        """,
        [
            tenant_id,
            actor_key_id,
            actor_agent_id,
            actor_role,
            actor_label,
            request_id,
            Json(
                [
                    {
                        "id": r.id,
                        "project_id": r.project_id,
                        "entity_type": r.entity_type,
                        "entity_id": r.entity_id,
                        "action": r.action,
                        "before": r.before,
                        "after": r.after,
                    }
                    for r in rows
                ]
            ),
        ],
    )


_LISTING = Listing.table(AuditRow, "audit_log")


async def list_for_entity(conn: Connection, entity_type: str, entity_id: UUID) -> list[AuditRow]:
    statement = _LISTING.select + sql.SQL(
        " WHERE entity_type = %s AND entity_id = %s ORDER BY created_at, id"
    )
    return await fetch_all(conn, AuditRow, statement, [entity_type, entity_id])


async def search(
    conn: Connection, query: AuditQuery, page: Pagination
) -> tuple[list[AuditRow], int]:
    """The tenant's entries (row-level security) matching ``query``, newest first."""
    filters = (
        Filters()
        .given("entity_type = %(entity_type)s", entity_type=query.entity_type)
        .given("entity_id = %(entity_id)s", entity_id=query.entity_id)
        .given("action = %(action)s", action=query.action)
        .given("(actor_key_id = %(actor)s OR actor_agent_id = %(actor)s)", actor=query.actor)
        .given("project_id = %(project_id)s", project_id=query.project_id)
        .given("created_at >= %(start)s", start=query.start)
        .given("created_at <= %(end)s", end=query.end)
    )
    return await _LISTING.page(conn, filters, "ORDER BY created_at DESC, id DESC", page)


async def history(
    conn: Connection, entity_type: str, entity_id: UUID, page: Pagination
) -> tuple[list[AuditRow], int]:
    """One entity's entries in the change feed's order (docs/audit-and-changes.md says why
    that, and not created_at, which is when the writing transaction began)."""
    filters = Filters(entity_type=entity_type, entity_id=entity_id)
    filters.when(True, "entity_type = %(entity_type)s AND entity_id = %(entity_id)s")
    return await _LISTING.page(conn, filters, "ORDER BY txid, id", page)
