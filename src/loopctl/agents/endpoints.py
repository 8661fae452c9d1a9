"""/api/v1/agents"""

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query, Response

from loopctl.agents import service
from loopctl.agents.errors import AgentNameTaken, AgentNotFound, KeyBoundToOtherAgent
from loopctl.agents.schemas import Agent, AgentRegister, AgentType
from loopctl.auth.dependencies import AgentPrincipal, OrchestratorPrincipal
from loopctl.database.connections import RequestConn
from loopctl.kit.openapi import errors
from loopctl.kit.pagination import PageParams, page_of
from loopctl.kit.routers import api_router
from loopctl.kit.schemas import Item, Page
from loopctl.kit.sorting import sort_query

router = api_router("/agents", tag="agents")


@router.post(
    "/register",
    status_code=201,
    responses=errors(AgentNameTaken, KeyBoundToOtherAgent),
)
async def register_agent(
    body: AgentRegister, conn: RequestConn, principal: AgentPrincipal, response: Response
) -> Item[Agent]:
    """Register an agent (user keys: 201), or describe the caller's own agent (agent and orchestrator keys: 200)."""
    row, created = await service.register(conn, principal, body)
    response.status_code = 201 if created else 200
    return Item(data=service.view(row))


@router.get("")
async def list_agents(
    conn: RequestConn,
    principal: OrchestratorPrincipal,
    page: PageParams,
    agent_type: Annotated[AgentType | None, Query(description="Only agents of this type")] = None,
    sort: Annotated[
        str | None, Depends(sort_query("name, agent_type, last_seen_at, created_at", "name"))
    ] = None,
) -> Page[Agent]:
    """List the tenant's agents."""
    rows, total = await service.list_agents(
        conn, principal, agent_type=agent_type, sort=sort, page=page
    )
    return page_of([service.view(r) for r in rows], total, page)


@router.get("/{agent_id}", responses=errors(AgentNotFound))
async def get_agent(
    agent_id: UUID, conn: RequestConn, principal: OrchestratorPrincipal
) -> Item[Agent]:
    """Show one agent."""
    return Item(data=service.view(await service.get(conn, principal, agent_id)))
