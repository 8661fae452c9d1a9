"""API keys: issue, list, revoke, rotate. Keys are shown once and stored only as hashes."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from loopctl.agents import service as agents
from loopctl.agents.schemas import AgentRegister, AgentType
from loopctl.api_keys import repository
from loopctl.api_keys.errors import (
    AgentKeyExists,
    ApiKeyLimitReached,
    ApiKeyNotFound,
    ApiKeyNotRotatable,
    KeyInGracePeriod,
    LastUserKey,
    RoleTooHigh,
)
from loopctl.api_keys.rows import ApiKeyRow
from loopctl.api_keys.schemas import ApiKey, ApiKeyCreate, ApiKeyRotate
from loopctl.audit import service as audit
from loopctl.auth.keys import KeyHasher, display_prefix, generate_key
from loopctl.auth.principal import Actor, Principal
from loopctl.auth.roles import Role
from loopctl.database.connections import Connection
from loopctl.kit.ids import new_id
from loopctl.kit.lookup import found
from loopctl.kit.pagination import Pagination
from loopctl.platform.errors import UnprocessableEntity
from loopctl.tenants import settings as tenant_settings

AGENT_TYPE_FOR_ROLE: dict[Role, AgentType] = {
    Role.agent: "implementer",
    Role.orchestrator: "orchestrator",
}


@dataclass(frozen=True)
class KeyPolicy:
    hasher: KeyHasher
    max_live_keys: int


def view(row: ApiKeyRow) -> ApiKey:
    return ApiKey.model_validate(row)


TRAIL = audit.Trail("api_key", view)


async def issue(
    conn: Connection,
    actor: Actor,
    hasher: KeyHasher,
    *,
    name: str,
    role: Role,
    agent_id: UUID | None,
    expires_at: datetime | None,
    replaces_key_id: UUID | None = None,
) -> tuple[ApiKeyRow, str]:
    """Mint a key and record it; returns the row and the raw key (never stored)."""
    raw = generate_key()
    row = await repository.insert(
        conn,
        {
            "tenant_id": actor.tenant,
            "id": new_id(),
            "name": name,
            "key_hash": hasher.digest(raw),
            "key_prefix": display_prefix(raw),
            "role": role.value,
            "agent_id": agent_id,
            "expires_at": expires_at,
            "replaces_key_id": replaces_key_id,
            "created_by_key_id": actor.key_id,
        },
    )
    await TRAIL.created(conn, actor, row)
    return row, raw


def _expiry(requested: datetime | None, ttl_days: int | None, field: str) -> datetime | None:
    now = datetime.now(UTC)
    if requested is None:
        return now + timedelta(days=ttl_days) if ttl_days else None
    if requested <= now:
        raise UnprocessableEntity.for_field(field, "must be in the future")
    return requested


async def _bind_agent(conn: Connection, principal: Principal, body: ApiKeyCreate) -> UUID:
    expected = AGENT_TYPE_FOR_ROLE[Role(body.role)]
    agent = await agents.find(conn, agent_id=body.agent_id, name=body.agent_name)
    if agent is None:
        if body.agent_id is not None:
            raise UnprocessableEntity.for_field("agent_id", "no agent with this id")
        assert body.agent_name is not None
        agent = await agents.create(
            conn, principal, AgentRegister(name=body.agent_name, agent_type=expected)
        )
    elif agent.agent_type != expected:
        field = "agent_id" if body.agent_id is not None else "agent_name"
        raise UnprocessableEntity.for_field(
            field,
            f"agent {agent.name!r} is an {agent.agent_type}; {body.role} keys bind "
            f"{expected} agents (one agent, one role)",
        )
    current = await repository.current_for_agent(conn, agent.id)
    if current is not None:
        if current.status != "expired":
            raise AgentKeyExists(
                details={
                    "agent_id": str(agent.id),
                    "api_key_id": str(current.id),
                    "key_prefix": current.key_prefix,
                }
            )
        # An expired key no longer counts as the agent's key: retire it for good.
        revoked = await repository.revoke(conn, current.id)
        await TRAIL.changed(conn, principal, current, revoked, "revoked")
    return agent.id


def _require_current_key(principal: Principal) -> None:
    """Keys are managed only with a current key, never one in its rotation grace period."""
    if principal.in_grace:
        raise KeyInGracePeriod(details={"api_key_id": str(principal.key_id)})


async def create(
    conn: Connection, principal: Principal, body: ApiKeyCreate, policy: KeyPolicy
) -> tuple[ApiKeyRow, str]:
    _require_current_key(principal)
    role = Role(body.role)
    if not principal.role.at_least(role):
        raise RoleTooHigh(
            f"A {principal.role.value} key cannot create a {role.value} key",
            details={"role": principal.role.value, "requested_role": role.value},
        )
    # Serializes key creation per tenant so concurrent requests cannot pass the quota.
    settings = await tenant_settings.load(conn, principal.tenant, lock=True)
    if await repository.count_live(conn) >= policy.max_live_keys:
        raise ApiKeyLimitReached(details={"limit": policy.max_live_keys})
    expires_at = _expiry(body.expires_at, settings.api_key_default_ttl_days, "expires_at")
    agent_id = await _bind_agent(conn, principal, body) if role is not Role.user else None
    return await issue(
        conn,
        principal,
        policy.hasher,
        name=body.name,
        role=role,
        agent_id=agent_id,
        expires_at=expires_at,
    )


async def get(conn: Connection, principal: Principal, key_id: UUID) -> ApiKeyRow:  # noqa: ARG001 (the shape of every service; RLS scopes it)
    return found(await repository.get(conn, key_id), ApiKeyNotFound)


async def current(conn: Connection, principal: Principal) -> ApiKeyRow:
    """The key the caller authenticated with: any role may read its own."""
    row = await repository.get(conn, principal.key_id) if principal.key_id else None
    if row is None:
        raise ApiKeyNotFound()
    return row


async def list_keys(
    conn: Connection,
    principal: Principal,  # noqa: ARG001 (the shape of every service; RLS scopes it)
    *,
    include_revoked: bool,
    role: str | None,
    agent_id: UUID | None,
    page: Pagination,
) -> tuple[list[ApiKeyRow], int]:
    return await repository.list_page(
        conn,
        include_inactive=include_revoked,
        role=role,
        agent_id=agent_id,
        page=page,
    )


async def revoke(conn: Connection, principal: Principal, key_id: UUID) -> ApiKeyRow:
    _require_current_key(principal)
    row = found(await repository.get(conn, key_id, for_update=True), ApiKeyNotFound)
    if row.revoked_at is not None:
        return row
    if row.role == Role.user.value and row.status in ("active", "rotated"):
        live = await repository.lock_live_user_keys(conn)
        if live == [row.id]:
            raise LastUserKey()
    revoked = await repository.revoke(conn, key_id)
    await TRAIL.changed(conn, principal, row, revoked, "revoked")
    return revoked


async def rotate(
    conn: Connection, principal: Principal, key_id: UUID, body: ApiKeyRotate, policy: KeyPolicy
) -> tuple[ApiKeyRow, str, ApiKeyRow]:
    """Issue a replacement; the old key keeps working for the grace period, then stops."""
    _require_current_key(principal)
    row = found(await repository.get(conn, key_id, for_update=True), ApiKeyNotFound)
    if row.status != "active":
        raise ApiKeyNotRotatable(
            f"This key is {row.status}; only an active key can be rotated",
            details={"status": row.status},
        )
    settings = await tenant_settings.load(conn, principal.tenant)
    grace = body.grace_period_hours
    if grace is None:
        grace = settings.api_key_rotation_grace_hours
    expires_at = _expiry(body.expires_at, settings.api_key_default_ttl_days, "expires_at")
    old = await repository.mark_rotated(conn, key_id, datetime.now(UTC) + timedelta(hours=grace))
    await TRAIL.changed(conn, principal, row, old, "rotated")
    new, raw = await issue(
        conn,
        principal,
        policy.hasher,
        name=row.name,
        role=Role(row.role),
        agent_id=row.agent_id,
        expires_at=expires_at,
        replaces_key_id=row.id,
    )
    return new, raw, old
