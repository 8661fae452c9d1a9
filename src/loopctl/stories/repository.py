"""SQL for stories."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from loopctl.database.connections import Connection
from loopctl.kit.sql import maybe

_SELECT = sql.SQL(
    "SELECT s.tenant_id, s.id, s.project_id, s.epic_id, e.number AS epic_number, s.number,"
    " s.title, s.description, s.acceptance_criteria, s.estimated_hours, s.metadata,"
    " s.agent_status, s.verified_status, s.created_at, s.updated_at"
    " FROM stories s JOIN epics e ON e.tenant_id = s.tenant_id AND e.id = s.epic_id"
)


@dataclass(frozen=True, slots=True)
class StoryRow:
    tenant_id: UUID
    id: UUID
    project_id: UUID
    epic_id: UUID
    epic_number: int
    number: str
    title: str
    description: str | None
    acceptance_criteria: list[dict[str, Any]]
    estimated_hours: Decimal | None
    metadata: dict[str, Any]
    agent_status: str
    verified_status: str
    created_at: datetime
    updated_at: datetime


async def insert(
    conn: Connection,
    *,
    tenant_id: UUID,
    id: UUID,
    project_id: UUID,
    epic_id: UUID,
    number: str,
    title: str,
    description: str | None,
    acceptance_criteria: list[dict[str, str]],
    estimated_hours: Decimal | None,
    metadata: dict[str, Any],
) -> StoryRow:
    await conn.execute(
        """
        INSERT INTO stories (tenant_id, id, project_id, epic_id, number, title, description,
                             acceptance_criteria, estimated_hours, metadata)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        """,
        [
            tenant_id,
            id,
            project_id,
            epic_id,
            number,
            title,
            description,
            Jsonb(acceptance_criteria),
            estimated_hours,
            Jsonb(metadata),
        ],
    )
    row = await get(conn, id)
    assert row is not None
    return row


async def get(conn: Connection, story_id: UUID, *, for_update: bool = False) -> StoryRow | None:
    query = sql.SQL("{} WHERE s.id = %s{}").format(_SELECT, maybe(" FOR UPDATE OF s", for_update))
    async with conn.cursor(row_factory=class_row(StoryRow)) as cur:
        await cur.execute(query, [story_id])
        return await cur.fetchone()


@dataclass(frozen=True, slots=True)
class EdgeRow:
    id: UUID
    story_id: UUID
    depends_on_story_id: UUID


@dataclass(frozen=True, slots=True)
class StatusTotalRow:
    agent_status: str
    verified_status: str
    stories: int
    hours: Decimal


def _filters(
    *,
    project_id: UUID | None,
    epic_id: UUID | None,
    agent_status: str | None,
    verified_status: str | None,
    title_contains: str | None,
) -> tuple[sql.Composable, dict[str, Any]]:
    # Only the filters given go into the statement, so each combination gets its own plan.
    given = {
        "project_id": (project_id, "s.project_id = %(project_id)s"),
        "epic_id": (epic_id, "s.epic_id = %(epic_id)s"),
        "agent_status": (agent_status, "s.agent_status = %(agent_status)s"),
        "verified_status": (verified_status, "s.verified_status = %(verified_status)s"),
        "title": (
            None if title_contains is None else f"%{_escape_like(title_contains)}%",
            r"s.title ILIKE %(title)s ESCAPE '\'",
        ),
    }
    params = {name: value for name, (value, _) in given.items() if value is not None}
    clauses = [sql.SQL(clause) for value, clause in given.values() if value is not None]
    if not clauses:
        return sql.SQL(""), params
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(clauses), params


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_page(
    conn: Connection,
    *,
    project_id: UUID | None = None,
    epic_id: UUID | None = None,
    agent_status: str | None = None,
    verified_status: str | None = None,
    title_contains: str | None = None,
    limit: int,
    offset: int,
) -> tuple[list[StoryRow], int]:
    """Stories in epic order (position, number), then in natural number order."""
    where, params = _filters(
        project_id=project_id,
        epic_id=epic_id,
        agent_status=agent_status,
        verified_status=verified_status,
        title_contains=title_contains,
    )
    query = sql.SQL(
        "{}{} ORDER BY e.position, e.number, s.number_sort, s.id LIMIT %(limit)s OFFSET %(offset)s"
    ).format(_SELECT, where)
    async with conn.cursor(row_factory=class_row(StoryRow)) as cur:
        await cur.execute(query, {**params, "limit": limit, "offset": offset})
        rows = await cur.fetchall()
    count = await conn.execute(sql.SQL("SELECT count(*) FROM stories s{}").format(where), params)
    total = await count.fetchone()
    return rows, int(total[0]) if total else 0


async def list_in_epic(conn: Connection, epic_id: UUID) -> list[StoryRow]:
    """Every story of an epic, locked, in natural number order."""
    query = sql.SQL("{} WHERE s.epic_id = %s ORDER BY s.number_sort, s.id FOR UPDATE OF s").format(
        _SELECT
    )
    async with conn.cursor(row_factory=class_row(StoryRow)) as cur:
        await cur.execute(query, [epic_id])
        return await cur.fetchall()


async def update(
    conn: Connection,
    story_id: UUID,
    *,
    title: str,
    description: str | None,
    acceptance_criteria: list[dict[str, Any]],
    estimated_hours: Decimal | None,
    metadata: dict[str, Any],
) -> StoryRow:
    await conn.execute(
        """
        UPDATE stories
           SET title = %s, description = %s, acceptance_criteria = %s, estimated_hours = %s,
               metadata = %s, updated_at = now()
         WHERE id = %s
        """,
        [
            title,
            description,
            Jsonb(acceptance_criteria),
            estimated_hours,
            Jsonb(metadata),
            story_id,
        ],
    )
    row = await get(conn, story_id)
    assert row is not None
    return row


async def edges_touching(conn: Connection, story_ids: list[UUID]) -> list[EdgeRow]:
    """Dependency edges to or from any of the stories, oldest first."""
    async with conn.cursor(row_factory=class_row(EdgeRow)) as cur:
        await cur.execute(
            """
            SELECT id, story_id, depends_on_story_id FROM story_dependencies
             WHERE story_id = ANY(%(ids)s) OR depends_on_story_id = ANY(%(ids)s)
             ORDER BY created_at, id
            """,
            {"ids": story_ids},
        )
        return await cur.fetchall()


async def delete(conn: Connection, story_ids: list[UUID]) -> None:
    """Delete stories; their dependency edges go with them (ON DELETE CASCADE)."""
    await conn.execute("DELETE FROM stories WHERE id = ANY(%s)", [story_ids])


async def status_totals(
    conn: Connection, *, project_id: UUID, epic_id: UUID | None = None
) -> list[StatusTotalRow]:
    """Story count and estimated hours per (agent_status, verified_status) pair."""
    where, params = _filters(
        project_id=project_id,
        epic_id=epic_id,
        agent_status=None,
        verified_status=None,
        title_contains=None,
    )
    query = sql.SQL(
        "SELECT s.agent_status, s.verified_status, count(*) AS stories,"
        " coalesce(sum(s.estimated_hours), 0) AS hours"
        " FROM stories s{} GROUP BY s.agent_status, s.verified_status"
    ).format(where)
    async with conn.cursor(row_factory=class_row(StatusTotalRow)) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()
