"""SQL for projects."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from loopctl.database.connections import Connection
from loopctl.kit.sql import maybe


@dataclass(frozen=True, slots=True)
class ProjectRow:
    tenant_id: UUID
    id: UUID
    name: str
    slug: str
    description: str | None
    repo_url: str | None
    tech_stack: str | None
    mission: str | None
    status: str
    metadata: dict[str, Any]
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime


async def insert(
    conn: Connection,
    *,
    tenant_id: UUID,
    id: UUID,
    name: str,
    slug: str,
    description: str | None,
    repo_url: str | None,
    tech_stack: str | None,
    mission: str | None,
    metadata: dict[str, Any],
) -> ProjectRow:
    async with conn.cursor(row_factory=class_row(ProjectRow)) as cur:
        await cur.execute(
            """
            INSERT INTO projects (tenant_id, id, name, slug, description, repo_url, tech_stack,
                                  mission, metadata)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            RETURNING *
            """,
            [
                tenant_id,
                id,
                name,
                slug,
                description,
                repo_url,
                tech_stack,
                mission,
                Jsonb(metadata),
            ],
        )
        row = await cur.fetchone()
        assert row is not None
        return row


async def get(conn: Connection, project_id: UUID, *, lock: bool = False) -> ProjectRow | None:
    """One project; ``lock`` takes FOR NO KEY UPDATE, which serializes structural changes
    (dependency edits, imports) per project without blocking foreign-key checks."""
    query = sql.SQL("SELECT * FROM projects WHERE id = %s{}").format(
        maybe(" FOR NO KEY UPDATE", lock)
    )
    async with conn.cursor(row_factory=class_row(ProjectRow)) as cur:
        await cur.execute(query, [project_id])
        return await cur.fetchone()


async def count_active(conn: Connection) -> int:
    cur = await conn.execute("SELECT count(*) FROM projects WHERE status = 'active'")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True, slots=True)
class ProjectDetailRow(ProjectRow):
    epic_count: int
    story_count: int


async def get_detail(conn: Connection, project_id: UUID) -> ProjectDetailRow | None:
    async with conn.cursor(row_factory=class_row(ProjectDetailRow)) as cur:
        await cur.execute(
            """
            SELECT p.*,
                   (SELECT count(*) FROM epics e
                     WHERE e.tenant_id = p.tenant_id AND e.project_id = p.id) AS epic_count,
                   (SELECT count(*) FROM stories s
                     WHERE s.tenant_id = p.tenant_id AND s.project_id = p.id) AS story_count
              FROM projects p
             WHERE p.id = %s
            """,
            [project_id],
        )
        return await cur.fetchone()


async def list_page(
    conn: Connection,
    *,
    status: str | None,
    order_by: sql.Composed,
    limit: int,
    offset: int,
) -> tuple[list[ProjectRow], int]:
    where = sql.SQL("WHERE (%(status)s::text IS NULL OR status = %(status)s)")
    params = {"status": status, "limit": limit, "offset": offset}
    async with conn.cursor(row_factory=class_row(ProjectRow)) as cur:
        await cur.execute(
            sql.SQL("SELECT * FROM projects {} {} LIMIT %(limit)s OFFSET %(offset)s").format(
                where, order_by
            ),
            params,
        )
        rows = await cur.fetchall()
    count = await conn.execute(sql.SQL("SELECT count(*) FROM projects {}").format(where), params)
    total = await count.fetchone()
    return rows, int(total[0]) if total else 0


async def update(
    conn: Connection,
    project_id: UUID,
    *,
    name: str,
    description: str | None,
    repo_url: str | None,
    tech_stack: str | None,
    mission: str | None,
    metadata: dict[str, Any],
    status: str,
) -> ProjectRow:
    # archived_at keeps the first archiving time and is cleared on reactivation.
    async with conn.cursor(row_factory=class_row(ProjectRow)) as cur:
        await cur.execute(
            """
            UPDATE projects
               SET name = %(name)s, description = %(description)s, repo_url = %(repo_url)s,
                   tech_stack = %(tech_stack)s, mission = %(mission)s, metadata = %(metadata)s,
                   status = %(status)s,
                   archived_at = CASE WHEN %(status)s = 'archived'
                                      THEN coalesce(archived_at, now()) END,
                   updated_at = now()
             WHERE id = %(id)s
            RETURNING *
            """,
            {
                "id": project_id,
                "name": name,
                "description": description,
                "repo_url": repo_url,
                "tech_stack": tech_stack,
                "mission": mission,
                "metadata": Jsonb(metadata),
                "status": status,
            },
        )
        row = await cur.fetchone()
        assert row is not None
        return row
