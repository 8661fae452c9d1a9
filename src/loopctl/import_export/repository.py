"""SQL for import and export: a project's whole work breakdown, read at once and written in
bulk (one multi-row statement per table, rows passed as arrays and expanded by unnest)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Generic, LiteralString, TypeVar
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Json

from loopctl.database.connections import Connection
from loopctl.epics.rows import EpicFields, EpicValues
from loopctl.kit.repository import fetch_all
from loopctl.kit.sql import maybe
from loopctl.stories.rows import StoryFields, StoryValues

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


async def now(conn: Connection) -> datetime:
    """The transaction's timestamp, which every row written in it gets as created/updated."""
    cur = await conn.execute("SELECT now()")
    row = await cur.fetchone()
    assert row is not None
    value: datetime = row[0]
    return value


async def _read(
    conn: Connection,
    row: type[R],
    table: LiteralString,
    order: LiteralString,
    project_id: UUID,
    lock: bool,
) -> list[R]:
    """The project's rows of ``table``, each column of ``row`` read; ``lock`` makes
    concurrent edits wait for the import."""
    query = sql.SQL("SELECT {} FROM {} WHERE project_id = %s ORDER BY {}{}").format(
        sql.SQL(", ").join(sql.Identifier(f.name) for f in fields(row)),
        sql.Identifier(table),
        sql.SQL(order),
        maybe(" FOR UPDATE", lock),
    )
    return await fetch_all(conn, row, query, [project_id])


async def epics(conn: Connection, project_id: UUID, *, lock: bool = False) -> list[EpicFields]:
    """The project's epics by number."""
    return await _read(conn, EpicFields, "epics", "number", project_id, lock)


async def stories(conn: Connection, project_id: UUID, *, lock: bool = False) -> list[StoryFields]:
    """The project's stories in natural number order ("2.9" before "2.10")."""
    return await _read(conn, StoryFields, "stories", "number_sort", project_id, lock)


async def story_edges(conn: Connection, project_id: UUID) -> list[tuple[UUID, UUID]]:
    """(story, the story it depends on) for every story dependency of the project."""
    cur = await conn.execute(
        "SELECT story_id, depends_on_story_id FROM story_dependencies WHERE project_id = %s",
        [project_id],
    )
    return [(r[0], r[1]) for r in await cur.fetchall()]


async def epic_edges(conn: Connection, project_id: UUID) -> list[tuple[UUID, UUID]]:
    """(epic, the epic it depends on) for every epic dependency of the project."""
    cur = await conn.execute(
        "SELECT epic_id, depends_on_epic_id FROM epic_dependencies WHERE project_id = %s",
        [project_id],
    )
    return [(r[0], r[1]) for r in await cur.fetchall()]


# Rows with text and JSON travel as one JSON array expanded by json_to_recordset: psycopg
# would escape every quote of a text[] parameter in Python, which costs seconds at 10,000 rows.
# The values dataclasses are the records (orjson writes a dataclass as an object of its
# fields; a Decimal goes as a JSON string, which keeps it exact).
_EPIC_RECORD = sql.SQL(
    "json_to_recordset(%s::json) AS u(id uuid, number int, title text, description text,"
    " phase text, position int, metadata jsonb)"
)
_STORY_RECORD = sql.SQL(
    "json_to_recordset(%s::json) AS u(id uuid, epic_id uuid, number text, title text,"
    " description text, acceptance_criteria jsonb, estimated_hours numeric, metadata jsonb,"
    " agent_status text, verified_status text)"
)


V = TypeVar("V", EpicValues, StoryValues)


def _columns(names: Iterable[str], prefix: LiteralString = "") -> sql.Composed:
    return sql.SQL(", ").join(sql.SQL(prefix) + sql.Identifier(name) for name in names)


