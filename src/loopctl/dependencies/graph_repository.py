"""SQL for what the dependency graph says about stories: ready, blocked, unblocks counts,
and the whole graph as one JSON document (the critical path's: graph_path_repository.py)."""

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from psycopg import sql
from psycopg.rows import class_row

from loopctl.database.connections import Connection
from loopctl.kit.sql import maybe

# What blocks a story, defined once for the ready and the blocked lists. A story waits
# when a story it depends on is not verified (waiting_stories: the edge's blocker_verified,
# kept true to the stories table by triggers, migration 0006), or when its epic depends
# on an epic with a story that is not verified (waiting_epics).
# Without a project (the whole tenant), row-level security alone scopes the edges; both
# tables' indexes lead with tenant_id, so the scans stay index scans of the tenant's part.
_WAITING = sql.SQL("""
waiting_epics AS (
    -- One index probe per epic edge (stories_epic_idx) rather than a scan of the stories.
    SELECT DISTINCT d.epic_id FROM epic_dependencies d
     WHERE {edge_scope} AND EXISTS (
        SELECT 1 FROM stories b
         WHERE b.tenant_id = d.tenant_id AND b.epic_id = d.depends_on_epic_id
           AND b.verified_status IN ('unverified', 'rejected'))
),
waiting_stories AS (
    SELECT DISTINCT d.story_id FROM story_dependencies d
     WHERE {edge_scope} {epic_edges} AND NOT d.blocker_verified
)
""")

# Ready, as the reference defines it: pending (a rejected story reset to pending included)
# with nothing unverified to wait for. Claim-next also takes stories whose lease expired.
_READY = sql.SQL(
    "s.agent_status = 'pending' AND s.verified_status <> 'verified'"
    " AND s.epic_id NOT IN (SELECT epic_id FROM waiting_epics)"
    " AND s.id NOT IN (SELECT story_id FROM waiting_stories)"
)
_BLOCKED = sql.SQL(
    "s.verified_status <> 'verified'"
    " AND (s.epic_id IN (SELECT epic_id FROM waiting_epics)"
    " OR s.id IN (SELECT story_id FROM waiting_stories))"
)


@dataclass(frozen=True, slots=True)
class WorkRow:
    id: UUID
    project_id: UUID
    epic_id: UUID
    epic_number: int
    number: str
    title: str
    estimated_hours: Decimal | None
    agent_status: str
    verified_status: str
    total: int


def _waiting(project_id: UUID | None, epic_id: UUID | None) -> sql.Composed:
    return _WAITING.format(
        edge_scope=sql.SQL("d.project_id = %(project)s" if project_id else "TRUE"),
        epic_edges=maybe("AND d.story_epic_id = %(epic)s", epic_id is not None),
    )


def _story_scope(project_id: UUID | None, epic_id: UUID | None) -> sql.Composed:
    """The stories to look at: the project's (or one epic's), or those of the tenant's
    projects that are not archived (archived projects take no work). NOT IN over the few
    archived projects is one hashed lookup per story, which measured faster than joining
    the active ones (docs/api.md)."""
    if project_id is None:
        scope = sql.SQL(
            "s.project_id NOT IN (SELECT p.id FROM projects p WHERE p.status = 'archived')"
        )
    else:
        scope = sql.SQL("s.project_id = %(project)s")
    return scope + maybe(" AND s.epic_id = %(epic)s", epic_id is not None)


async def _work_list(
    conn: Connection,
    condition: sql.Composable,
    *,
    project_id: UUID | None,
    epic_id: UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[WorkRow], int | None]:
    """A page of the stories meeting ``condition``, in project (oldest first), epic and
    story order, and the total (None when the page is past the end: the caller counts
    separately). The page is cut from narrow rows, and only its stories are read in full:
    the window holds every matching row, tens of thousands over a whole tenant."""
    query = sql.SQL("""
        WITH {waiting}, page AS (
            SELECT s.id, count(*) OVER () AS total
              FROM stories s JOIN epics e ON e.tenant_id = s.tenant_id AND e.id = s.epic_id
             WHERE {scope} AND {condition}
             ORDER BY s.project_id, e.position, e.number, s.number_sort, s.id
             LIMIT %(limit)s OFFSET %(offset)s
        )
        SELECT s.id, s.project_id, s.epic_id, e.number AS epic_number, s.number, s.title,
               s.estimated_hours, s.agent_status, s.verified_status, page.total
          FROM page
          JOIN stories s ON s.id = page.id
          JOIN epics e ON e.tenant_id = s.tenant_id AND e.id = s.epic_id
         ORDER BY s.project_id, e.position, e.number, s.number_sort, s.id
    """).format(
        waiting=_waiting(project_id, epic_id),
        scope=_story_scope(project_id, epic_id),
        condition=condition,
    )
    params = {"project": project_id, "epic": epic_id, "limit": limit, "offset": offset}
    async with conn.cursor(row_factory=class_row(WorkRow)) as cur:
        await cur.execute(query, params)
        rows = await cur.fetchall()
    return rows, (rows[0].total if rows else (0 if offset == 0 else None))


