"""Row types of tenants: the public shapes other domains may import."""

from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID


class TenantRow(NamedTuple):
    # A NamedTuple: immutable and cheap to build; GET /tenants/me builds one per request
    # (see auth.principal.Principal).
    id: UUID
    name: str
    slug: str
    email: str | None
    status: str
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime
