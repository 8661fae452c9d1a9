"""SQL for stories."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, LiteralString
from uuid import UUID

from psycopg import sql

from loopctl.database.connections import Connection
from loopctl.kit import repository as write
from loopctl.kit.pagination import Pagination
from loopctl.kit.repository import Filters, Listing, fetch_all, fetch_one
from loopctl.kit.sql import maybe
from loopctl.stories.rows import StoryFields
from loopctl.stories.schemas import StoryQuery

_COLUMNS = sql.SQL(
    "SELECT s.tenant_id, s.id, s.project_id, s.epic_id, e.number AS epic_number, s.number,"
    " s.title, s.description, s.acceptance_criteria, s.estimated_hours, s.metadata,"
    " s.agent_status, s.verified_status, s.created_at, s.updated_at,"
    " s.assigned_agent_id, s.assigned_at, s.lease_expires_at, s.review_requested_at,"
    " s.reported_done_at, s.reported_by_agent_id, s.verified_at, s.rejected_at,"
    " s.rejection_reason"
)
_EPIC = sql.SQL(" JOIN epics e ON e.tenant_id = s.tenant_id AND e.id = s.epic_id")
_SELECT = sql.SQL("{} FROM stories s{}").format(_COLUMNS, _EPIC)


def _written(write: LiteralString | sql.Composed) -> sql.Composed:
    """A write ending in ``RETURNING *``, read back as ``_SELECT`` reads a story: one statement."""
    written = sql.SQL(write) if isinstance(write, str) else write
    return sql.SQL("WITH s AS ({}) {} FROM s{}").format(written, _COLUMNS, _EPIC)


@dataclass(frozen=True, slots=True)
class StoryRow(StoryFields):
    tenant_id: UUID
    project_id: UUID
    epic_number: int
    # Custody, written by the progress domain's transitions only (progress/engine.py).
    assigned_agent_id: UUID | None
    assigned_at: datetime | None
    lease_expires_at: datetime | None
    review_requested_at: datetime | None
    reported_done_at: datetime | None
    reported_by_agent_id: UUID | None
    verified_at: datetime | None
    rejected_at: datetime | None
    rejection_reason: str | None


_LISTING = Listing(StoryRow, _SELECT, sql.SQL("stories s"))


async def insert(conn: Connection, values: Mapping[str, Any]) -> StoryRow:
    """``values``: tenant_id, id, project_id, epic_id and the fields of a ``StoryCreate``."""
    return await write.insert(conn, StoryRow, "stories", values, read=_written)


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


def _filters(query: StoryQuery) -> Filters:
    text = query.title_contains
    title = None if text is None else f"%{_escape_like(text)}%"
    return (
        Filters()
        .given("s.project_id = %(project_id)s", project_id=query.project_id)
        .given("s.epic_id = %(epic_id)s", epic_id=query.epic_id)
        .given("s.agent_status = %(agent_status)s", agent_status=query.agent_status)
        .given("s.verified_status = %(verified_status)s", verified_status=query.verified_status)
        .given(r"s.title ILIKE %(title)s ESCAPE '\'", title=title)
        .given("s.assigned_agent_id = %(assignee)s", assignee=query.assignee)
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_page(
    conn: Connection, query: StoryQuery, page: Pagination
) -> tuple[list[StoryRow], int]:
    """Stories in epic order (position, number), then in natural number order."""
    return await _LISTING.page(
        conn, _filters(query), "ORDER BY e.position, e.number, s.number_sort, s.id", page
    )


async def list_in_epic(conn: Connection, epic_id: UUID) -> list[StoryRow]:
    """Every story of an epic, locked, in natural number order."""
    query = sql.SQL("{} WHERE s.epic_id = %s ORDER BY s.number_sort, s.id FOR UPDATE OF s").format(
        _SELECT
    )
    return await fetch_all(conn, StoryRow, query, [epic_id])


async def update(conn: Connection, story_id: UUID, values: Mapping[str, Any]) -> StoryRow:
    """``values``: the editable fields (``service.EDITABLE``)."""
    return await write.update(conn, StoryRow, "stories", story_id, values, read=_written)


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


async def status_totals(conn: Connection, query: StoryQuery) -> list[StatusTotalRow]:
    """Story count and estimated hours per (agent_status, verified_status) pair."""
    filters = _filters(query)
    statement = sql.SQL(
        "SELECT s.agent_status, s.verified_status, count(*) AS stories,"
        " coalesce(sum(s.estimated_hours), 0) AS hours"
        " FROM stories s{} GROUP BY s.agent_status, s.verified_status"
    ).format(filters.where)
    return await fetch_all(conn, StatusTotalRow, statement, filters.params)
