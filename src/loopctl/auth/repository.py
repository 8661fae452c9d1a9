"""SQL for authentication: key resolution, usage timestamps and rate-limit counters."""

from collections.abc import Sequence
from datetime import datetime
from typing import LiteralString, NamedTuple
from uuid import UUID

from psycopg import sql

from loopctl.database.connections import Connection, fetch_row


class KeyIdentity(NamedTuple):
    # A NamedTuple: immutable and cheap to build, once per authenticated request
    # (see auth.principal.Principal).
    key_id: UUID
    tenant_id: UUID | None
    role: str
    agent_id: UUID | None
    key_name: str
    key_prefix: str
    tenant_status: str
    agent_name: str | None
    # Replaced by rotation: works until its grace period ends, but may not manage keys.
    in_grace: bool


# The columns in KeyIdentity's order (a test holds them together).
_RESOLVE = """
    SELECT key_id, tenant_id, role, agent_id, key_name, key_prefix, tenant_status, agent_name,
           in_grace
      FROM loopctl_resolve_api_key(%s)
"""


async def resolve_key(conn: Connection, digest: str) -> KeyIdentity | None:
    """Find a live key by its hash; sets the transaction's tenant to the key's tenant."""
    # fetch_row and a plain tuple: a new cursor, with or without a row factory, costs more
    # than the rest of this function, and it runs on every authenticated request.
    row = await fetch_row(conn, _RESOLVE, [digest])
    return None if row is None else KeyIdentity(*row)


def _touch(table: LiteralString, column: LiteralString) -> sql.Composed:
    """Each row's ``column`` moved forward to its time, never back (out-of-order flushes)."""
    return sql.SQL("""
        UPDATE {table} t SET {column} = v.at
          FROM unnest(%s::uuid[], %s::timestamptz[]) AS v(id, at)
         WHERE t.id = v.id AND (t.{column} IS NULL OR t.{column} < v.at)
        """).format(table=sql.Identifier(table), column=sql.Identifier(column))


_TOUCH_KEYS = _touch("api_keys", "last_used_at")
_TOUCH_AGENTS = _touch("agents", "last_seen_at")


async def touch_keys(conn: Connection, ids: Sequence[UUID], times: Sequence[datetime]) -> None:
    await conn.execute(_TOUCH_KEYS, [list(ids), list(times)])


async def touch_agents(conn: Connection, ids: Sequence[UUID], times: Sequence[datetime]) -> None:
    await conn.execute(_TOUCH_AGENTS, [list(ids), list(times)])


async def add_hits(conn: Connection, rows: Sequence[tuple[bytes, int, int, int]]) -> None:
    # Rows arrive sorted, so concurrent processes lock counter rows in the same order.
    await conn.execute(
        """
        INSERT INTO rate_limit_counters (bucket, window_start, window_seconds, hits)
        SELECT * FROM unnest(%s::bytea[], %s::bigint[], %s::int[], %s::int[])
        ON CONFLICT (bucket, window_start)
        DO UPDATE SET hits = rate_limit_counters.hits + excluded.hits
        """,
        [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]],
    )


async def read_hits(
    conn: Connection, buckets: Sequence[bytes], oldest: int
) -> list[tuple[bytes, int, int]]:
    if not buckets:
        return []
    cur = await conn.execute(
        """
        SELECT bucket, window_start, hits FROM rate_limit_counters
         WHERE bucket = ANY(%s) AND window_start >= %s
        """,
        [list(buckets), oldest],
    )
    return [(bytes(row[0]), int(row[1]), int(row[2])) for row in await cur.fetchall()]


async def prune_hits(conn: Connection, now: int) -> None:
    await conn.execute(
        "DELETE FROM rate_limit_counters WHERE window_start + 2 * window_seconds < %s", [now]
    )