async def _count(
    conn: Connection,
    condition: sql.Composable,
    *,
    project_id: UUID | None,
    epic_id: UUID | None,
) -> int:
    template = sql.SQL(
        "WITH {waiting} SELECT count(*) FROM stories s WHERE {scope} AND {condition}"
    )
    query = template.format(
        waiting=_waiting(project_id, epic_id),
        scope=_story_scope(project_id, epic_id),
        condition=condition,
    )
    cur = await conn.execute(query, {"project": project_id, "epic": epic_id})
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def work_page(
    conn: Connection,
    *,
    blocked: bool,
    project_id: UUID | None,
    epic_id: UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[WorkRow], int]:
    """Ready stories (pending, unverified, nothing unverified to wait for), or blocked ones
    (not verified, waiting for something unverified); ``project_id`` None: the tenant's."""
    condition = _BLOCKED if blocked else _READY
    rows, total = await _work_list(
        conn, condition, project_id=project_id, epic_id=epic_id, limit=limit, offset=offset
    )
    if total is None:
        total = await _count(conn, condition, project_id=project_id, epic_id=epic_id)
    return rows, total


@dataclass(frozen=True, slots=True)
class BlockingStoryRow:
    blocked_id: UUID
    id: UUID
    epic_id: UUID
    number: str
    title: str
    agent_status: str
    verified_status: str


@dataclass(frozen=True, slots=True)
class BlockingEpicRow:
    blocked_epic_id: UUID
    id: UUID
    number: int
    title: str
    unverified_count: int


async def blocking_stories(conn: Connection, story_ids: list[UUID]) -> list[BlockingStoryRow]:
    """The unverified stories that the given stories depend on directly."""
    async with conn.cursor(row_factory=class_row(BlockingStoryRow)) as cur:
        await cur.execute(
            """
            SELECT d.story_id AS blocked_id, b.id, b.epic_id, b.number, b.title,
                   b.agent_status, b.verified_status
              FROM story_dependencies d
              JOIN stories b ON b.tenant_id = d.tenant_id AND b.id = d.depends_on_story_id
             WHERE d.story_id = ANY(%s) AND b.verified_status <> 'verified'
             ORDER BY b.number_sort, b.id
            """,
            [story_ids],
        )
        return await cur.fetchall()


async def blocking_epics(conn: Connection, epic_ids: list[UUID]) -> list[BlockingEpicRow]:
    """For each given epic, the epics it depends on that still have unverified stories."""
    async with conn.cursor(row_factory=class_row(BlockingEpicRow)) as cur:
        await cur.execute(
            """
            SELECT d.epic_id AS blocked_epic_id, p.id, p.number, p.title, o.n AS unverified_count
              FROM epic_dependencies d
              JOIN epics p ON p.tenant_id = d.tenant_id AND p.id = d.depends_on_epic_id
             CROSS JOIN LATERAL (
                   SELECT count(*) AS n FROM stories b
                    WHERE b.tenant_id = p.tenant_id AND b.epic_id = p.id
                      AND b.verified_status <> 'verified') o
             WHERE d.epic_id = ANY(%s) AND o.n > 0
             ORDER BY p.position, p.number, p.id
            """,
            [epic_ids],
        )
        return await cur.fetchall()


