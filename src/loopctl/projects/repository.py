"""SQL for projects."""

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from psycopg import sql

from loopctl.database.connections import Connection
from loopctl.kit import repository as write
from loopctl.kit.pagination import Pagination
from loopctl.kit.repository import Filters, Listing, fetch_one, fetch_value
from loopctl.kit.sql import maybe
from loopctl.projects.rows import ProjectDetailRow, ProjectRow


async def insert(conn: Connection, values: Mapping[str, Any]) -> ProjectRow:
    """``values``: tenant_id, id and the fields of a ``ProjectCreate``."""
    return await write.insert(conn, ProjectRow, "projects", values)


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


_LISTING = Listing.table(ProjectRow, "projects")


async def list_page(
    conn: Connection, *, status: str | None, order_by: sql.Composed, page: Pagination
) -> tuple[list[ProjectRow], int]:
    filters = Filters().given("status = %(status)s", status=status)
    return await _LISTING.page(conn, filters, order_by, page)


async def update(conn: Connection, project_id: UUID, values: Mapping[str, Any]) -> ProjectRow:
    """``values``: the editable fields (``service.EDITABLE``) and the status."""
    # archived_at keeps the first archiving time and is cleared on reactivation.
    return await write.update(
        conn,
        ProjectRow,
        "projects",
        project_id,
        values,
        also="archived_at = CASE WHEN %(status)s = 'archived' THEN coalesce(archived_at, now()) END",
    )
