"""Epic request and response bodies."""

from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints

from loopctl.kit.schemas import Input, Metadata, Output, Timestamp

Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=r"^[^\x00]*$"),
]
Description = Annotated[str, StringConstraints(max_length=50_000, pattern=r"^[^\x00]*$")]
Phase = Annotated[str, StringConstraints(max_length=100, pattern=r"^[^\x00]*$")]


class Epic(Output):
    id: UUID
    project_id: UUID
    number: int
    title: str
    description: str | None
    phase: str | None
    position: int
    metadata: dict[str, object]
    created_at: Timestamp
    updated_at: Timestamp


class EpicCreate(Input):
    number: int = Field(gt=0, le=2_147_483_647, description="Unique within the project")
    title: Title
    description: Description | None = None
    phase: Phase | None = None
    position: int = Field(default=0, ge=0, le=2_147_483_647, description="Sort order")
    metadata: Metadata = Field(default_factory=dict)
