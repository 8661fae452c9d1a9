"""Who is acting: a key's identity for requests, or a named system actor."""

from dataclasses import dataclass
from typing import NamedTuple
from uuid import UUID

from loopctl.auth.roles import Role
from loopctl.platform.errors import BadRequest


class TenantRequired(BadRequest):
    code = "tenant_context_required"
    default_message = (
        "This endpoint acts on one tenant's data and a superadmin key has no tenant; "
        "use a key of the tenant (superadmin impersonation is not available yet)"
    )


class Principal(NamedTuple):
    """The caller of a request, resolved from its API key.

    A NamedTuple rather than a frozen dataclass: as immutable, and built several times
    faster (a frozen dataclass sets each field through ``object.__setattr__``); one is
    built for every authenticated request.
    """

    tenant_id: UUID | None
    role: Role
    label: str
    key_id: UUID | None = None
    key_prefix: str | None = None
    agent_id: UUID | None = None
    request_id: str | None = None
    # The key was replaced by rotation and is in its grace period: it may authenticate
    # ordinary calls, but not manage keys (else it could revoke its own successor).
    in_grace: bool = False

    @property
    def role_name(self) -> str:
        return self.role.value

    @property
    def tenant(self) -> UUID:
        if self.tenant_id is None:
            raise TenantRequired()
        return self.tenant_id


@dataclass(frozen=True, slots=True)
class SystemActor:
    """An actor with no key: public signup, first-start bootstrap, operator commands."""

    tenant_id: UUID | None
    label: str
    role_name: str = "system"
    request_id: str | None = None
    key_id: UUID | None = None
    agent_id: UUID | None = None

    @property
    def tenant(self) -> UUID:
        if self.tenant_id is None:
            raise TenantRequired()
        return self.tenant_id


Actor = Principal | SystemActor
