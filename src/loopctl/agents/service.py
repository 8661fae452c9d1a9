"""Agents: the identities that agent and orchestrator keys are bound to."""

from uuid import UUID

from psycopg import errors as pg

from loopctl.agents import repository
from loopctl.agents.errors import AgentNameTaken, AgentNotFound, KeyBoundToOtherAgent
from loopctl.agents.repository import AgentRow
from loopctl.agents.schemas import Agent, AgentRegister
from loopctl.audit import service as audit
from loopctl.auth.principal import Actor, Principal
from loopctl.auth.roles import Role
from loopctl.database.connections import Connection
from loopctl.kit.ids import new_id
from loopctl.kit.lookup import found
from loopctl.kit.pagination import Pagination
from loopctl.kit.patch import unchanged, values_of
from loopctl.kit.sorting import order_by


def view(row: AgentRow) -> Agent:
    return Agent.model_validate(row)


TRAIL = audit.Trail("agent", view)


PROFILE = ("model", "provider", "metadata")
CREATED = ("name", "agent_type", *PROFILE)
SORTABLE = {
    "name": "name",
    "agent_type": "agent_type",
    "last_seen_at": "last_seen_at",
    "created_at": "created_at",
}


async def create(conn: Connection, actor: Actor, body: AgentRegister) -> AgentRow:
    try:
        owner = {"tenant_id": actor.tenant, "id": new_id()}
        row = await repository.insert(conn, owner | values_of(body, CREATED))
    except pg.UniqueViolation as exc:
        raise AgentNameTaken(
            f"An agent named {body.name!r} already exists in this tenant",
            details={"name": body.name},
        ) from exc
    await TRAIL.created(conn, actor, row, "registered")
    return row


async def register(
    conn: Connection, principal: Principal, body: AgentRegister
) -> tuple[AgentRow, bool]:
    """A user creates an agent; an agent or orchestrator key describes its own agent.

    Returns the agent and whether it was created.
    """
    if principal.role.at_least(Role.user):
        return await create(conn, principal, body), True
    assert principal.agent_id is not None  # agent and orchestrator keys are always bound
    bound = await repository.get(conn, principal.agent_id, for_update=True)
    assert bound is not None
    if body.name != bound.name or body.agent_type != bound.agent_type:
        raise KeyBoundToOtherAgent(
            f"This key belongs to agent {bound.name!r} ({bound.agent_type}); register with "
            "that name and type, or have a user create a key for the other agent",
            details={"agent_id": str(bound.id), "name": bound.name, "agent_type": bound.agent_type},
        )
    updated = await repository.update_profile(conn, bound.id, values_of(body, PROFILE))
    if not unchanged(values_of(updated, PROFILE), bound):
        await TRAIL.changed(conn, principal, bound, updated)
    return updated, False


async def get(conn: Connection, principal: Principal, agent_id: UUID) -> AgentRow:  # noqa: ARG001 (the shape of every service; RLS scopes it)
    return found(await repository.get(conn, agent_id), AgentNotFound)


async def find(conn: Connection, *, agent_id: UUID | None, name: str | None) -> AgentRow | None:
    if agent_id is not None:
        return await repository.get(conn, agent_id, for_update=True)
    assert name is not None
    return await repository.get_by_name(conn, name)


async def list_agents(
    conn: Connection,
    principal: Principal,  # noqa: ARG001 (the shape of every service; RLS scopes it)
    *,
    agent_type: str | None,
    sort: str | None,
    page: Pagination,
) -> tuple[list[AgentRow], int]:
    return await repository.list_page(
        conn, agent_type=agent_type, order_by=order_by(sort, SORTABLE, "name"), page=page
    )
