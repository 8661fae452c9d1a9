"""Row types of projects: the public shapes other domains may import."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True, slots=True)
class ProjectRow:
    tenant_id: UUID
    id: UUID
    name: str
    slug: str
    description: str | None
    repo_url: str | None
    tech_stack: str | None
    mission: str | None
    status: str
    metadata: dict[str, Any]
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ProjectDetailRow(ProjectRow):
    epic_count: int
    story_count: int
