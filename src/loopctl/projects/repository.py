"""SQL for projects."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from loopctl.db import Connection
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
    metadata: dict[str, Any],
) -> ProjectRow:
    async with conn.cursor(row_factory=class_row(ProjectRow)) as cur:
        await cur.execute(
            """
            INSERT INTO projects (tenant_id, id, name, slug, description, repo_url, tech_stack,
                                  metadata)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
            RETURNING *
            """,
            [tenant_id, id, name, slug, description, repo_url, tech_stack, Jsonb(metadata)],
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
