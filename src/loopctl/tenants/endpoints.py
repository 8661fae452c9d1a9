"""/api/v1/tenants"""

from fastapi import Depends, Request

from loopctl.api_keys import service as api_keys
from loopctl.api_keys.schemas import as_created
from loopctl.auth.dependencies import AgentPrincipal, UserPrincipal, client_address
from loopctl.auth.errors import SignupDisabled
from loopctl.database.connections import PublicConn, RequestConn
from loopctl.kit.openapi import errors
from loopctl.kit.query import reject_unknown_query_params
from loopctl.kit.routers import api_router
from loopctl.kit.schemas import Item
from loopctl.platform.errors import RateLimited
from loopctl.platform.runtime import RuntimeDep
from loopctl.tenants import service
from loopctl.tenants.errors import SlugTaken
from loopctl.tenants.schemas import Tenant, TenantRegister, TenantRegistered, TenantUpdate

router = api_router("/tenants", tag="tenants")


def signup_allowed(request: Request, rt: RuntimeDep) -> None:
    # A dependency, so that the rule is checked before the body is read.
    service.admit_signup(rt.settings, rt.authenticator, client_address(request))


@router.post(
    "/register",
    status_code=201,
    responses=errors(SlugTaken, SignupDisabled, RateLimited),
    dependencies=[Depends(signup_allowed), Depends(reject_unknown_query_params)],
)
async def register_tenant(
    body: TenantRegister, conn: PublicConn, rt: RuntimeDep, request: Request
) -> Item[TenantRegistered]:
    """Register a new tenant (no key needed); returns it and its first user key, shown once."""
    row, key, raw = await service.register(
        conn,
        body,
        rt.hasher,
        rt.settings,
        actor_label=f"signup:{client_address(request)}",
        request_id=getattr(request.state, "request_id", None),
    )
    return Item(
        data=TenantRegistered(
            tenant=service.view(row, rt.settings),
            api_key=as_created(api_keys.view(key), raw),
        )
    )


@router.get("/me")
async def get_my_tenant(
    conn: RequestConn, principal: AgentPrincipal, rt: RuntimeDep
) -> Item[Tenant]:
    """The caller's tenant: profile, settings and operator-set limits."""
    return Item(data=service.view(await service.get_current(conn, principal), rt.settings))


@router.patch("/me")
async def update_my_tenant(
    body: TenantUpdate, conn: RequestConn, principal: UserPrincipal, rt: RuntimeDep
) -> Item[Tenant]:
    """Change the tenant's name, email or settings (not its slug, status or limits)."""
    row = await service.update_current(conn, principal, body, rt.settings)
    return Item(data=service.view(row, rt.settings))
