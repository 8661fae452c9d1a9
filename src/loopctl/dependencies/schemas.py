"""Dependency request and response bodies."""

from typing import Literal
from uuid import UUID

from pydantic import Field

from loopctl.kit.schemas import Input, Output, Timestamp
from loopctl.stories.schemas import AgentStatus, StoryHeading, VerifiedStatus


class StoryDependencyCreate(Input):
    story_id: UUID = Field(description="The dependent story")
    depends_on_story_id: UUID = Field(description="The story that must be verified first")


class EpicDependencyCreate(Input):
    epic_id: UUID = Field(description="The dependent epic")
    depends_on_epic_id: UUID = Field(
        description="The epic whose stories must all be verified before any story of epic_id"
    )


class StoryDependency(Output):
    id: UUID
    project_id: UUID
    story_id: UUID
    story_number: str
    story_epic_id: UUID
    depends_on_story_id: UUID
    depends_on_story_number: str
    depends_on_epic_id: UUID
    created_at: Timestamp


class EpicDependency(Output):
    id: UUID
    project_id: UUID
    epic_id: UUID
    epic_number: int
    depends_on_epic_id: UUID
    depends_on_epic_number: int
    created_at: Timestamp


class CycleStep(Output):
    type: Literal["story", "epic"]
    id: UUID
    number: str | int


class WorkItem(StoryHeading):
    """A story in the ready and blocked lists."""

    estimated_hours: float | None
    agent_status: AgentStatus
    verified_status: VerifiedStatus
    unblocks_count: int = Field(
        description="How many stories would become ready if this story were verified now"
    )


class BlockingStory(Output):
    id: UUID
    epic_id: UUID
    number: str
    title: str
    agent_status: AgentStatus
    verified_status: VerifiedStatus


class BlockingEpic(Output):
    id: UUID
    number: int
    title: str
    unverified_count: int = Field(description="Its stories that are not verified yet")


class BlockedBy(Output):
    stories: list[BlockingStory] = Field(description="Direct dependencies not verified yet")
    epics: list[BlockingEpic] = Field(
        description="Epics this story's epic depends on that still have unverified stories"
    )


class BlockedItem(WorkItem):
    blocked_by: BlockedBy


class GraphEpic(Output):
    id: UUID
    number: int
    title: str
    phase: str | None
    position: int


class GraphStory(Output):
    id: UUID
    epic_id: UUID
    number: str
    title: str
    estimated_hours: float | None
    agent_status: AgentStatus
    verified_status: VerifiedStatus


class GraphEdge(Output):
    id: UUID
    # "from" is a Python keyword; edges name their ends like the create bodies do.
    dependent_id: UUID = Field(description="The story or epic that waits")
    depends_on_id: UUID = Field(description="What it waits for")


class DependencyGraph(Output):
    """The whole project graph in one document, ordered like the lists."""

    project_id: UUID
    epics: list[GraphEpic]
    stories: list[GraphStory]
    epic_dependencies: list[GraphEdge]
    story_dependencies: list[GraphEdge]


class PathStory(Output):
    id: UUID
    epic_id: UUID
    epic_number: int
    number: str
    title: str
    estimated_hours: float | None
    agent_status: AgentStatus
    verified_status: VerifiedStatus


class CriticalPath(Output):
    project_id: UUID
    weight: Literal["hours", "count"] = Field(
        description="hours when every unverified story has an estimate, else count"
    )
    total: float = Field(description="Sum of the chain's estimates, or its length")
    stories: list[PathStory] = Field(description="The chain, in the order it must be done")
