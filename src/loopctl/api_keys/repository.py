"""SQL for API keys. The key hash is written here and never read back out."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, LiteralString
from uuid import UUID

from psycopg import sql

from loopctl.api_keys.rows import ApiKeyRow
from loopctl.database.connections import Connection
from loopctl.kit import repository as write
from loopctl.kit.pagination import Pagination
from loopctl.kit.repository import Filters, Listing, fetch_one, fetch_value, returning
from loopctl.kit.sql import maybe

# status is computed with the database clock so every process agrees on expiry.
_COLUMNS = sql.SQL("""
SELECT k.tenant_id, k.id, k.name, k.key_prefix, k.role, k.agent_id, a.name AS agent_name,
       k.expires_at, k.revoked_at, k.rotated_at, k.replaces_key_id, k.last_used_at,
       k.created_by_key_id, k.created_at, k.updated_at,
       CASE WHEN k.revoked_at IS NOT NULL THEN 'revoked'
            WHEN k.expires_at IS NOT NULL AND k.expires_at <= now() THEN 'expired'
            WHEN k.rotated_at IS NOT NULL THEN 'rotated'
            ELSE 'active' END AS status
""")
_AGENT = sql.SQL(" LEFT JOIN agents a ON a.tenant_id = k.tenant_id AND a.id = k.agent_id")
_SELECT = sql.SQL("{} FROM api_keys k{}").format(_COLUMNS, _AGENT)
_LIVE = "k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())"
_LISTING = Listing(ApiKeyRow, _SELECT, sql.SQL("api_keys k"))


def _written(write: LiteralString | sql.Composed) -> sql.Composed:
    """A write ending in ``RETURNING *``, read back as ``_SELECT`` reads a key: one statement."""
    written = sql.SQL(write) if isinstance(write, str) else write
    return sql.SQL("WITH k AS ({}) {} FROM k{}").format(written, _COLUMNS, _AGENT)


async def insert(conn: Connection, values: Mapping[str, Any]) -> ApiKeyRow:
    """``values``: the key's columns, its hash and display prefix among them."""
    return await write.insert(conn, ApiKeyRow, "api_keys", values, read=_written)


async def get(conn: Connection, key_id: UUID, *, for_update: bool = False) -> ApiKeyRow | None:
    query = sql.SQL("{} WHERE k.id = %s{}").format(_SELECT, maybe(" FOR UPDATE OF k", for_update))
    return await fetch_one(conn, ApiKeyRow, query, [key_id])


async def current_for_agent(conn: Connection, agent_id: UUID) -> ApiKeyRow | None:
    """The agent's key that is neither revoked nor rotated (it may have expired)."""
    query = sql.SQL(
        "{} WHERE k.agent_id = %s AND k.revoked_at IS NULL AND k.rotated_at IS NULL FOR UPDATE OF k"
    ).format(_SELECT)
    return await fetch_one(conn, ApiKeyRow, query, [agent_id])


async def count_live(conn: Connection) -> int:
    return int(
        await fetch_value(
            conn, sql.SQL("SELECT count(*) FROM api_keys k WHERE {}").format(sql.SQL(_LIVE))
        )
        or 0
    )


async def lock_live_user_keys(conn: Connection) -> list[UUID]:
    # A rotated key stops when its grace period ends, so it is no spare: counting it let a
    # tenant revoke its only current user key and lock itself out once the grace ran out.
    query = sql.SQL(
        "SELECT k.id FROM api_keys k WHERE k.role = 'user' AND k.rotated_at IS NULL AND {}"
        " ORDER BY k.id FOR UPDATE"
    ).format(sql.SQL(_LIVE))
    cur = await conn.execute(query)
    return [row[0] for row in await cur.fetchall()]


async def list_page(
    conn: Connection,
    *,
    include_inactive: bool,
    role: str | None,
    agent_id: UUID | None,
    page: Pagination,
) -> tuple[list[ApiKeyRow], int]:
    filters = (
        Filters()
        .when(not include_inactive, _LIVE)
        .given("k.role = %(role)s", role=role)
        .given("k.agent_id = %(agent)s", agent=agent_id)
    )
    return await _LISTING.page(conn, filters, "ORDER BY k.created_at DESC, k.id DESC", page)


async def revoke(conn: Connection, key_id: UUID) -> ApiKeyRow:
    return await returning(
        conn,
        ApiKeyRow,
        _written(
            "UPDATE api_keys SET revoked_at = now(), updated_at = now() WHERE id = %s RETURNING *"
        ),
        [key_id],
    )


async def mark_rotated(conn: Connection, key_id: UUID, grace_until: datetime) -> ApiKeyRow:
    return await returning(
        conn,
        ApiKeyRow,
        _written(
            """
            UPDATE api_keys
               SET rotated_at = now(), updated_at = now(),
                   expires_at = least(coalesce(expires_at, 'infinity'), %s)
             WHERE id = %s
            RETURNING *
            """
        ),
        [grace_until, key_id],
    )
