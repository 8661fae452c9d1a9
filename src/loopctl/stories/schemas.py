"""Story request and response bodies."""

from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BeforeValidator, Field, StringConstraints

from loopctl.epics.schemas import Description, Title
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


class Story(Output):
    id: UUID
    project_id: UUID
    epic_id: UUID
    epic_number: int
    number: str
    title: str
    description: str | None
    acceptance_criteria: list[Criterion]
    estimated_hours: float | None
    metadata: dict[str, object]
    agent_status: AgentStatus = Field(description="What the implementing agent says")
    verified_status: VerifiedStatus = Field(description="What an independent party verified")
    created_at: Timestamp
    updated_at: Timestamp


class StoryCreate(Input):
    number: StoryNumber
    title: Title
    description: Description | None = None
    acceptance_criteria: list[CriterionIn] = Field(default_factory=list, max_length=MAX_CRITERIA)
    estimated_hours: Hours | None = None
    metadata: Metadata = Field(default_factory=dict)


class StoryCreateInProject(StoryCreate):
    epic_number: int = Field(gt=0, description="The epic, by its number in the project")