def _insert_select(table: LiteralString, names: list[str], source: sql.Composable) -> sql.Composed:
    """The project's new rows of ``table``: ``names`` read from ``source``, whose rows are
    ``u``; the caller binds the tenant, the project, then ``source``'s parameters."""
    return sql.SQL("INSERT INTO {} (tenant_id, project_id, {}) SELECT %s, %s, {} FROM {}").format(
        sql.Identifier(table), _columns(names), _columns(names, "u."), source
    )


@dataclass(frozen=True, slots=True)
class Bulk(Generic[V]):
    """A work-breakdown table written in bulk from its values dataclass: one statement for
    all new rows, one for all changed rows."""

    table: LiteralString
    record: sql.SQL
    changes: tuple[LiteralString, ...]  # what an import may change in an existing row

    async def insert(
        self, conn: Connection, tenant_id: UUID, project_id: UUID, rows: Sequence[V]
    ) -> None:
        if not rows:
            return
        query = _insert_select(self.table, [f.name for f in fields(rows[0])], self.record)
        await conn.execute(query, [tenant_id, project_id, Json(rows)])

    async def update(self, conn: Connection, tenant_id: UUID, rows: Sequence[V]) -> None:
        if not rows:
            return
        sets = [
            sql.SQL("{} = u.{}").format(sql.Identifier(name), sql.Identifier(name))
            for name in self.changes
        ]
        query = sql.SQL(
            "UPDATE {} t SET {}, updated_at = now() FROM {} WHERE t.tenant_id = %s AND t.id = u.id"
        ).format(sql.Identifier(self.table), sql.SQL(", ").join(sets), self.record)
        await conn.execute(query, [Json(rows), tenant_id])


EPICS: Bulk[EpicValues] = Bulk(
    "epics", _EPIC_RECORD, ("title", "description", "phase", "position", "metadata")
)
# A story's status fields are never changed here; its epic may be.
STORIES: Bulk[StoryValues] = Bulk(
    "stories",
    _STORY_RECORD,
    ("epic_id", "title", "description", "acceptance_criteria", "estimated_hours", "metadata"),
)


async def analyze(conn: Connection, table: str) -> None:
    """Refresh the planner's statistics of a work-breakdown table
    (see migration 0005): rows inserted before this in the transaction count, so the
    foreign-key checks of the rows inserted after it look up their parents by key instead
    of scanning the project, and the graph queries after the import are planned well."""
    await conn.execute("SELECT loopctl_analyze_work_breakdown(%s)", [table])


@dataclass(frozen=True, slots=True)
class StoryEdge:
    id: UUID
    story_id: UUID
    story_epic_id: UUID
    depends_on_story_id: UUID
    depends_on_epic_id: UUID


@dataclass(frozen=True, slots=True)
class EpicEdge:
    id: UUID
    epic_id: UUID
    depends_on_epic_id: UUID


async def _insert_edges(
    conn: Connection,
    table: LiteralString,
    tenant_id: UUID,
    project_id: UUID,
    rows: Sequence[StoryEdge] | Sequence[EpicEdge],
) -> None:
    """One statement for all the edges: a uuid array per column of the edge dataclass, in
    binary (%b), so there is no text to format and parse on either side."""
    if not rows:
        return
    names = [f.name for f in fields(rows[0])]
    arrays = sql.SQL(", ").join(sql.SQL("%b::uuid[]") for _ in names)
    source = sql.SQL("unnest({}) AS u({})").format(arrays, _columns(names))
    columns = [[getattr(row, name) for row in rows] for name in names]
    await conn.execute(_insert_select(table, names, source), [tenant_id, project_id, *columns])


async def insert_story_edges(
    conn: Connection, tenant_id: UUID, project_id: UUID, rows: list[StoryEdge]
) -> None:
    await _insert_edges(conn, "story_dependencies", tenant_id, project_id, rows)


async def insert_epic_edges(
    conn: Connection, tenant_id: UUID, project_id: UUID, rows: list[EpicEdge]
) -> None:
    await _insert_edges(conn, "epic_dependencies", tenant_id, project_id, rows)
