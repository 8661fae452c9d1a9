"""SQL for stories."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, LiteralString
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Jsonb

from loopctl.database.connections import Connection
from loopctl.kit.repository import Filters, fetch_all, fetch_one, fetch_page, returning
from loopctl.kit.sql import maybe

_COLUMNS = sql.SQL(
    "SELECT s.tenant_id, s.id, s.project_id, s.epic_id, e.number AS epic_number, s.number,"
    " s.title, s.description, s.acceptance_criteria, s.estimated_hours, s.metadata,"
    " s.agent_status, s.verified_status, s.created_at, s.updated_at"
)
_EPIC = sql.SQL(" JOIN epics e ON e.tenant_id = s.tenant_id AND e.id = s.epic_id")
_SELECT = sql.SQL("{} FROM stories s{}").format(_COLUMNS, _EPIC)


def _written(write: LiteralString) -> sql.Composed:
    """A write ending in ``RETURNING *``, read back as ``_SELECT`` reads a story: one statement."""
    return sql.SQL("WITH s AS ({}) {} FROM s{}").format(sql.SQL(write), _COLUMNS, _EPIC)


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
    return await returning(
        conn,
        StoryRow,
        _written(
            """
            INSERT INTO stories (tenant_id, id, project_id, epic_id, number, title, description,
                                 acceptance_criteria, estimated_hours, metadata)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            RETURNING *
            """
        ),
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


async def get(conn: Connection, story_id: UUID, *, for_update: bool = False) -> StoryRow | None:
    query = sql.SQL("{} WHERE s.id = %s{}").format(_SELECT, maybe(" FOR UPDATE OF s", for_update))
    return await fetch_one(conn, StoryRow, query, [story_id])


async def get_by_number(conn: Connection, project_id: UUID, number: str) -> StoryRow | None:
    query = sql.SQL("{} WHERE s.project_id = %s AND s.number = %s").format(_SELECT)
    return await fetch_one(conn, StoryRow, query, [project_id, number])


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
    agent_status: str | None = None,
    verified_status: str | None = None,
    title_contains: str | None = None,
    assignee: UUID | None = None,
) -> Filters:
    title = None if title_contains is None else f"%{_escape_like(title_contains)}%"
    return (
        Filters()
        .given("s.project_id = %(project_id)s", project_id=project_id)
        .given("s.epic_id = %(epic_id)s", epic_id=epic_id)
        .given("s.agent_status = %(agent_status)s", agent_status=agent_status)
        .given("s.verified_status = %(verified_status)s", verified_status=verified_status)
        .given(r"s.title ILIKE %(title)s ESCAPE '\'", title=title)
        .given("s.assigned_agent_id = %(assignee)s", assignee=assignee)
    )


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
    assignee: UUID | None = None,
    limit: int,
    offset: int,
) -> tuple[list[StoryRow], int]:
    """Stories in epic order (position, number), then in natural number order."""
    return await fetch_page(
        conn,
        StoryRow,
        select=_SELECT,
        count_from=sql.SQL("stories s"),
        filters=_filters(
            project_id=project_id,
            epic_id=epic_id,
            agent_status=agent_status,
            verified_status=verified_status,
            title_contains=title_contains,
            assignee=assignee,
        ),
        order_by=sql.SQL("ORDER BY e.position, e.number, s.number_sort, s.id"),
        limit=limit,
        offset=offset,
    )


async def list_in_epic(conn: Connection, epic_id: UUID) -> list[StoryRow]:
    """Every story of an epic, locked, in natural number order."""
    query = sql.SQL("{} WHERE s.epic_id = %s ORDER BY s.number_sort, s.id FOR UPDATE OF s").format(
        _SELECT
    )
    return await fetch_all(conn, StoryRow, query, [epic_id])


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
    return await returning(
        conn,
        StoryRow,
        _written(
            """
            UPDATE stories
               SET title = %s, description = %s, acceptance_criteria = %s, estimated_hours = %s,
                   metadata = %s, updated_at = now()
             WHERE id = %s
            RETURNING *
            """
        ),
        [
            title,
            description,
            Jsonb(acceptance_criteria),
            estimated_hours,
            Jsonb(metadata),
            story_id,
        ],
    )


async def edges_touching(conn: Connection, story_ids: list[UUID]) -> list[EdgeRow]:
    """Dependency edges to or from any of the stories, oldest first."""
    return await fetch_all(
        conn,
        EdgeRow,
        """
        SELECT id, story_id, depends_on_story_id FROM story_dependencies
         WHERE story_id = ANY(%(ids)s) OR depends_on_story_id = ANY(%(ids)s)
         ORDER BY created_at, id
        """,
        {"ids": story_ids},
    )


async def delete(conn: Connection, story_ids: list[UUID]) -> None:
    """Delete stories; their dependency edges go with them (ON DELETE CASCADE)."""
    await conn.execute("DELETE FROM stories WHERE id = ANY(%s)", [story_ids])


async def status_totals(
    conn: Connection, *, project_id: UUID, epic_id: UUID | None = None
) -> list[StatusTotalRow]:
    """Story count and estimated hours per (agent_status, verified_status) pair."""
    filters = _filters(project_id=project_id, epic_id=epic_id)
    query = sql.SQL(
        "SELECT s.agent_status, s.verified_status, count(*) AS stories,"
        " coalesce(sum(s.estimated_hours), 0) AS hours"
        " FROM stories s{} GROUP BY s.agent_status, s.verified_status"
    ).format(filters.where)
    return await fetch_all(conn, StatusTotalRow, query, filters.params)
