"""SQL for the critical path: the project's unverified stories and the edges between them
as arrays of integers (the walk is graph_path.py), then the chain's stories; and the
claim order computed from the same graph (claim_order.py)."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg.rows import class_row

from loopctl.database.connections import Connection


@dataclass(frozen=True, slots=True)
class PathStoryRow:
    id: UUID
    epic_id: UUID
    epic_number: int
    number: str
    title: str
    estimated_hours: Decimal | None
    agent_status: str
    verified_status: str


@dataclass(frozen=True, slots=True)
class PathGraph:
    """The project's unverified stories and the edges between them, as parallel arrays
    indexed by position: story i is ``ids[i]``, in project order (epic position and
    number, then story number); epics are numbered by their own order likewise."""

    epic_count: int
    ids: list[UUID]
    epic_of: list[int]
    hours: list[float]  # 0 where a story has no estimate
    all_estimated: bool
    story_edges: tuple[list[int], list[int]]  # (dependents, depended on)
    epic_edges: tuple[list[int], list[int]]


# One row of arrays of integers rather than a row per story and per edge: 30,000 rows of
# UUIDs cost more to read and hash in Python than the whole walk over small integers.
# Edges waiting for a verified story are left out early, by their blocker_verified flag
# (kept true by triggers, migration 0006), so fewer rows reach the joins.
PATH_GRAPH_SQL = """
WITH e AS MATERIALIZED (
    SELECT id, (row_number() OVER (ORDER BY position, number, id) - 1)::int AS i
      FROM epics WHERE project_id = %(project)s
),
s AS MATERIALIZED (
    SELECT s.id, e.i AS epic, s.estimated_hours,
           (row_number() OVER (ORDER BY e.i, s.number_sort, s.id) - 1)::int AS i
      FROM stories s JOIN e ON e.id = s.epic_id
     WHERE s.project_id = %(project)s AND s.verified_status <> 'verified'
)
SELECT n.epics, st.ids, st.epic_of, st.hours, st.all_estimated, se.a, se.b, ee.a, ee.b
  FROM (SELECT count(*)::int AS epics FROM e) n
 CROSS JOIN (SELECT array_agg(id ORDER BY i) AS ids, array_agg(epic ORDER BY i) AS epic_of,
                    array_agg(coalesce(estimated_hours, 0)::float8 ORDER BY i) AS hours,
                    coalesce(bool_and(estimated_hours IS NOT NULL), true) AS all_estimated
               FROM s) st
 CROSS JOIN (SELECT array_agg(a.i) AS a, array_agg(b.i) AS b
               FROM story_dependencies d
               JOIN s b ON b.id = d.depends_on_story_id
               JOIN s a ON a.id = d.story_id
              WHERE d.project_id = %(project)s AND NOT d.blocker_verified) se
 CROSS JOIN (SELECT array_agg(a.i) AS a, array_agg(b.i) AS b
               FROM epic_dependencies d
               JOIN e a ON a.id = d.epic_id
               JOIN e b ON b.id = d.depends_on_epic_id
              WHERE d.project_id = %(project)s) ee
"""


async def path_graph(conn: Connection, project_id: UUID) -> PathGraph:
    """What the critical path is computed from, in one statement (one snapshot)."""
    # Binary: arrays of integers and floats are read without parsing text.
    async with conn.cursor(binary=True) as cur:
        await cur.execute(PATH_GRAPH_SQL, {"project": project_id})
        row = await cur.fetchone()
    assert row is not None  # aggregates without GROUP BY always return one row
    return graph_of(row)


def graph_of(row: tuple[Any, ...]) -> PathGraph:
    """The PathGraph of PATH_GRAPH_SQL's one row."""
    epics, ids, epic_of, hours, all_estimated, sa, sb, ea, eb = row
    return PathGraph(
        epic_count=epics,
        ids=ids or [],
        epic_of=epic_of or [],
        hours=hours or [],
        all_estimated=all_estimated,
        story_edges=(sa or [], sb or []),
        epic_edges=(ea or [], eb or []),
    )


async def path_stories(conn: Connection, story_ids: list[UUID]) -> list[PathStoryRow]:
    """The shown fields of the given stories (a critical path), in the order given; a story
    deleted meanwhile (by another transaction) is left out."""
    async with conn.cursor(row_factory=class_row(PathStoryRow)) as cur:
        await cur.execute(
            """
            SELECT s.id, s.epic_id, e.number AS epic_number, s.number, s.title,
                   s.estimated_hours, s.agent_status, s.verified_status
              FROM unnest(%s::uuid[]) WITH ORDINALITY AS c(id, place)
              JOIN stories s ON s.id = c.id
              JOIN epics e ON e.tenant_id = s.tenant_id AND e.id = s.epic_id
             ORDER BY c.place
            """,
            [story_ids],
        )
        return await cur.fetchall()


# The graph part of the claim order, written for the given stories (a project's unverified
# ones); the rest of each row is copied from the story and its epic. A row that would not
# change is left alone, so a small graph edit rewrites few rows. ``verified`` is the
# trigger's (migration 0012) once the row exists.
CLAIM_ORDER_SQL = """
INSERT INTO claim_order AS o (tenant_id, story_id, project_id, epic_id, chain, unblocks,
                              epic_position, epic_number, number_sort, verified)
SELECT s.tenant_id, s.id, s.project_id, s.epic_id, c.chain, c.unblocks, e.position,
       e.number, s.number_sort, s.verified_status = 'verified'
  FROM unnest(%(ids)s::uuid[], %(chains)s::float8[], %(unblocks)s::int[])
       AS c(id, chain, unblocks)
  JOIN stories s ON s.id = c.id
  JOIN epics e ON e.tenant_id = s.tenant_id AND e.id = s.epic_id
 ORDER BY s.id  -- rows locked in story order, as the epic trigger locks them
ON CONFLICT (tenant_id, story_id) DO UPDATE
   SET epic_id = excluded.epic_id, chain = excluded.chain, unblocks = excluded.unblocks,
       epic_position = excluded.epic_position, epic_number = excluded.epic_number,
       number_sort = excluded.number_sort
 WHERE (o.epic_id, o.chain, o.unblocks, o.epic_position, o.epic_number, o.number_sort)
       IS DISTINCT FROM (excluded.epic_id, excluded.chain, excluded.unblocks,
                         excluded.epic_position, excluded.epic_number, excluded.number_sort)
"""


async def lock_project(conn: Connection, project_id: UUID) -> None:
    """Take the project row lock that every writer of a project's claim order holds (a
    no-op when this transaction holds it already)."""
    await conn.execute("SELECT 1 FROM projects WHERE id = %s FOR NO KEY UPDATE", [project_id])


async def write_claim_order(
    conn: Connection, ids: list[UUID], chains: list[float], unblocks: list[int]
) -> None:
    await conn.execute(CLAIM_ORDER_SQL, {"ids": ids, "chains": chains, "unblocks": unblocks})
