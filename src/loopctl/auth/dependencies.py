"""FastAPI dependencies: the authenticated principal and one role guard per route."""

from typing import Annotated

from fastapi import Depends, Request

from loopctl.auth.principal import Principal, TenantRequired
from loopctl.auth.roles import Role
from loopctl.db import RequestConn
from loopctl.errors import InsufficientRole


def client_address(request: Request) -> str:
    # uvicorn has already applied trusted proxy headers (LOOPCTL_TRUSTED_PROXIES).
    return request.client.host if request.client else "unknown"


async def get_principal(request: Request, conn: RequestConn) -> Principal:
    runtime = request.app.state.runtime
    principal: Principal = await runtime.authenticator.authenticate(
        conn,
        request.headers.get("authorization"),
        client_address(request),
        getattr(request.state, "request_id", None),
    )
    request.state.tenant_id = principal.tenant_id
    request.state.key_prefix = principal.key_prefix
    return principal


class RoleGuard:
    """Admit keys whose role is at least ``minimum``; tenant routes also need a tenant."""

    def __init__(self, minimum: Role, *, tenant: bool = True) -> None:
        self.minimum = minimum
        self.tenant = tenant

    async def __call__(self, principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.role.at_least(self.minimum):
            raise InsufficientRole(self.minimum.value, principal.role.value)
        if self.tenant and principal.tenant_id is None:
            raise TenantRequired()
        return principal


AgentPrincipal = Annotated[Principal, Depends(RoleGuard(Role.agent))]
OrchestratorPrincipal = Annotated[Principal, Depends(RoleGuard(Role.orchestrator))]
UserPrincipal = Annotated[Principal, Depends(RoleGuard(Role.user))]
