"""SQL for epics."""

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
class EpicRow:
    tenant_id: UUID
    id: UUID
    project_id: UUID
    number: int
    title: str
    description: str | None
    phase: str | None
    position: int
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


async def insert(
    conn: Connection,
    *,
    tenant_id: UUID,
    id: UUID,
    project_id: UUID,
    number: int,
    title: str,
    description: str | None,
    phase: str | None,
    position: int,
    metadata: dict[str, Any],
) -> EpicRow:
    async with conn.cursor(row_factory=class_row(EpicRow)) as cur:
        await cur.execute(
            """
            INSERT INTO epics (tenant_id, id, project_id, number, title, description, phase,
                               position, metadata)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            RETURNING *
            """,
            [
                tenant_id,
                id,
                project_id,
                number,
                title,
                description,
                phase,
                position,
                Jsonb(metadata),
            ],
        )
        row = await cur.fetchone()
        assert row is not None
        return row


async def get(conn: Connection, epic_id: UUID, *, for_update: bool = False) -> EpicRow | None:
    query = sql.SQL("SELECT * FROM epics WHERE id = %s{}").format(maybe(" FOR UPDATE", for_update))
    async with conn.cursor(row_factory=class_row(EpicRow)) as cur:
        await cur.execute(query, [epic_id])
        return await cur.fetchone()


async def get_by_number(conn: Connection, project_id: UUID, number: int) -> EpicRow | None:
    async with conn.cursor(row_factory=class_row(EpicRow)) as cur:
        await cur.execute(
            "SELECT * FROM epics WHERE project_id = %s AND number = %s", [project_id, number]
        )
        return await cur.fetchone()
