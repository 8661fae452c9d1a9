"""Row types of epics: the public shapes other domains may import."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True, slots=True)
class EpicValues:
    """The columns an epic's writer gives (an import writes these in bulk)."""

    id: UUID
    number: int
    title: str
    description: str | None
    phase: str | None
    position: int
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EpicFields(EpicValues):
    """An epic's own columns, without its tenant and project: what import and export
    read and compare."""

    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class EpicRow(EpicFields):
    tenant_id: UUID
    project_id: UUID


@dataclass(frozen=True, slots=True)
class EpicCountsRow(EpicRow):
    story_count: int
    verified_count: int
