"""The dependency fields a story shows (kept free of story imports: stories/schemas.py uses it)."""

from uuid import UUID

from pydantic import Field

from loopctl.kit.schemas import Output


class StoryLink(Output):
    """A story at the other end of a dependency edge."""

    dependency_id: UUID = Field(description="The story dependency edge")
    story_id: UUID
    epic_id: UUID
    number: str
    title: str
    agent_status: str
    verified_status: str


class StoryDependencyFields(Output):
    dependencies: list[StoryLink] = Field(description="Stories this story depends on")
    dependents: list[StoryLink] = Field(description="Stories that depend on this story")
    unblocks_count: int = Field(
        description="How many stories would become ready if this story were verified now"
    )
