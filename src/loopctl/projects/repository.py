"""SQL for projects."""

from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Jsonb

from loopctl.database.connections import Connection
from loopctl.kit.repository import Filters, fetch_one, fetch_page, fetch_value, returning
from loopctl.kit.sql import maybe
from loopctl.projects.rows import ProjectDetailRow, ProjectRow


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
    return await returning(
        conn,
        ProjectRow,
        """
        INSERT INTO projects (tenant_id, id, name, slug, description, repo_url, tech_stack,
                              mission, metadata)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        RETURNING *
        """,
        [tenant_id, id, name, slug, description, repo_url, tech_stack, mission, Jsonb(metadata)],
    )


async def get(conn: Connection, project_id: UUID, *, lock: bool = False) -> ProjectRow | None:
    """One project; ``lock`` takes FOR NO KEY UPDATE, which serializes structural changes
    (dependency edits, imports) per project without blocking foreign-key checks."""
    query = sql.SQL("SELECT * FROM projects WHERE id = %s{}").format(
        maybe(" FOR NO KEY UPDATE", lock)
    )
    return await fetch_one(conn, ProjectRow, query, [project_id])


async def get_by_slug(conn: Connection, slug: str) -> ProjectRow | None:
    return await fetch_one(conn, ProjectRow, "SELECT * FROM projects WHERE slug = %s", [slug])


async def count_active(conn: Connection) -> int:
    return int(
        await fetch_value(conn, "SELECT count(*) FROM projects WHERE status = 'active'") or 0
    )


async def get_detail(conn: Connection, project_id: UUID) -> ProjectDetailRow | None:
    return await fetch_one(
        conn,
        ProjectDetailRow,
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


async def list_page(
    conn: Connection,
    *,
    status: str | None,
    order_by: sql.Composed,
    limit: int,
    offset: int,
) -> tuple[list[ProjectRow], int]:
    return await fetch_page(
        conn,
        ProjectRow,
        select=sql.SQL("SELECT * FROM projects"),
        count_from=sql.SQL("projects"),
        filters=Filters().given("status = %(status)s", status=status),
        order_by=order_by,
        limit=limit,
        offset=offset,
    )


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
    return await returning(
        conn,
        ProjectRow,
        """
        UPDATE projects
           SET name = %(name)s, description = %(description)s, repo_url = %(repo_url)s,
               tech_stack = %(tech_stack)s, mission = %(mission)s, metadata = %(metadata)s, status = %(status)s,
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
