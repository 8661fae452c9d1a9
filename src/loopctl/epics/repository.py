"""SQL for epics."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import sql

from loopctl.database.connections import Connection
from loopctl.epics.rows import EpicCountsRow, EpicRow
from loopctl.kit import repository as write
from loopctl.kit.pagination import Pagination
from loopctl.kit.repository import Filters, Listing, fetch_all, fetch_one, fetch_value
from loopctl.kit.sql import maybe


async def insert(conn: Connection, values: Mapping[str, Any]) -> EpicRow:
    """``values``: tenant_id, id, project_id and the fields of an ``EpicCreate``."""
    return await write.insert(conn, EpicRow, "epics", values)


async def get(conn: Connection, epic_id: UUID, *, for_update: bool = False) -> EpicRow | None:
    query = sql.SQL("SELECT * FROM epics WHERE id = %s{}").format(maybe(" FOR UPDATE", for_update))
    return await fetch_one(conn, EpicRow, query, [epic_id])


async def get_by_number(conn: Connection, project_id: UUID, number: int) -> EpicRow | None:
    return await fetch_one(
        conn,
        EpicRow,
        "SELECT * FROM epics WHERE project_id = %s AND number = %s",
        [project_id, number],
    )


@dataclass(frozen=True, slots=True)
class EpicStoryRow:
    id: UUID
    number: str
    title: str
    agent_status: str
    verified_status: str


_LISTING = Listing(
    EpicCountsRow,
    sql.SQL("""
        SELECT e.*, c.story_count, c.verified_count
          FROM epics e
          CROSS JOIN LATERAL (
                SELECT count(*) AS story_count,
                       count(*) FILTER (WHERE s.verified_status = 'verified') AS verified_count
                  FROM stories s
                 WHERE s.tenant_id = e.tenant_id AND s.epic_id = e.id) c"""),
    sql.SQL("epics e"),
)


async def list_page(
    conn: Connection, *, project_id: UUID, phase: str | None, page: Pagination
) -> tuple[list[EpicCountsRow], int]:
    """A project's epics by position then number, each with its story counts."""
    filters = (
        Filters()
        .given("e.project_id = %(project_id)s", project_id=project_id)
        .given("e.phase = %(phase)s", phase=phase)
    )
    return await _LISTING.page(conn, filters, "ORDER BY e.position, e.number, e.id", page)


async def stories_of(conn: Connection, epic_id: UUID) -> list[EpicStoryRow]:
    return await fetch_all(
        conn,
        EpicStoryRow,
        """
        SELECT id, number, title, agent_status, verified_status FROM stories
         WHERE epic_id = %s
         ORDER BY number_sort, id
        """,
        [epic_id],
    )


async def count_stories(conn: Connection, epic_id: UUID) -> int:
    return int(
        await fetch_value(conn, "SELECT count(*) FROM stories WHERE epic_id = %s", [epic_id]) or 0
    )


async def completion(conn: Connection, project_id: UUID) -> tuple[int, int]:
    """How many epics the project has, and how many have stories that are all verified."""
    cur = await conn.execute(
        """
        SELECT count(*),
               count(*) FILTER (WHERE c.stories > 0 AND c.stories = c.verified)
          FROM epics e
          CROSS JOIN LATERAL (
                SELECT count(*) AS stories,
                       count(*) FILTER (WHERE s.verified_status = 'verified') AS verified
                  FROM stories s
                 WHERE s.tenant_id = e.tenant_id AND s.epic_id = e.id) c
         WHERE e.project_id = %s
        """,
        [project_id],
    )
    row = await cur.fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


async def update(conn: Connection, epic_id: UUID, values: Mapping[str, Any]) -> EpicRow:
    """``values``: the editable fields (``service.EDITABLE``)."""
    return await write.update(conn, EpicRow, "epics", epic_id, values)


async def dependency_ids(conn: Connection, epic_id: UUID) -> list[UUID]:
    """Epic dependency edges to or from the epic, oldest first."""
    cur = await conn.execute(
        """
        SELECT id FROM epic_dependencies
         WHERE epic_id = %(id)s OR depends_on_epic_id = %(id)s
         ORDER BY created_at, id
        """,
        {"id": epic_id},
    )
    return [row[0] for row in await cur.fetchall()]


async def delete(conn: Connection, epic_id: UUID) -> None:
    """Delete an epic; its stories and all dependency edges go with it (ON DELETE CASCADE)."""
    await conn.execute("DELETE FROM epics WHERE id = %s", [epic_id])
