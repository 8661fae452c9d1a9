"""Row types of stories: the public shapes other domains may import."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID


@dataclass(frozen=True, slots=True)
class StoryValues:
    """The columns a story's writer gives (an import writes these in bulk)."""

    id: UUID
    epic_id: UUID
    number: str
    title: str
    description: str | None
    acceptance_criteria: list[dict[str, Any]]
    estimated_hours: Decimal | None
    metadata: dict[str, Any]
    agent_status: str
    verified_status: str


@dataclass(frozen=True, slots=True)
class StoryFields(StoryValues):
    """A story's own columns, without its tenant, project and epic number: what import and
    export read and compare."""

    created_at: datetime
    updated_at: datetime
