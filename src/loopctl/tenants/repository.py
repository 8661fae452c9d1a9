"""SQL for tenants. Row-level security shows each tenant only its own row."""

from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Jsonb

from loopctl.database.connections import Connection, fetch_row
from loopctl.kit.repository import returning
from loopctl.kit.sql import maybe
from loopctl.tenants.rows import TenantRow


async def insert(
    conn: Connection,
    *,
    id: UUID,
    name: str,
    slug: str,
    email: str | None,
    settings: dict[str, Any],
) -> TenantRow:
    return await returning(
        conn,
        TenantRow,
        """
        INSERT INTO tenants (id, name, slug, email, settings) VALUES (%s, %s, %s, %s, %s)
        RETURNING *
        """,
        [id, name, slug, email, Jsonb(settings)],
    )


# Plain strings, not composed per call, and fetch_row's plain tuple rather than a new cursor
# with a row factory: either costs more than running the statement on the hot path
# (GET /tenants/me).
# The columns are in TenantRow's order.
_GET = """
    SELECT id, name, slug, email, status, settings, created_at, updated_at
      FROM tenants WHERE id = %s
"""
_GET_FOR_UPDATE = _GET + " FOR UPDATE"


async def get(conn: Connection, tenant_id: UUID, *, for_update: bool = False) -> TenantRow | None:
    row = await fetch_row(conn, _GET_FOR_UPDATE if for_update else _GET, [tenant_id])
    return None if row is None else TenantRow(*row)


async def get_settings(conn: Connection, tenant_id: UUID, *, lock: bool = False) -> dict[str, Any]:
    # FOR NO KEY UPDATE does not block the key-share locks that foreign keys take.
    query = sql.SQL("SELECT settings FROM tenants WHERE id = %s{}").format(
        maybe(" FOR NO KEY UPDATE", lock)
    )
    cur = await conn.execute(query, [tenant_id])
    row = await cur.fetchone()
    return dict(row[0]) if row else {}


async def update(
    conn: Connection,
    tenant_id: UUID,
    *,
    name: str,
    email: str | None,
    settings: dict[str, Any],
) -> TenantRow:
    return await returning(
        conn,
        TenantRow,
        """
        UPDATE tenants SET name = %s, email = %s, settings = %s, updated_at = now()
         WHERE id = %s
        RETURNING *
        """,
        [name, email, Jsonb(settings), tenant_id],
    )
