"""Tenants: registration with a first user key, and the tenant's own profile and settings."""

from psycopg import errors as pg

from loopctl.api_keys import service as api_keys
from loopctl.api_keys.rows import ApiKeyRow
from loopctl.audit import service as audit
from loopctl.auth.errors import SignupDisabled
from loopctl.auth.keys import KeyHasher
from loopctl.auth.principal import Principal, SystemActor
from loopctl.auth.roles import Role
from loopctl.auth.service import Authenticator
from loopctl.database.connections import Connection, set_tenant
from loopctl.kit.ids import new_id
from loopctl.kit.patch import values_of
from loopctl.platform.config import Settings
from loopctl.tenants import repository
from loopctl.tenants import settings as tenant_settings
from loopctl.tenants.errors import SlugTaken
from loopctl.tenants.rows import TenantRow
from loopctl.tenants.schemas import Tenant, TenantLimits, TenantRegister, TenantUpdate


def view(row: TenantRow, config: Settings) -> Tenant:
    return Tenant(
        id=row.id,
        name=row.name,
        slug=row.slug,
        email=row.email,
        status=row.status,  # type: ignore[arg-type]  # the CHECK constraint keeps it in range
        settings=tenant_settings.parse(row.settings),
        limits=TenantLimits(
            rate_limit_per_minute=config.rate_limit_per_minute, max_api_keys=config.max_api_keys
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _trail(config: Settings) -> audit.Trail[TenantRow]:
    return audit.Trail("tenant", lambda row: view(row, config))


def admit_signup(config: Settings, authenticator: Authenticator, client: str) -> None:
    """The signup rule: registration is open (LOOPCTL_ALLOW_SIGNUP) and this client address
    is within its rate (LOOPCTL_SIGNUPS_PER_IP_PER_HOUR)."""
    if not config.allow_signup:
        raise SignupDisabled()
    authenticator.limit_signup(client)


async def register(
    conn: Connection,
    body: TenantRegister,
    hasher: KeyHasher,
    config: Settings,
    *,
    actor_label: str,
    request_id: str | None = None,
) -> tuple[TenantRow, ApiKeyRow, str]:
    """Create a tenant and its first user key, in the caller's transaction.

    Runs as the new tenant: row-level security admits exactly its own rows.
    """
    tenant_id = new_id()
    await set_tenant(conn, tenant_id)
    actor = SystemActor(tenant_id=tenant_id, label=actor_label, request_id=request_id)
    try:
        values = {"id": tenant_id, "settings": {}} | values_of(body, ("name", "slug", "email"))
        row = await repository.insert(conn, values)
    except pg.UniqueViolation as exc:
        raise SlugTaken(
            f"The slug {body.slug!r} is already taken", details={"slug": body.slug}
        ) from exc
    await _trail(config).created(conn, actor, row, "registered")
    key, raw = await api_keys.issue(
        conn, actor, hasher, name="first user key", role=Role.user, agent_id=None, expires_at=None
    )
    return row, key, raw


async def get_current(conn: Connection, principal: Principal) -> TenantRow:
    row = await repository.get(conn, principal.tenant)
    assert row is not None  # the key resolved, so its tenant exists and is visible
    return row


async def update_current(
    conn: Connection, principal: Principal, body: TenantUpdate, config: Settings
) -> TenantRow:
    current = await repository.get(conn, principal.tenant, for_update=True)
    assert current is not None
    fields = body.model_fields_set
    settings = tenant_settings.parse(current.settings)
    if body.settings is not None:
        settings = body.settings.apply(settings)
    values = {
        "name": body.name if body.name is not None else current.name,
        "email": body.email if "email" in fields else current.email,
        "settings": settings.model_dump(),
    }
    updated = await repository.update(conn, current.id, values)
    await _trail(config).changed(conn, principal, current, updated)
    return updated
