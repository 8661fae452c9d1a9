"""SQL that needs the admin role (BYPASSRLS): it sees across tenants. Keep it narrow."""

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from loopctl.database.connections import Connection
from loopctl.kit.repository import fetch_one, fetch_value, returning
from loopctl.tenants.rows import TenantRow


async def count_tenants(conn: Connection) -> int:
    return int(await fetch_value(conn, "SELECT count(*) FROM tenants") or 0)


async def tenant_by_slug(conn: Connection, slug: str) -> TenantRow | None:
    return await fetch_one(
        conn, TenantRow, "SELECT * FROM tenants WHERE slug = %s FOR NO KEY UPDATE", [slug]
    )


async def set_tenant_status(conn: Connection, tenant_id: UUID, status: str) -> TenantRow:
    return await returning(
        conn,
        TenantRow,
        "UPDATE tenants SET status = %s, updated_at = now() WHERE id = %s RETURNING *",
        [status, tenant_id],
    )


async def insert_superadmin_key(
    conn: Connection,
    *,
    id: UUID,
    name: str,
    key_hash: str,
    key_prefix: str,
    expires_at: datetime | None,
) -> None:
    await conn.execute(
        """
        INSERT INTO superadmin_keys (id, name, key_hash, key_prefix, expires_at)
        VALUES (%s, %s, %s, %s, %s)
        """,
        [id, name, key_hash, key_prefix, expires_at],
    )


async def insert_platform_audit(
    conn: Connection,
    *,
    id: UUID,
    entity_type: str,
    entity_id: UUID,
    action: str,
    actor_label: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    await conn.execute(
        """
        INSERT INTO platform_audit_log (id, entity_type, entity_id, action, actor_label, before,
                                        after)
        VALUES (%s, %s, %s, %s, %s, %s, %s)
        """,
        [
            id,
            entity_type,
            entity_id,
            action,
            actor_label,
            None if before is None else Jsonb(before),
            None if after is None else Jsonb(after),
        ],
    )
