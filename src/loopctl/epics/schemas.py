"""Epic request and response bodies."""

from typing import Annotated, Any, TypeVar
from uuid import UUID

from pydantic import BeforeValidator, Field, StringConstraints, field_validator

from loopctl.kit.schemas import Input, Metadata, Output, Timestamp
from loopctl.stories.rollup import Progress

T = TypeVar("T")
# Text with a NUL byte cannot reach PostgreSQL; reject it as a validation error instead.
NO_NUL = r"^[^\x00]*$"

Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=r"^[^\x00]*$"),
]
Description = Annotated[str, StringConstraints(max_length=50_000, pattern=r"^[^\x00]*$")]
Phase = Annotated[str, StringConstraints(max_length=100, pattern=r"^[^\x00]*$")]
INT32_MAX = 2_147_483_647


def _not_bool(value: object) -> object:
    # JSON true would otherwise pass as the integer 1.
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    return value


Position = Annotated[
    int, BeforeValidator(_not_bool), Field(ge=0, le=INT32_MAX, description="Sort order")
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


def not_null(value: T | None) -> T:
    """Validator for PATCH fields that may be omitted but not cleared."""
    if value is None:
        raise ValueError("cannot be null; omit the field to leave it unchanged")
    return value


def _without_null(schema: dict[str, Any]) -> None:
    options = [s for s in schema.pop("anyOf", []) if s != {"type": "null"}]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options
    if "default" in schema and schema["default"] is None:
        del schema["default"]


def omittable(**kwargs: Any) -> Any:
    """A PATCH field that may be left out but not set to null (pair it with ``not_null``).

    Typed ``X | None`` so that omitting it works; documented as plain ``X``.
    """
    return Field(default=None, json_schema_extra=_without_null, **kwargs)


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
