"""Response models the client cannot take from the server without importing the database.

The tenant's schemas import its settings module, which loads settings from the database; these
mirror them field for field (tests/client/test_models.py holds them equal), with the settings
as a plain dict so a server with a newer setting still reads.
"""

from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from loopctl.api_keys.schemas import ApiKeyCreated
from loopctl.kit.schemas import Output, Timestamp


class TenantLimits(Output):
    rate_limit_per_minute: int
    max_api_keys: int


class Tenant(Output):
    id: UUID
    name: str
    slug: str
    email: str | None
    status: Literal["active", "suspended"]
    settings: dict[str, Any]
    limits: TenantLimits
    created_at: Timestamp
    updated_at: Timestamp


class TenantRegistered(Output):
    tenant: Tenant
    api_key: ApiKeyCreated


class AuditEntry(Output):
    """An audit entry (the server's audit/schemas.py imports FastAPI for its query types)."""

    id: UUID
    project_id: UUID | None = Field(description="The project the entity belongs to, if any")
    entity_type: str
    entity_id: UUID
    action: str
    actor_role: str
    actor_key_id: UUID | None
    actor_agent_id: UUID | None
    actor_label: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
    created_at: Timestamp
