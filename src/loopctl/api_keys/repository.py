"""SQL for API keys. The key hash is written here and never read back out."""

from datetime import datetime
from uuid import UUID

from psycopg import sql
from psycopg.rows import class_row

from loopctl.api_keys.rows import ApiKeyRow
from loopctl.database.connections import Connection
from loopctl.kit.sql import maybe

# status is computed with the database clock so every process agrees on expiry.
_SELECT = sql.SQL("""
SELECT k.tenant_id, k.id, k.name, k.key_prefix, k.role, k.agent_id, a.name AS agent_name,
       k.expires_at, k.revoked_at, k.rotated_at, k.replaces_key_id, k.last_used_at,
       k.created_by_key_id, k.created_at, k.updated_at,
       CASE WHEN k.revoked_at IS NOT NULL THEN 'revoked'
            WHEN k.expires_at IS NOT NULL AND k.expires_at <= now() THEN 'expired'
            WHEN k.rotated_at IS NOT NULL THEN 'rotated'
            ELSE 'active' END AS status
  FROM api_keys k LEFT JOIN agents a ON a.tenant_id = k.tenant_id AND a.id = k.agent_id
""")
_LIVE = sql.SQL("k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())")
_FILTERS = sql.SQL("""
 WHERE (%(all)s OR {live})
   AND (%(role)s::text IS NULL OR k.role = %(role)s)
   AND (%(agent)s::uuid IS NULL OR k.agent_id = %(agent)s)
""").format(live=_LIVE)


async def insert(
    conn: Connection,
    *,
    tenant_id: UUID,
    id: UUID,
    name: str,
    key_hash: str,
    key_prefix: str,
    role: str,
    agent_id: UUID | None,
    expires_at: datetime | None,
    replaces_key_id: UUID | None,
    created_by_key_id: UUID | None,
) -> ApiKeyRow:
    await conn.execute(
        """
        INSERT INTO api_keys (tenant_id, id, name, key_hash, key_prefix, role, agent_id,
                              expires_at, replaces_key_id, created_by_key_id)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        """,
        [
            tenant_id,
            id,
            name,
            key_hash,
            key_prefix,
            role,
            agent_id,
            expires_at,
            replaces_key_id,
            created_by_key_id,
        ],
    )
    row = await get(conn, id)
    assert row is not None
    return row


async def get(conn: Connection, key_id: UUID, *, for_update: bool = False) -> ApiKeyRow | None:
    query = sql.SQL("{} WHERE k.id = %s{}").format(_SELECT, maybe(" FOR UPDATE OF k", for_update))
    async with conn.cursor(row_factory=class_row(ApiKeyRow)) as cur:
        await cur.execute(query, [key_id])
        return await cur.fetchone()


async def current_for_agent(conn: Connection, agent_id: UUID) -> ApiKeyRow | None:
    """The agent's key that is neither revoked nor rotated (it may have expired)."""
    query = sql.SQL(
        "{} WHERE k.agent_id = %s AND k.revoked_at IS NULL AND k.rotated_at IS NULL FOR UPDATE OF k"
    ).format(_SELECT)
    async with conn.cursor(row_factory=class_row(ApiKeyRow)) as cur:
        await cur.execute(query, [agent_id])
        return await cur.fetchone()


async def count_live(conn: Connection) -> int:
    cur = await conn.execute(sql.SQL("SELECT count(*) FROM api_keys k WHERE {}").format(_LIVE))
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def lock_live_user_keys(conn: Connection) -> list[UUID]:
    # A rotated key stops when its grace period ends, so it is no spare: counting it let a
    # tenant revoke its only current user key and lock itself out once the grace ran out.
    query = sql.SQL(
        "SELECT k.id FROM api_keys k WHERE k.role = 'user' AND k.rotated_at IS NULL AND {}"
        " ORDER BY k.id FOR UPDATE"
    ).format(_LIVE)
    cur = await conn.execute(query)
    return [row[0] for row in await cur.fetchall()]


async def list_page(
    conn: Connection,
    *,
    include_inactive: bool,
    role: str | None,
    agent_id: UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[ApiKeyRow], int]:
    params = {
        "all": include_inactive,
        "role": role,
        "agent": agent_id,
        "limit": limit,
        "offset": offset,
    }
    query = sql.SQL(
        "{} {} ORDER BY k.created_at DESC, k.id DESC LIMIT %(limit)s OFFSET %(offset)s"
    ).format(_SELECT, _FILTERS)
    async with conn.cursor(row_factory=class_row(ApiKeyRow)) as cur:
        await cur.execute(query, params)
        rows = await cur.fetchall()
    count = await conn.execute(
        sql.SQL("SELECT count(*) FROM api_keys k {}").format(_FILTERS), params
    )
    total = await count.fetchone()
    return rows, int(total[0]) if total else 0


async def revoke(conn: Connection, key_id: UUID) -> ApiKeyRow:
    await conn.execute(
        "UPDATE api_keys SET revoked_at = now(), updated_at = now() WHERE id = %s", [key_id]
    )
    row = await get(conn, key_id)
    assert row is not None
    return row


async def mark_rotated(conn: Connection, key_id: UUID, grace_until: datetime) -> ApiKeyRow:
    await conn.execute(
        """
        UPDATE api_keys
           SET rotated_at = now(), updated_at = now(),
               expires_at = least(coalesce(expires_at, 'infinity'), %s)
         WHERE id = %s
        """,
        [grace_until, key_id],
    )
    row = await get(conn, key_id)
    assert row is not None
    return row
