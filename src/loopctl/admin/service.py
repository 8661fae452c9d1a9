"""Operator actions on the server host: they run with the admin role, and are all audited."""

from datetime import datetime
from uuid import UUID

from loopctl.admin import repository
from loopctl.audit import service as audit
from loopctl.auth.keys import KeyHasher, display_prefix, generate_key
from loopctl.auth.principal import SystemActor
from loopctl.database.connections import Connection
from loopctl.kit.ids import new_id
from loopctl.platform.config import Settings
from loopctl.platform.errors import NotFound
from loopctl.tenants import service as tenants
from loopctl.tenants.rows import TenantRow


class TenantNotFound(NotFound):
    code = "tenant_not_found"
    default_message = "No tenant with this slug"


async def count_tenants(conn: Connection) -> int:
    return await repository.count_tenants(conn)


async def create_superadmin_key(
    conn: Connection, hasher: KeyHasher, *, name: str, expires_at: datetime | None, operator: str
) -> tuple[UUID, str]:
    raw = generate_key()
    key_id = new_id()
    await repository.insert_superadmin_key(
        conn,
        id=key_id,
        name=name,
        key_hash=hasher.digest(raw),
        key_prefix=display_prefix(raw),
        expires_at=expires_at,
    )
    await repository.insert_platform_audit(
        conn,
        id=new_id(),
        entity_type="superadmin_key",
        entity_id=key_id,
        action="created",
        actor_label=operator,
        before=None,
        after={
            "name": name,
            "key_prefix": display_prefix(raw),
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return key_id, raw


async def set_tenant_status(
    conn: Connection, config: Settings, *, slug: str, status: str, operator: str
) -> TenantRow:
    current = await repository.tenant_by_slug(conn, slug)
    if current is None:
        raise TenantNotFound(f"No tenant with slug {slug!r}")
    if current.status == status:
        return current
    updated = await repository.set_tenant_status(conn, current.id, status)
    before, after = tenants.view(current, config), tenants.view(updated, config)
    action = "suspended" if status == "suspended" else "activated"
    actor = SystemActor(tenant_id=current.id, label=operator, role_name="operator")
    # The tenant sees in its own audit log what the operator did to it.
    await audit.record(
        conn,
        actor,
        entity_type="tenant",
        entity_id=current.id,
        action=action,
        before=before,
        after=after,
    )
    await repository.insert_platform_audit(
        conn,
        id=new_id(),
        entity_type="tenant",
        entity_id=current.id,
        action=action,
        actor_label=operator,
        before=before.model_dump(mode="json"),
        after=after.model_dump(mode="json"),
    )
    return updated
