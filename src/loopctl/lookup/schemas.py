"""What GET /api/v1/lookup answers: the ids, numbers and titles a handle names."""

from uuid import UUID

from loopctl.kit.schemas import Output


class ProjectFound(Output):
    id: UUID
    slug: str
    name: str
    status: str


class EpicFound(Output):
    id: UUID
    number: int
    title: str


class StoryFound(Output):
    id: UUID
    number: str
    title: str
    epic_id: UUID
    epic_number: int


class Lookup(Output):
    project: ProjectFound
    epic: EpicFound | None
    story: StoryFound | None
