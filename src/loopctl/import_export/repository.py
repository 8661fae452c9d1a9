"""SQL for import and export: a project's whole work breakdown, read at once and written in
bulk (one multi-row statement per table, rows passed as arrays and expanded by unnest)."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from psycopg import sql
from psycopg.rows import class_row
from psycopg.types.json import Json

from loopctl.database.connections import Connection
from loopctl.epics.rows import EpicFields, EpicValues
from loopctl.kit.sql import maybe
from loopctl.stories.rows import StoryFields, StoryValues


async def now(conn: Connection) -> datetime:
    """The transaction's timestamp, which every row written in it gets as created/updated."""
    cur = await conn.execute("SELECT now()")
    row = await cur.fetchone()
    assert row is not None
    value: datetime = row[0]
    return value


async def epics(conn: Connection, project_id: UUID, *, lock: bool = False) -> list[EpicFields]:
    """The project's epics by number; ``lock`` makes concurrent edits wait for the import."""
    async with conn.cursor(row_factory=class_row(EpicFields)) as cur:
        await cur.execute(
            sql.SQL(
                "SELECT id, number, title, description, phase, position, metadata, created_at,"
                " updated_at FROM epics WHERE project_id = %s ORDER BY number{}"
            ).format(maybe(" FOR UPDATE", lock)),
            [project_id],
        )
        return await cur.fetchall()


async def stories(conn: Connection, project_id: UUID, *, lock: bool = False) -> list[StoryFields]:
    """The project's stories in natural number order ("2.9" before "2.10")."""
    async with conn.cursor(row_factory=class_row(StoryFields)) as cur:
        await cur.execute(
            sql.SQL(
                "SELECT id, epic_id, number, title, description, acceptance_criteria,"
                " estimated_hours, metadata, agent_status, verified_status, created_at,"
                " updated_at FROM stories WHERE project_id = %s ORDER BY number_sort{}"
            ).format(maybe(" FOR UPDATE", lock)),
            [project_id],
        )
        return await cur.fetchall()


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


async def insert_epics(
    conn: Connection, tenant_id: UUID, project_id: UUID, rows: list[EpicValues]
) -> None:
    if not rows:
        return
    query = sql.SQL("""
        INSERT INTO epics (tenant_id, project_id, id, number, title, description, phase,
                           position, metadata)
        SELECT %s, %s, u.id, u.number, u.title, u.description, u.phase, u.position, u.metadata
          FROM {}
    """).format(_EPIC_RECORD)
    await conn.execute(query, [tenant_id, project_id, Json(rows)])


async def update_epics(conn: Connection, tenant_id: UUID, rows: list[EpicValues]) -> None:
    if not rows:
        return
    query = sql.SQL("""
        UPDATE epics e
           SET title = u.title, description = u.description, phase = u.phase,
               position = u.position, metadata = u.metadata, updated_at = now()
          FROM {}
         WHERE e.tenant_id = %s AND e.id = u.id
    """).format(_EPIC_RECORD)
    await conn.execute(query, [Json(rows), tenant_id])


async def insert_stories(
    conn: Connection, tenant_id: UUID, project_id: UUID, rows: list[StoryValues]
) -> None:
    if not rows:
        return
    query = sql.SQL("""
        INSERT INTO stories (tenant_id, project_id, id, epic_id, number, title, description,
                             acceptance_criteria, estimated_hours, metadata, agent_status,
                             verified_status)
        SELECT %s, %s, u.id, u.epic_id, u.number, u.title, u.description,
               u.acceptance_criteria, u.estimated_hours, u.metadata, u.agent_status,
               u.verified_status
          FROM {}
    """).format(_STORY_RECORD)
    await conn.execute(query, [tenant_id, project_id, Json(rows)])


async def update_stories(conn: Connection, tenant_id: UUID, rows: list[StoryValues]) -> None:
    """Change stories' fields and epic; their status fields are never touched here."""
    if not rows:
        return
    query = sql.SQL("""
        UPDATE stories s
           SET epic_id = u.epic_id, title = u.title, description = u.description,
               acceptance_criteria = u.acceptance_criteria,
               estimated_hours = u.estimated_hours, metadata = u.metadata, updated_at = now()
          FROM {}
         WHERE s.tenant_id = %s AND s.id = u.id
    """).format(_STORY_RECORD)
    await conn.execute(query, [Json(rows), tenant_id])


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


# Arrays of uuids go in binary (%b): no text to format and parse on either side.
async def insert_story_edges(
    conn: Connection, tenant_id: UUID, project_id: UUID, rows: list[StoryEdge]
) -> None:
    if not rows:
        return
    await conn.execute(
        """
        INSERT INTO story_dependencies (tenant_id, project_id, id, story_id, story_epic_id,
                                        depends_on_story_id, depends_on_epic_id)
        SELECT %s, %s, u.* FROM unnest(%b::uuid[], %b::uuid[], %b::uuid[], %b::uuid[],
                                       %b::uuid[]) AS u
        """,
        [
            tenant_id,
            project_id,
            [r.id for r in rows],
            [r.story_id for r in rows],
            [r.story_epic_id for r in rows],
            [r.depends_on_story_id for r in rows],
            [r.depends_on_epic_id for r in rows],
        ],
    )


async def insert_epic_edges(
    conn: Connection, tenant_id: UUID, project_id: UUID, rows: list[EpicEdge]
) -> None:
    if not rows:
        return
    await conn.execute(
        """
        INSERT INTO epic_dependencies (tenant_id, project_id, id, epic_id, depends_on_epic_id)
        SELECT %s, %s, u.* FROM unnest(%b::uuid[], %b::uuid[], %b::uuid[]) AS u
        """,
        [
            tenant_id,
            project_id,
            [r.id for r in rows],
            [r.epic_id for r in rows],
            [r.depends_on_epic_id for r in rows],
        ],
    )
