"""FastAPI dependencies: one role guard per route, which also authenticates the caller."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.routing import APIRoute

from loopctl.auth.principal import Principal, TenantRequired
from loopctl.auth.roles import Role
from loopctl.database.connections import RequestConn
from loopctl.kit.query import check_query_params
from loopctl.platform.errors import InsufficientRole


def client_address(request: Request) -> str:
    # uvicorn has already applied trusted proxy headers (LOOPCTL_TRUSTED_PROXIES).
    client = request.scope.get("client")
    return str(client[0]) if client else "unknown"


async def authenticate(request: Request, conn: RequestConn) -> Principal:
    """Resolve the request's key on its connection; the access log reads the state set here."""
    runtime = request.app.state.runtime
    # The scope's state dict itself: what request.state wraps, without the wrapper's cost.
    state = request.scope.setdefault("state", {})
    principal: Principal = await runtime.authenticator.authenticate(
        conn,
        request.headers.get("authorization"),
        client_address(request),
        state.get("request_id"),
    )
    state["tenant_id"] = principal.tenant_id
    state["key_prefix"] = principal.key_prefix
    return principal


class RoleGuard:
    """Admit keys whose role is at least ``minimum``; tenant routes also need a tenant.

    It authenticates by itself rather than depending on a separate principal dependency:
    every dependency level costs FastAPI a resolution pass on every request.
    """

    # Marks the routes that need no reject_unknown_query_params (api.include_api checks):
    # the guard checks the query after authentication and authorization, so 401 and 403
    # come before a 422.
    checks_query_params = True

    def __init__(self, minimum: Role, *, tenant: bool = True) -> None:
        self.minimum = minimum
        self.tenant = tenant

    async def __call__(self, request: Request, conn: RequestConn) -> Principal:
        principal = await authenticate(request, conn)
        if not principal.role.at_least(self.minimum):
            raise InsufficientRole(self.minimum.value, principal.role.value)
        if self.tenant and principal.tenant_id is None:
            raise TenantRequired()
        route = request.scope.get("route")
        if isinstance(route, APIRoute):
            check_query_params(request, route)
        return principal


AgentPrincipal = Annotated[Principal, Depends(RoleGuard(Role.agent))]
OrchestratorPrincipal = Annotated[Principal, Depends(RoleGuard(Role.orchestrator))]
UserPrincipal = Annotated[Principal, Depends(RoleGuard(Role.user))]
