"""The project document ("loopctl.project.v1") and the import report.

The same models describe the import body and the export response, so what export writes
import reads. Field rules are the epics' and stories' own (shared Annotated types).
"""

from dataclasses import dataclass
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, PlainSerializer, field_validator

from loopctl.epics.schemas import EpicCreate, EpicNumber
from loopctl.kit.fields import Description, not_null, omittable
from loopctl.kit.schemas import Input, Metadata, Name, Output
from loopctl.projects.schemas import RepoUrl, TechStack
from loopctl.stories.schemas import AgentStatus, Hours, StoryCreate, StoryNumber, VerifiedStatus

FORMAT = "loopctl.project.v1"


@dataclass(frozen=True, slots=True)
class Limits:
    """What one document may hold; the body itself is capped by LOOPCTL_MAX_IMPORT_BYTES."""

    epics: int = 1_000
    stories: int = 20_000
    story_dependencies: int = 100_000


LIMITS = Limits()
# Validation problems reported at once; the rest are counted.
MAX_ERRORS = 100


# Hours leave as JSON numbers (the stories API's float), not as decimal strings.
DocHours = Annotated[Hours, PlainSerializer(float, return_type=float, when_used="json")]


class DocProject(Input):
    """The project's own fields; on import only the fields given change the project."""

    name: Name | None = omittable()
    description: Description | None = Field(default=None, description="null clears it")
    repo_url: RepoUrl | None = Field(default=None, description="null clears it")
    tech_stack: TechStack | None = Field(default=None, description="null clears it")
    metadata: Metadata | None = omittable()

    _present = field_validator("name", "metadata")(not_null)


class DocStory(StoryCreate):
    """A story as the stories API creates it (same fields, rules and defaults), plus its
    dependencies and the progress to restore."""

    estimated_hours: DocHours | None = None
    depends_on: list[StoryNumber] = Field(
        default_factory=list,
        description="Numbers of stories this one waits for, in any epic of the project",
    )
    agent_status: AgentStatus | None = Field(
        default=None,
        description="Progress to restore, for stories the import creates; anything but "
        "pending needs a user key. On existing stories it must match (progress is kept)",
    )
    verified_status: VerifiedStatus | None = Field(
        default=None,
        description="As agent_status; verified needs agent_status reported_done",
    )


class DocEpic(EpicCreate):
    """An epic as the epics API creates it (same fields, rules and defaults), plus its
    dependencies and stories."""

    depends_on: list[EpicNumber] = Field(
        default_factory=list,
        max_length=LIMITS.epics,
        description="Numbers of epics whose stories must all be verified first",
    )
    stories: list[DocStory] = Field(default_factory=list, max_length=LIMITS.stories)


class ProjectDocument(Input):
    """A whole project: its epics, their stories and the dependencies between them.

    In merge mode a field left out leaves the existing value alone; null clears it.
    """

    format: Literal["loopctl.project.v1"] = Field(description="Always loopctl.project.v1")
    project: DocProject | None = None
    epics: list[DocEpic] = Field(default_factory=list, max_length=LIMITS.epics)


class Counts(Output):
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class OrphanedEpic(Output):
    number: int
    title: str


class OrphanedStory(Output):
    number: str
    title: str
    epic_number: int


class Orphaned(Output):
    epics: list[OrphanedEpic] = Field(description="Epics of the project not in the document")
    stories: list[OrphanedStory] = Field(
        description="Stories of the project not in the document (kept, never deleted)"
    )


class ImportReport(Output):
    project_id: UUID
    mode: Literal["fresh", "merge"]
    dry_run: bool = Field(description="True: nothing was written; this is what would happen")
    project_updated: bool = Field(description="The document's project fields changed it")
    epics: Counts
    stories: Counts
    dependencies: Counts = Field(
        description="Story and epic dependency edges (edges are never updated)"
    )
    orphaned: Orphaned
