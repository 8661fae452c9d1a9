"""SQL for the single-edge cycle check (see dependencies/graph.py for the rules).

Nodes of the combined graph are stories ('s') and epic gates ('e', "every story of this
epic"). A story points to the stories it depends on and to the gates of the epics its
epic depends on; a gate points to its epic's stories. A new edge X -> Y closes a cycle
exactly when Y already reaches X.

The walk is pruned twice: first between epics (epic edges plus the epic pairs that story
edges imply; at most a few hundred nodes), keeping only epics that lie on an epic-level
path from Y's epic to X's epic; then the story-level walk never leaves those epics.
``EXISTS`` lets PostgreSQL stop the recursive walk at the first hit.
"""

from typing import LiteralString
from uuid import UUID

from psycopg import sql

from loopctl.database.connections import Connection

Step = tuple[LiteralString, LiteralString]


# Epic-level steps: epic edges, and the epic pairs of story edges (index-only scans on
# story_dependencies_epics_idx and, backwards, story_dependencies_epics_reverse_idx).
def _epic_walk(name: LiteralString, origin: LiteralString, story: Step, epic: Step) -> sql.Composed:
    """The epics reachable from ``%(origin)s`` by epic-level steps, as CTE ``name``; each
    step is (the column matched to the current epic, the column that is the next epic)."""
    return sql.SQL("""
{name}(e) AS (
    SELECT {origin}::uuid
    UNION
    SELECT n.e FROM {name} w CROSS JOIN LATERAL (
        SELECT d.{story_at} AS e FROM story_dependencies d
         WHERE d.project_id = %(project)s AND d.{story_from} = w.e
        UNION ALL
        SELECT d.{epic_at} FROM epic_dependencies d WHERE d.{epic_from} = w.e
    ) n
)""").format(
        name=sql.Identifier(name),
        origin=sql.Placeholder(origin),
        story_from=sql.Identifier(story[0]),
        story_at=sql.Identifier(story[1]),
        epic_from=sql.Identifier(epic[0]),
        epic_at=sql.Identifier(epic[1]),
    )


# Forward follows edges to what they depend on; backward, to what depends on them.
_FORWARD = _epic_walk(
    "forward", "start", ("story_epic_id", "depends_on_epic_id"), ("epic_id", "depends_on_epic_id")
)
_BACKWARD = _epic_walk(
    "backward", "goal", ("depends_on_epic_id", "story_epic_id"), ("depends_on_epic_id", "epic_id")
)
_EPIC_REACHES = sql.SQL(
    "WITH RECURSIVE {} SELECT EXISTS (SELECT 1 FROM forward WHERE e = %(goal)s)"
).format(_FORWARD)
_CANDIDATES = sql.SQL(
    "WITH RECURSIVE {}, {} SELECT array(SELECT e FROM forward INTERSECT SELECT e FROM backward)"
).format(_FORWARD, _BACKWARD)

# One step of the story-level walk from node (kind, id, epic), within candidate epics.
_STEP = sql.SQL("""
    SELECT 's'::text AS kind, d.depends_on_story_id AS id, d.depends_on_epic_id AS epic
      FROM story_dependencies d
     WHERE w.kind = 's' AND d.story_id = w.id AND d.depends_on_epic_id = ANY(%(epics)s)
    UNION ALL
    SELECT 'e', d.depends_on_epic_id, d.depends_on_epic_id
      FROM epic_dependencies d
     WHERE w.kind = 's' AND d.epic_id = w.epic AND d.depends_on_epic_id = ANY(%(epics)s)
    UNION ALL
    SELECT 's', s.id, s.epic_id
      FROM stories s
     WHERE w.kind = 'e' AND s.epic_id = w.id
""")

_WALK = sql.SQL("""
WITH RECURSIVE walk(kind, id, epic) AS (
    SELECT %(kind)s::text, %(id)s::uuid, %(epic)s::uuid
    UNION
    SELECT n.kind, n.id, n.epic FROM walk w CROSS JOIN LATERAL ({step}) n
)
""").format(step=_STEP)

