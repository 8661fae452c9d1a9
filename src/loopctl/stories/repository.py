"""SQL for stories."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from loopctl.db import Connection
from loopctl.kit.sql import maybe

_SELECT = sql.SQL(
    "SELECT s.tenant_id, s.id, s.project_id, s.epic_id, e.number AS epic_number, s.number,"
    " s.title, s.description, s.acceptance_criteria, s.estimated_hours, s.metadata,"
    " s.agent_status, s.verified_status, s.created_at, s.updated_at"
    " FROM stories s JOIN epics e ON e.tenant_id = s.tenant_id AND e.id = s.epic_id"
)


@dataclass(frozen=True, slots=True)
class StoryRow:
    tenant_id: UUID
    id: UUID
    project_id: UUID
    epic_id: UUID
    epic_number: int
    number: str
    title: str
    description: str | None
    acceptance_criteria: list[dict[str, Any]]
    estimated_hours: Decimal | None
    metadata: dict[str, Any]
    agent_status: str
    verified_status: str
    created_at: datetime
    updated_at: datetime


async def insert(
    conn: Connection,
    *,
    tenant_id: UUID,
    id: UUID,
    project_id: UUID,
    epic_id: UUID,
    number: str,
    title: str,
    description: str | None,
    acceptance_criteria: list[dict[str, str]],
    estimated_hours: Decimal | None,
    metadata: dict[str, Any],
) -> StoryRow:
    await conn.execute(
        """
        INSERT INTO stories (tenant_id, id, project_id, epic_id, number, title, description,
                             acceptance_criteria, estimated_hours, metadata)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        """,
        [
            tenant_id,
            id,
            project_id,
            epic_id,
            number,
            title,
            description,
            Jsonb(acceptance_criteria),
            estimated_hours,
            Jsonb(metadata),
        ],
    )
    row = await get(conn, id)
    assert row is not None
    return row


async def get(conn: Connection, story_id: UUID, *, for_update: bool = False) -> StoryRow | None:
    query = sql.SQL("{} WHERE s.id = %s{}").format(_SELECT, maybe(" FOR UPDATE OF s", for_update))
    async with conn.cursor(row_factory=class_row(StoryRow)) as cur:
        await cur.execute(query, [story_id])
        return await cur.fetchone()
