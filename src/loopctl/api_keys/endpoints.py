"""/api/v1/api_keys"""

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query

from loopctl.api_keys import service
from loopctl.api_keys.errors import (
    AgentKeyExists,
    ApiKeyLimitReached,
    ApiKeyNotFound,
    ApiKeyNotRotatable,
    KeyInGracePeriod,
    LastUserKey,
    RoleTooHigh,
)
from loopctl.api_keys.schemas import (
    ApiKey,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRotate,
    ApiKeyRotated,
    KeyRole,
    as_created,
)
from loopctl.api_keys.service import KeyPolicy
from loopctl.auth.dependencies import AgentPrincipal, UserPrincipal
from loopctl.database.connections import RequestConn
from loopctl.kit.openapi import errors
from loopctl.kit.pagination import PageParams, page_of
from loopctl.kit.routers import api_router
from loopctl.kit.schemas import Item, Page
from loopctl.platform.runtime import RuntimeDep

router = api_router("/api_keys", tag="api keys")


def key_policy(runtime: RuntimeDep) -> KeyPolicy:
    return KeyPolicy(runtime.hasher, runtime.settings.max_api_keys)


Policy = Annotated[KeyPolicy, Depends(key_policy)]


@router.post(
    "",
    status_code=201,
    responses=errors(RoleTooHigh, KeyInGracePeriod, ApiKeyLimitReached, AgentKeyExists),
)
async def create_api_key(
    body: ApiKeyCreate, conn: RequestConn, principal: UserPrincipal, policy: Policy
) -> Item[ApiKeyCreated]:
    """Create a key; the raw key is in this response only. Agent and orchestrator keys are bound to an agent."""
    row, raw = await service.create(conn, principal, body, policy)
    return Item(data=as_created(service.view(row), raw))


@router.get("")
async def list_api_keys(
    conn: RequestConn,
    principal: UserPrincipal,
    page: PageParams,
    include_revoked: Annotated[
        bool, Query(description="Also list revoked and expired keys")
    ] = False,
    role: Annotated[KeyRole | None, Query(description="Only keys of this role")] = None,
    agent_id: Annotated[UUID | None, Query(description="Only keys bound to this agent")] = None,
) -> Page[ApiKey]:
    """List the tenant's keys, newest first (live keys unless include_revoked)."""
    rows, total = await service.list_keys(
        conn, principal, include_revoked=include_revoked, role=role, agent_id=agent_id, page=page
    )
    return page_of([service.view(r) for r in rows], total, page)


# Before /{api_key_id}, which would take "me" for a malformed id.
@router.get("/me", responses=errors(ApiKeyNotFound))
async def get_my_api_key(conn: RequestConn, principal: AgentPrincipal) -> Item[ApiKey]:
    """The calling key itself: its role, its agent, its status (never its secret)."""
    return Item(data=service.view(await service.current(conn, principal)))


@router.get("/{api_key_id}", responses=errors(ApiKeyNotFound))
async def get_api_key(
    api_key_id: UUID, conn: RequestConn, principal: UserPrincipal
) -> Item[ApiKey]:
    """Show one key (never its secret)."""
    return Item(data=service.view(await service.get(conn, principal, api_key_id)))


@router.delete(
    "/{api_key_id}",
    responses=errors(ApiKeyNotFound, KeyInGracePeriod, LastUserKey),
)
async def revoke_api_key(
    api_key_id: UUID, conn: RequestConn, principal: UserPrincipal
) -> Item[ApiKey]:
    """Revoke a key; it stops working on the next request, in every server process."""
    return Item(data=service.view(await service.revoke(conn, principal, api_key_id)))


@router.post(
    "/{api_key_id}/rotate",
    status_code=201,
    responses=errors(ApiKeyNotFound, KeyInGracePeriod, ApiKeyNotRotatable),
)
async def rotate_api_key(
    api_key_id: UUID,
    conn: RequestConn,
    principal: UserPrincipal,
    policy: Policy,
    body: ApiKeyRotate | None = None,
) -> Item[ApiKeyRotated]:
    """Replace a key: the new key is returned once; the old one works until the grace period ends."""
    new, raw, old = await service.rotate(
        conn, principal, api_key_id, body or ApiKeyRotate(), policy
    )
    return Item(
        data=ApiKeyRotated(new_key=as_created(service.view(new), raw), old_key=service.view(old))
    )
