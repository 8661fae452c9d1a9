"""Story request and response bodies."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BeforeValidator, Field, StringConstraints, field_validator

from loopctl.dependencies.links import StoryDependencyFields
from loopctl.epics.schemas import EpicNumber
from loopctl.kit.fields import Description, Title, not_null, omittable
from loopctl.kit.schemas import Input, Metadata, Output, Timestamp
from loopctl.stories.criteria import MAX_CRITERIA, Criterion, CriterionIn

AgentStatus = Literal["pending", "contracted", "assigned", "implementing", "reported_done"]
VerifiedStatus = Literal["unverified", "verified", "rejected"]
NUMBER_PATTERN = r"^(0|[1-9][0-9]{0,4})(\.(0|[1-9][0-9]{0,4})){0,3}$"


def _number_from_int(value: object) -> object:
    # Plans often write story numbers as JSON integers; "3" and 3 mean the same story.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


StoryNumber = Annotated[
    str,
    BeforeValidator(_number_from_int),
    StringConstraints(pattern=NUMBER_PATTERN),
    Field(description='Dot-separated integers, e.g. "2.10"; sorts naturally ("2.9" < "2.10")'),
]
Hours = Annotated[Decimal, Field(ge=0, le=999_999, decimal_places=2)]


@dataclass(frozen=True, slots=True)
class StoryQuery:
    """Which stories a list or a count covers; each filter None: any."""

    project_id: UUID | None = None
    epic_id: UUID | None = None
    agent_status: str | None = None
    verified_status: str | None = None
    title_contains: str | None = None
    assignee: UUID | None = None


class StoryHeading(Output):
    """What names a story wherever one is listed: its ids, numbers and title."""

    id: UUID
    project_id: UUID
    epic_id: UUID
    epic_number: int
    number: str
    title: str


class Story(StoryHeading):
    description: str | None
    acceptance_criteria: list[Criterion]
    estimated_hours: float | None
    metadata: dict[str, object]
    agent_status: AgentStatus = Field(description="What the implementing agent says")
    verified_status: VerifiedStatus = Field(description="What an independent party verified")
    created_at: Timestamp
    updated_at: Timestamp
    assigned_agent_id: UUID | None = Field(description="The implementer holding it, if any")
    assigned_at: Timestamp | None
    lease_expires_at: Timestamp | None = Field(
        description="When the implementer's lease ends unless it heartbeats (docs/progress.md)"
    )
    review_requested_at: Timestamp | None
    reported_done_at: Timestamp | None
    reported_by_agent_id: UUID | None
    verified_at: Timestamp | None
    rejected_at: Timestamp | None
    rejection_reason: str | None


class StoryCreate(Input):
    number: StoryNumber
    title: Title
    description: Description | None = None
    acceptance_criteria: list[CriterionIn] = Field(default_factory=list, max_length=MAX_CRITERIA)
    estimated_hours: Hours | None = None
    metadata: Metadata = Field(default_factory=dict)


class StoryCreateInProject(StoryCreate):
    epic_number: EpicNumber = Field(description="The epic, by its number in the project")


class StoryDetail(Story, StoryDependencyFields):
    """One story as GET /stories/{id} shows it, with its dependencies and dependents."""

    project_mission: str | None = Field(
        description="The project's mission, so an agent reading one story knows why the "
        "work exists (null when the project has none)"
    )


class StoryDeleted(Story):
    removed_dependency_ids: list[UUID] = Field(
        description="Dependency edges to or from this story that were deleted with it"
    )


class StoryUpdate(Input):
    """Only the fields given change. Number, epic and both status fields are not writable."""

    title: Title | None = omittable()
    description: Description | None = Field(default=None, description="null clears it")
    acceptance_criteria: list[CriterionIn] | None = omittable(
        max_length=MAX_CRITERIA,
        description="Replaces the whole list. Criteria sent without an id keep the id of an "
        "earlier criterion with the same text, else get a new AC-<n>",
    )
    estimated_hours: Hours | None = Field(default=None, description="null clears it")
    metadata: Metadata | None = omittable(description="Replaces the whole object")

    _present = field_validator("title", "acceptance_criteria", "metadata")(not_null)