async def unblocks_counts(conn: Connection, story_ids: list[UUID]) -> dict[UUID, int]:
    """For each given story x: how many stories would become ready if x were verified.

    A story y becomes ready exactly when it is pending and unverified and x is the only
    unverified thing it waits for. So y must wait for x (directly, or through its epic's
    dependency on x's epic when x is the last unverified story there: otherwise that epic
    still holds y back), and have no other unverified blocker, story or epic-level.
    Everything is an index probe from the given stories outwards; nothing scans the project.
    """
    cur = await conn.execute(
        """
        WITH x AS (
            SELECT tenant_id, id, epic_id FROM stories
             WHERE id = ANY(%(ids)s) AND verified_status <> 'verified'
        ),
        freed AS (
            SELECT x.id AS x, d.story_id AS y
              FROM x JOIN story_dependencies d
                ON d.tenant_id = x.tenant_id AND d.depends_on_story_id = x.id
            UNION
            SELECT x.id, s.id
              FROM x
              JOIN epic_dependencies e
                ON e.tenant_id = x.tenant_id AND e.depends_on_epic_id = x.epic_id
              JOIN stories s ON s.tenant_id = e.tenant_id AND s.epic_id = e.epic_id
             WHERE NOT EXISTS (
                SELECT 1 FROM stories o
                 WHERE o.tenant_id = x.tenant_id AND o.epic_id = x.epic_id AND o.id <> x.id
                   AND o.verified_status IN ('unverified', 'rejected'))
        )
        SELECT f.x, count(*)
          FROM freed f JOIN stories y ON y.id = f.y
         WHERE y.agent_status = 'pending' AND y.verified_status <> 'verified'
           AND NOT EXISTS (
               SELECT 1 FROM story_dependencies d
                WHERE d.tenant_id = y.tenant_id AND d.story_id = y.id
                  AND NOT d.blocker_verified AND d.depends_on_story_id <> f.x)
           AND NOT EXISTS (
               SELECT 1 FROM epic_dependencies e
                 JOIN stories o ON o.tenant_id = e.tenant_id AND o.epic_id = e.depends_on_epic_id
                WHERE e.tenant_id = y.tenant_id AND e.epic_id = y.epic_id AND o.id <> f.x
                  AND o.verified_status IN ('unverified', 'rejected'))
         GROUP BY f.x
        """,
        {"ids": story_ids},
    )
    counts = dict.fromkeys(story_ids, 0)
    counts.update({row[0]: int(row[1]) for row in await cur.fetchall()})
    return counts


@dataclass(frozen=True, slots=True)
class LinkRow:
    dependency_id: UUID
    direction: str
    story_id: UUID
    epic_id: UUID
    number: str
    title: str
    agent_status: str
    verified_status: str


async def links(conn: Connection, story_id: UUID) -> list[LinkRow]:
    """The stories one story depends on ('dependency') and those depending on it."""
    async with conn.cursor(row_factory=class_row(LinkRow)) as cur:
        await cur.execute(
            """
            SELECT dependency_id, direction, story_id, epic_id, number, title, agent_status,
                   verified_status
              FROM (SELECT d.id AS dependency_id, 'dependency' AS direction, s.id AS story_id,
                           s.epic_id, s.number, s.title, s.agent_status, s.verified_status,
                           s.number_sort
                      FROM story_dependencies d JOIN stories s ON s.id = d.depends_on_story_id
                     WHERE d.story_id = %(id)s
                    UNION ALL
                    SELECT d.id, 'dependent', s.id, s.epic_id, s.number, s.title,
                           s.agent_status, s.verified_status, s.number_sort
                      FROM story_dependencies d JOIN stories s ON s.id = d.story_id
                     WHERE d.depends_on_story_id = %(id)s) l
             ORDER BY number_sort, story_id
            """,
            {"id": story_id},
        )
        return await cur.fetchall()


async def graph_document(conn: Connection, project_id: UUID) -> str | None:
    """The project's whole graph as JSON text, built by PostgreSQL: with tens of thousands
    of nodes and edges, going through Python objects would cost several times more."""
    cur = await conn.execute(
        """
        SELECT json_build_object(
          'project_id', p.id,
          'epics', (SELECT coalesce(json_agg(json_build_object(
                        'id', e.id, 'number', e.number, 'title', e.title, 'phase', e.phase,
                        'position', e.position) ORDER BY e.position, e.number, e.id), '[]')
                      FROM epics e WHERE e.project_id = p.id),
          'stories', (SELECT coalesce(json_agg(json_build_object(
                        'id', s.id, 'epic_id', s.epic_id, 'number', s.number, 'title', s.title,
                        'estimated_hours', s.estimated_hours, 'agent_status', s.agent_status,
                        'verified_status', s.verified_status)
                        ORDER BY e.position, e.number, s.number_sort, s.id), '[]')
                        FROM stories s JOIN epics e ON e.tenant_id = s.tenant_id
                                                    AND e.id = s.epic_id
                       WHERE s.project_id = p.id),
          'epic_dependencies', (SELECT coalesce(json_agg(json_build_object(
                        'id', d.id, 'dependent_id', d.epic_id,
                        'depends_on_id', d.depends_on_epic_id) ORDER BY d.created_at, d.id), '[]')
                      FROM epic_dependencies d WHERE d.project_id = p.id),
          'story_dependencies', (SELECT coalesce(json_agg(json_build_object(
                        'id', d.id, 'dependent_id', d.story_id,
                        'depends_on_id', d.depends_on_story_id) ORDER BY d.created_at, d.id),
                        '[]')
                      FROM story_dependencies d WHERE d.project_id = p.id)
        )::text
          FROM projects p WHERE p.id = %s
        """,
        [project_id],
    )
    row = await cur.fetchone()
    return str(row[0]) if row else None
