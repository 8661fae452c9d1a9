"""SQL for dependency edges and the single-edge cycle check.

Edges point from the dependent to what it depends on. The cycle check never loads the
project graph: it asks PostgreSQL whether the new edge's target already reaches its
source, first between epics (cheap, ~200 nodes) and then, only when the epics allow it,
between stories restricted to the epics that lie on some epic-level path.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, LiteralString, TypeVar
from uuid import UUID

from psycopg import sql

from loopctl.database.connections import Connection
from loopctl.kit.pagination import Pagination
from loopctl.kit.repository import Filters, Listing, add, fetch_one, fetch_value

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class StoryEnd:
    id: UUID
    project_id: UUID
    epic_id: UUID
    number: str


@dataclass(frozen=True, slots=True)
class EpicEnd:
    id: UUID
    project_id: UUID
    number: int


@dataclass(frozen=True, slots=True)
class StoryDependencyRow:
    tenant_id: UUID
    id: UUID
    project_id: UUID
    story_id: UUID
    story_epic_id: UUID
    depends_on_story_id: UUID
    depends_on_epic_id: UUID
    created_at: datetime
    blocker_verified: bool  # kept by triggers (migration 0006); read by the graph queries
    story_number: str
    depends_on_story_number: str


@dataclass(frozen=True, slots=True)
class EpicDependencyRow:
    tenant_id: UUID
    id: UUID
    project_id: UUID
    epic_id: UUID
    depends_on_epic_id: UUID
    created_at: datetime
    epic_number: int
    depends_on_epic_number: int


_STORY_EDGE = sql.SQL(
    "SELECT d.*, s.number AS story_number, t.number AS depends_on_story_number"
    " FROM story_dependencies d"
    " JOIN stories s ON s.tenant_id = d.tenant_id AND s.id = d.story_id"
    " JOIN stories t ON t.tenant_id = d.tenant_id AND t.id = d.depends_on_story_id"
)
_EPIC_EDGE = sql.SQL(
    "SELECT d.*, a.number AS epic_number, b.number AS depends_on_epic_number"
    " FROM epic_dependencies d"
    " JOIN epics a ON a.tenant_id = d.tenant_id AND a.id = d.epic_id"
    " JOIN epics b ON b.tenant_id = d.tenant_id AND b.id = d.depends_on_epic_id"
)


@dataclass(frozen=True, slots=True)
class EdgeTable(Generic[R]):
    """The statements story edges and epic edges share, on one of their tables."""

    table: LiteralString
    ends: tuple[LiteralString, LiteralString]  # (the end that waits, the end waited for)
    edges: Listing[R]  # an edge with its ends' numbers (a join); its rows are ``d``

    async def insert(self, conn: Connection, values: Mapping[str, Any]) -> None:
        await add(conn, self.table, values)

    async def get(self, conn: Connection, edge_id: UUID) -> R | None:
        query = sql.SQL("{} WHERE d.id = %s").format(self.edges.select)
        return await fetch_one(conn, self.edges.row, query, [edge_id])

    async def find(self, conn: Connection, waiting: UUID, waited_for: UUID) -> UUID | None:
        """The edge by which ``waiting`` already waits for ``waited_for``, if any."""
        query = sql.SQL("SELECT id FROM {} WHERE {} = %s AND {} = %s").format(
            sql.Identifier(self.table), *map(sql.Identifier, self.ends)
        )
        found: UUID | None = await fetch_value(conn, query, [waiting, waited_for])
        return found

    async def delete(self, conn: Connection, edge_id: UUID) -> None:
        query = sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier(self.table))
        await conn.execute(query, [edge_id])


STORY_EDGES = EdgeTable(
    "story_dependencies",
    ("story_id", "depends_on_story_id"),
    Listing(StoryDependencyRow, _STORY_EDGE, sql.SQL("story_dependencies d")),
)
EPIC_EDGES = EdgeTable(
    "epic_dependencies",
    ("epic_id", "depends_on_epic_id"),
    Listing(EpicDependencyRow, _EPIC_EDGE, sql.SQL("epic_dependencies d")),
)


async def story_end(conn: Connection, story_id: UUID) -> StoryEnd | None:
    return await fetch_one(
        conn,
        StoryEnd,
        "SELECT id, project_id, epic_id, number FROM stories WHERE id = %s",
        [story_id],
    )


async def epic_end(conn: Connection, epic_id: UUID) -> EpicEnd | None:
    return await fetch_one(
        conn, EpicEnd, "SELECT id, project_id, number FROM epics WHERE id = %s", [epic_id]
    )


async def story_edges_of_epic(
    conn: Connection, *, project_id: UUID, epic_id: UUID, page: Pagination
) -> tuple[list[StoryDependencyRow], int]:
    """Edges with either end in the epic, oldest first."""
    filters = (
        Filters()
        .given("d.project_id = %(project)s", project=project_id)
        .given("(d.story_epic_id = %(epic)s OR d.depends_on_epic_id = %(epic)s)", epic=epic_id)
    )
    return await STORY_EDGES.edges.page(conn, filters, "ORDER BY d.created_at, d.id", page)


async def epic_edges_of_project(
    conn: Connection, *, project_id: UUID, page: Pagination
) -> tuple[list[EpicDependencyRow], int]:
    filters = Filters().given("d.project_id = %(project)s", project=project_id)
    return await EPIC_EDGES.edges.page(conn, filters, "ORDER BY d.created_at, d.id", page)
