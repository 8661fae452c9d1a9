"""SQL for agents."""

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
class AgentRow:
    tenant_id: UUID
    id: UUID
    name: str
    agent_type: str
    model: str | None
    provider: str | None
    metadata: dict[str, Any]
    last_seen_at: datetime | None
    created_at: datetime
    updated_at: datetime


async def insert(
    conn: Connection,
    *,
    tenant_id: UUID,
    id: UUID,
    name: str,
    agent_type: str,
    model: str | None,
    provider: str | None,
    metadata: dict[str, Any],
) -> AgentRow:
    async with conn.cursor(row_factory=class_row(AgentRow)) as cur:
        await cur.execute(
            """
            INSERT INTO agents (tenant_id, id, name, agent_type, model, provider, metadata,
                                last_seen_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, now())
            RETURNING *
            """,
            [tenant_id, id, name, agent_type, model, provider, Jsonb(metadata)],
        )
        row = await cur.fetchone()
        assert row is not None
        return row


async def get(conn: Connection, agent_id: UUID, *, for_update: bool = False) -> AgentRow | None:
    query = sql.SQL("SELECT * FROM agents WHERE id = %s{}").format(maybe(" FOR UPDATE", for_update))
    async with conn.cursor(row_factory=class_row(AgentRow)) as cur:
        await cur.execute(query, [agent_id])
        return await cur.fetchone()


async def get_by_name(conn: Connection, name: str) -> AgentRow | None:
    async with conn.cursor(row_factory=class_row(AgentRow)) as cur:
        await cur.execute("SELECT * FROM agents WHERE name = %s", [name])
        return await cur.fetchone()


async def update_profile(
    conn: Connection,
    agent_id: UUID,
    *,
    model: str | None,
    provider: str | None,
    metadata: dict[str, Any],
) -> AgentRow:
    async with conn.cursor(row_factory=class_row(AgentRow)) as cur:
        await cur.execute(
            """
            UPDATE agents SET model = %s, provider = %s, metadata = %s, last_seen_at = now(),
                              updated_at = now()
             WHERE id = %s
            RETURNING *
            """,
            [model, provider, Jsonb(metadata), agent_id],
        )
        row = await cur.fetchone()
        assert row is not None
        return row


async def list_page(
    conn: Connection,
    *,
    agent_type: str | None,
    order_by: sql.Composed,
    limit: int,
    offset: int,
) -> tuple[list[AgentRow], int]:
    where = sql.SQL("WHERE (%(agent_type)s::text IS NULL OR agent_type = %(agent_type)s)")
    params = {"agent_type": agent_type, "limit": limit, "offset": offset}
    async with conn.cursor(row_factory=class_row(AgentRow)) as cur:
        await cur.execute(
            sql.SQL("SELECT * FROM agents {} {} LIMIT %(limit)s OFFSET %(offset)s").format(
                where, order_by
            ),
            params,
        )
        rows = await cur.fetchall()
    count = await conn.execute(sql.SQL("SELECT count(*) FROM agents {}").format(where), params)
    total = await count.fetchone()
    return rows, int(total[0]) if total else 0
