"""SQL of orchestrator checkpoints: the latest version, the history, and a new version."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from loopctl.database.connections import Connection
from loopctl.kit.pagination import Pagination
from loopctl.kit.repository import Filters, Listing, fetch_one, returning


@dataclass(frozen=True, slots=True)
class StateRow:
    tenant_id: UUID
    id: UUID
    version: int
    project_id: UUID
    state_key: str
    state_data: dict[str, Any]
    cursor: str | None
    saved_by: str
    saved_by_key_id: UUID | None
    saved_by_agent_id: UUID | None
    inserted_at: datetime
    saved_at: datetime


async def latest(conn: Connection, project_id: UUID, state_key: str) -> StateRow | None:
    return await fetch_one(
        conn,
        StateRow,
        "SELECT * FROM orchestrator_states WHERE project_id = %s AND state_key = %s"
        " ORDER BY version DESC LIMIT 1",
        [project_id, state_key],
    )


_LISTING = Listing.table(StateRow, "orchestrator_states")


async def history(
    conn: Connection, project_id: UUID, state_key: str, page: Pagination
) -> tuple[list[StateRow], int]:
    filters = (
        Filters()
        .given("project_id = %(project_id)s", project_id=project_id)
        .given("state_key = %(state_key)s", state_key=state_key)
    )
    return await _LISTING.page(conn, filters, "ORDER BY version DESC", page)


async def insert(
    conn: Connection,
    *,
    tenant_id: UUID,
    id: UUID,
    version: int,
    project_id: UUID,
    state_key: str,
    state_data: dict[str, Any],
    cursor: str | None,
    saved_by: str,
    saved_by_key_id: UUID | None,
    saved_by_agent_id: UUID | None,
    inserted_at: datetime | None,
) -> StateRow:
    """A new version; a first version's ``inserted_at`` (None) is its own ``saved_at``."""
    return await returning(
        conn,
        StateRow,
        """
        INSERT INTO orchestrator_states
          (tenant_id, id, version, project_id, state_key, state_data, cursor, saved_by,
           saved_by_key_id, saved_by_agent_id, inserted_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, coalesce(%s, now()))
        RETURNING *
        """,
        [
            tenant_id,
            id,
            version,
            project_id,
            state_key,
            Jsonb(state_data),
            cursor,
            saved_by,
            saved_by_key_id,
            saved_by_agent_id,
            inserted_at,
        ],
    )
