"""SQL for agents."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql

from loopctl.database.connections import Connection
from loopctl.kit import repository as write
from loopctl.kit.pagination import Pagination
from loopctl.kit.repository import Filters, Listing, fetch_one
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


async def insert(conn: Connection, values: Mapping[str, Any]) -> AgentRow:
    """``values``: tenant_id, id and the fields of an ``AgentRegister``."""
    return await write.insert(conn, AgentRow, "agents", values, now=("last_seen_at",))


async def get(conn: Connection, agent_id: UUID, *, for_update: bool = False) -> AgentRow | None:
    query = sql.SQL("SELECT * FROM agents WHERE id = %s{}").format(maybe(" FOR UPDATE", for_update))
    return await fetch_one(conn, AgentRow, query, [agent_id])


async def get_by_name(conn: Connection, name: str) -> AgentRow | None:
    return await fetch_one(conn, AgentRow, "SELECT * FROM agents WHERE name = %s", [name])


async def update_profile(conn: Connection, agent_id: UUID, values: Mapping[str, Any]) -> AgentRow:
    """``values``: the profile (``service.PROFILE``); registering is a sign of life."""
    return await write.update(
        conn, AgentRow, "agents", agent_id, values, also="last_seen_at = now()"
    )


_LISTING = Listing.table(AgentRow, "agents")


async def list_page(
    conn: Connection, *, agent_type: str | None, order_by: sql.Composed, page: Pagination
) -> tuple[list[AgentRow], int]:
    filters = Filters().given("agent_type = %(agent_type)s", agent_type=agent_type)
    return await _LISTING.page(conn, filters, order_by, page)
