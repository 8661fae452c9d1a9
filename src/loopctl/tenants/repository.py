"""SQL for tenants. Row-level security shows each tenant only its own row."""

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from psycopg import sql

from loopctl.database.connections import Connection, fetch_row
from loopctl.kit import repository as write
from loopctl.kit.sql import maybe
from loopctl.tenants.rows import TenantRow


async def insert(conn: Connection, values: Mapping[str, Any]) -> TenantRow:
    """``values``: id, settings and the fields of a ``TenantRegister``."""
    return await write.insert(conn, TenantRow, "tenants", values)


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


async def update(conn: Connection, tenant_id: UUID, values: Mapping[str, Any]) -> TenantRow:
    """``values``: name, email and settings."""
    return await write.update(conn, TenantRow, "tenants", tenant_id, values)
