"""Epic request and response bodies."""

from typing import Annotated
from uuid import UUID

from pydantic import BeforeValidator, Field, StringConstraints, field_validator

from loopctl.kit.fields import (
    INT32_MAX,
    NO_NUL,
    Description,
    Title,
    not_bool,
    not_null,
    omittable,
)
from loopctl.kit.schemas import Input, Metadata, Output, Timestamp
from loopctl.stories.rollup import Progress

Phase = Annotated[str, StringConstraints(max_length=100, pattern=NO_NUL)]
Position = Annotated[
    int, BeforeValidator(not_bool), Field(ge=0, le=INT32_MAX, description="Sort order")
]


def _whole_number(value: object) -> object:
    # A positive integer, or its digits as a string (plans and the reference's documents
    # write "72"); not true, 2.0, "+2", " 2" or "1_000", which lax int parsing would take.
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()):
            raise ValueError("must be an integer or a string of digits")
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("must be an integer or a string of digits")
    return value


# The one epic number rule: the epics API, epic_number on stories and import documents.
EpicNumber = Annotated[int, BeforeValidator(_whole_number), Field(gt=0, le=INT32_MAX)]


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


class EpicSummary(Epic):
    """An epic in a list, with how far its stories are."""

    story_count: int
    verified_count: int
    completion_percentage: float = Field(
        description="Verified stories as a percentage of the epic's stories, 1 decimal; "
        "0.0 if it has none"
    )


class EpicStory(Output):
    """A story as listed inside its epic."""

    id: UUID
    number: str
    title: str
    agent_status: str
    verified_status: str


class EpicDetail(Epic):
    stories: list[EpicStory] = Field(description="The epic's stories in natural number order")


class EpicDeleted(Epic):
    deleted_story_ids: list[UUID] = Field(description="Stories deleted with the epic (force)")
    removed_dependency_ids: list[UUID] = Field(
        description="Epic dependency edges to or from this epic that were deleted with it"
    )


class EpicProgress(Progress):
    epic_id: UUID
    project_id: UUID


class EpicCreate(Input):
    number: EpicNumber = Field(description="Unique within the project; never changes")
    title: Title
    description: Description | None = None
    phase: Phase | None = None
    position: Position = 0
    metadata: Metadata = Field(default_factory=dict)


class EpicUpdate(Input):
    """Only the fields given change; the number is not writable."""

    title: Title | None = omittable()
    description: Description | None = Field(default=None, description="null clears it")
    phase: Phase | None = Field(default=None, description="null clears it")
    position: Position | None = omittable()
    metadata: Metadata | None = omittable(description="Replaces the whole object")

    _present = field_validator("title", "position", "metadata")(not_null)
