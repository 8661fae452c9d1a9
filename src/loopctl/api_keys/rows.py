"""Row types of api keys: the public shapes other domains may import."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    tenant_id: UUID
    id: UUID
    name: str
    key_prefix: str
    role: str
    agent_id: UUID | None
    agent_name: str | None
    expires_at: datetime | None
    revoked_at: datetime | None
    rotated_at: datetime | None
    replaces_key_id: UUID | None
    last_used_at: datetime | None
    created_by_key_id: UUID | None
    created_at: datetime
    updated_at: datetime
    status: str