Node = tuple[str, UUID]


async def epics_between(conn: Connection, project_id: UUID, start: UUID, goal: UUID) -> list[UUID]:
    """Epics on some epic-level path from ``start`` to ``goal``; empty if there is none.

    The first statement usually settles it (no path); only when there is one are both
    closures computed to bound the story-level walk.
    """
    params = {"project": project_id, "start": start, "goal": goal}
    cur = await conn.execute(_EPIC_REACHES, params)
    row = await cur.fetchone()
    if not (row and row[0]):
        return []
    cur = await conn.execute(_CANDIDATES, params)
    row = await cur.fetchone()
    return list(row[0]) if row and row[0] else []


def _start(node: Node, epic: UUID, epics: list[UUID]) -> dict[str, object]:
    return {"kind": node[0], "id": node[1], "epic": epic, "epics": epics}


async def reaches(
    conn: Connection, start: Node, start_epic: UUID, goal: Node, epics: list[UUID]
) -> bool:
    """Whether the walk from ``start`` reaches the story ``goal`` or (goal ('e', E)) any
    story of epic E."""
    target = sql.SQL("id = %(goal)s" if goal[0] == "s" else "epic = %(goal)s")
    query = sql.SQL("{} SELECT EXISTS (SELECT 1 FROM walk WHERE kind = 's' AND {})").format(
        _WALK, target
    )
    cur = await conn.execute(query, {**_start(start, start_epic, epics), "goal": goal[1]})
    row = await cur.fetchone()
    return bool(row and row[0])


async def step(
    conn: Connection, frontier: list[tuple[Node, UUID]], epics: list[UUID]
) -> list[tuple[Node, Node, UUID]]:
    """One breadth-first level of the walk: every edge out of the ``frontier`` nodes (each
    with its epic), as (from, to, epic of to). Used only to name the path once a cycle is
    known to exist, so a refusal costs as many levels as the path is long."""
    query = sql.SQL("""
        SELECT w.kind, w.id, n.kind, n.id, n.epic
          FROM unnest(%(kinds)s::text[], %(ids)s::uuid[], %(node_epics)s::uuid[])
               AS w(kind, id, epic)
         CROSS JOIN LATERAL ({}) n
    """).format(_STEP)
    params = {
        "kinds": [node[0] for node, _ in frontier],
        "ids": [node[1] for node, _ in frontier],
        "node_epics": [epic for _, epic in frontier],
        "epics": epics,
    }
    cur = await conn.execute(query, params)
    return [((a, b), (c, d), e) for a, b, c, d, e in await cur.fetchall()]


async def epic_edges_reach(conn: Connection, start: UUID, goal: UUID) -> bool:
    """Whether epic edges alone lead from ``start`` to ``goal``."""
    cur = await conn.execute(
        """
        WITH RECURSIVE r(e) AS (
            SELECT %(start)s::uuid
            UNION
            SELECT d.depends_on_epic_id FROM r JOIN epic_dependencies d ON d.epic_id = r.e
        )
        SELECT EXISTS (SELECT 1 FROM r WHERE e = %(goal)s)
        """,
        {"start": start, "goal": goal},
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def epic_edge_pairs(conn: Connection, project_id: UUID) -> list[tuple[UUID, UUID]]:
    cur = await conn.execute(
        "SELECT epic_id, depends_on_epic_id FROM epic_dependencies WHERE project_id = %s",
        [project_id],
    )
    return [(a, b) for a, b in await cur.fetchall()]


async def labels(
    conn: Connection, story_ids: list[UUID], epic_ids: list[UUID]
) -> dict[Node, str | int]:
    """The number of each story and epic, to name a cycle's nodes."""
    cur = await conn.execute(
        """
        SELECT 's', id, number FROM stories WHERE id = ANY(%s)
        UNION ALL
        SELECT 'e', id, number::text FROM epics WHERE id = ANY(%s)
        """,
        [story_ids, epic_ids],
    )
    return {
        (kind, ident): (number if kind == "s" else int(number))
        for kind, ident, number in await cur.fetchall()
    }
