"""The dependency fields a story shows (kept free of story imports: stories/schemas.py uses it).

Every field names its end of the edge, as the edge resource does (``story_id`` waits for
``depends_on_story_id``, the reference's vocabulary), so a client cannot read a relation
backwards: the other story's fields carry ``depends_on_`` in ``dependencies`` and
``dependent_`` in ``dependents``.
"""

from typing import Protocol
from uuid import UUID

from pydantic import Field

from loopctl.kit.schemas import Output


class LinkedStory(Protocol):
    """A story at the other end of an edge, as the graph repository returns it."""

    @property
    def dependency_id(self) -> UUID: ...
    @property
    def story_id(self) -> UUID: ...
    @property
    def epic_id(self) -> UUID: ...
    @property
    def number(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def agent_status(self) -> str: ...
    @property
    def verified_status(self) -> str: ...


class DependencyLink(Output):
    """An edge this story waits on, and the story it waits for."""

    dependency_id: UUID = Field(description="The story dependency edge")
    story_id: UUID = Field(description="This story (the one that waits)")
    depends_on_story_id: UUID = Field(description="The story this one waits for")
    depends_on_story_number: str
    depends_on_story_title: str
    depends_on_epic_id: UUID
    depends_on_agent_status: str
    depends_on_verified_status: str


class DependentLink(Output):
    """An edge on which another story waits for this one, and that story."""

    dependency_id: UUID = Field(description="The story dependency edge")
    dependent_story_id: UUID = Field(description="The story that waits for this one")
    dependent_story_number: str
    dependent_story_title: str
    dependent_epic_id: UUID
    dependent_agent_status: str
    dependent_verified_status: str
    depends_on_story_id: UUID = Field(description="This story (the one waited for)")


class StoryDependencyFields(Output):
    dependencies: list[DependencyLink] = Field(description="Edges on which this story waits")
    dependents: list[DependentLink] = Field(description="Edges on which others wait for it")
    unblocks_count: int = Field(
        description="How many stories would become ready if this story were verified now"
    )


def _other_end(role: str, other: LinkedStory) -> dict[str, object]:
    """The other story's fields, named for its ``role`` on the edge (``depends_on`` or
    ``dependent``)."""
    return {
        "dependency_id": other.dependency_id,
        f"{role}_story_id": other.story_id,
        f"{role}_story_number": other.number,
        f"{role}_story_title": other.title,
        f"{role}_epic_id": other.epic_id,
        f"{role}_agent_status": other.agent_status,
        f"{role}_verified_status": other.verified_status,
    }


def dependency_link(story_id: UUID, other: LinkedStory) -> DependencyLink:
    return DependencyLink.model_validate({"story_id": story_id, **_other_end("depends_on", other)})


def dependent_link(story_id: UUID, other: LinkedStory) -> DependentLink:
    fields = {"depends_on_story_id": story_id, **_other_end("dependent", other)}
    return DependentLink.model_validate(fields)
