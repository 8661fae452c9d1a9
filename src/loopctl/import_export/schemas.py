"""The project document ("loopctl.project.v1") and the import report.

The same models describe the import body and the export response, so what export writes
import reads. Field rules are the epics' and stories' own (shared Annotated types).

The reference implementation's document is read by the same models: its extra fields
(``initial_*`` progress, top-level ``story_dependencies``/``epic_dependencies``, an
export's ``export_metadata`` and per-story assignee and timestamps) are fields here too,
each validated under its own name so that an error names the path the client sent, and
the one checker (validation.py) reads both vocabularies. See docs/import-export.md.
"""

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import (
    AliasChoices,
    BeforeValidator,
    Field,
    PlainSerializer,
    PrivateAttr,
    StringConstraints,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from loopctl.epics.schemas import EpicCreate, EpicNumber
from loopctl.kit.fields import Description, not_null, omittable
from loopctl.kit.schemas import Input, LenientTimestamp, Metadata, Name, Output, Slug
from loopctl.projects.schemas import Mission, ProjectStatus, RepoUrl, TechStack
from loopctl.stories.criteria import MAX_CRITERIA, CriterionIn
from loopctl.stories.schemas import AgentStatus, Hours, StoryCreate, StoryNumber, VerifiedStatus

FORMAT = "loopctl.project.v1"


@dataclass(frozen=True, slots=True)
class Limits:
    """What one document may hold; the body itself is capped by LOOPCTL_MAX_IMPORT_BYTES."""

    epics: int = 1_000
    stories: int = 20_000
    story_dependencies: int = 100_000
    epic_dependencies: int = 100_000


LIMITS = Limits()
# Validation problems reported at once; the rest are counted.
MAX_ERRORS = 100


# Hours leave as JSON numbers (the stories API's float), not as decimal strings.
DocHours = Annotated[Hours, PlainSerializer(float, return_type=float, when_used="json")]
# Free text the reference's export carries and an import never applies.
Note = Annotated[str, StringConstraints(max_length=10_000, pattern=r"^[^\x00]*$")]


def _null_is_empty_list(value: object) -> object:
    # The reference writes "no criteria" as null as well as [].
    return [] if value is None else value


def _null_is_empty_object(value: object) -> object:
    return {} if value is None else value


Criteria = Annotated[
    list[CriterionIn],
    BeforeValidator(_null_is_empty_list),
    Field(max_length=MAX_CRITERIA, description="null means none"),
]
DocMetadata = Annotated[Metadata, BeforeValidator(_null_is_empty_object)]


class DocProject(Input):
    """The project's own fields; on import only the fields given change the project."""

    name: Name | None = omittable()
    description: Description | None = Field(default=None, description="null clears it")
    repo_url: RepoUrl | None = Field(default=None, description="null clears it")
    tech_stack: TechStack | None = Field(default=None, description="null clears it")
    mission: Mission | None = Field(default=None, description="null clears it")
    metadata: Metadata | None = omittable()
    slug: Slug | None = Field(
        default=None, description="Read (the reference's export has it); never applied"
    )
    status: ProjectStatus | None = Field(
        default=None, description="Read (the reference's export has it); never applied"
    )

    _present = field_validator("name", "metadata")(not_null)

    def changes(self) -> dict[str, Any]:
        """The fields given that an import applies to the project."""
        return self.model_dump(exclude_unset=True, exclude={"slug", "status"})


class ExportMetadata(Input):
    """The reference's export header: read, never applied."""

    exported_at: LenientTimestamp | None = None
    loopctl_version: Note | None = None
    project_id: UUID | None = None
    tenant_id: UUID | None = None


class DocStory(StoryCreate):
    """A story as the stories API creates it (same fields, rules and defaults), plus its
    dependencies and the progress to restore; null criteria and metadata mean none."""

    acceptance_criteria: Criteria = Field(default_factory=list)
    estimated_hours: DocHours | None = None
    metadata: DocMetadata = Field(default_factory=dict)
    depends_on: list[StoryNumber] = Field(
        default_factory=list,
        description="Numbers of stories this one waits for, in any epic of the project",
    )
    agent_status: AgentStatus | None = Field(
        default=None,
        description="Progress to restore, for stories the import creates; anything but "
        "pending needs a user key. On existing stories it must match (progress is kept). "
        "In a document without format (the reference's), read and never applied",
    )
    verified_status: VerifiedStatus | None = Field(
        default=None,
        description="As agent_status; verified needs agent_status reported_done (implied "
        "when agent_status is left out)",
    )
    initial_agent_status: AgentStatus | None = Field(
        default=None,
        description="The reference's name for progress to restore; applies only to stories "
        "the import creates, under the rules of agent_status",
    )
    initial_verified_status: VerifiedStatus | None = Field(
        default=None, description="The reference's name; as initial_agent_status"
    )
    # What the reference's export adds to each story: read, never applied (an import
    # records no assignee, reporter or verifier).
    assigned_agent_id: UUID | None = None
    assigned_at: LenientTimestamp | None = None
    reported_done_at: LenientTimestamp | None = None
    verified_at: LenientTimestamp | None = None
    rejected_at: LenientTimestamp | None = None
    rejection_reason: Note | None = None


class DocEpic(EpicCreate):
    """An epic as the epics API creates it (same fields, rules and defaults), plus its
    dependencies and stories; null metadata means none."""

    metadata: DocMetadata = Field(default_factory=dict)
    depends_on: list[EpicNumber] = Field(
        default_factory=list,
        max_length=LIMITS.epics,
        description="Numbers of epics whose stories must all be verified first",
    )
    stories: list[DocStory] = Field(default_factory=list, max_length=LIMITS.stories)


class _Edge(Input):
    """An edge of the reference's top-level lists; remembers which of the accepted names
    the client used for each end, so that problems name what was sent."""

    _names: tuple[str, str] = PrivateAttr(default=("", ""))
    ALIASES: ClassVar[tuple[tuple[str, str], tuple[str, str]]]

    @model_validator(mode="wrap")
    @classmethod
    def _remember_names(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        edge = handler(data)
        given = data if isinstance(data, dict) else {}
        edge._names = tuple(
            first if first in given or second not in given else second
            for first, second in cls.ALIASES
        )
        return edge

    @property
    def names(self) -> tuple[str, str]:
        return self._names


class StoryEdgeIn(_Edge):
    """``story`` waits for ``depends_on`` (the reference's top-level story_dependencies)."""

    ALIASES = (("story", "story_number"), ("depends_on", "depends_on_story"))

    story: StoryNumber = Field(
        validation_alias=AliasChoices("story", "story_number"),
        description="The story that waits (alias story_number)",
    )
    depends_on: StoryNumber = Field(
        validation_alias=AliasChoices("depends_on", "depends_on_story"),
        description="The story it waits for (alias depends_on_story)",
    )


class EpicEdgeIn(_Edge):
    """``epic`` waits for every story of ``depends_on`` (the reference's epic_dependencies)."""

    ALIASES = (("epic", "epic_number"), ("depends_on", "depends_on_epic"))

    epic: EpicNumber = Field(
        validation_alias=AliasChoices("epic", "epic_number"),
        description="The epic that waits (alias epic_number)",
    )
    depends_on: EpicNumber = Field(
        validation_alias=AliasChoices("depends_on", "depends_on_epic"),
        description="The epic it waits for (alias depends_on_epic)",
    )


class ProjectDocument(Input):
    """A whole project: its epics, their stories and the dependencies between them.

    In merge mode a field left out leaves the existing value alone; null clears it.
    Without ``format`` the document is read as the reference implementation's (its
    import payload or its export); see docs/import-export.md for what that changes.
    """

    format: Literal["loopctl.project.v1"] | None = Field(
        default=None,
        description="Always loopctl.project.v1 in loopctl's documents; left out, the "
        "document is read as the reference's",
    )
    export_metadata: ExportMetadata | None = Field(
        default=None, description="The reference's export header: read, never applied"
    )
    project: DocProject | None = Field(
        default=None,
        description="Applied to the project (only the fields given); ignored in a document "
        "without format, as the reference ignores it",
    )
    epics: list[DocEpic] = Field(default_factory=list, max_length=LIMITS.epics)
    story_dependencies: list[StoryEdgeIn] = Field(
        default_factory=list,
        max_length=LIMITS.story_dependencies,
        description="More story edges, by number (the reference's form; loopctl's export "
        "writes them as depends_on)",
    )
    epic_dependencies: list[EpicEdgeIn] = Field(
        default_factory=list,
        max_length=LIMITS.epic_dependencies,
        description="More epic edges, by number (the reference's form)",
    )

    @property
    def reference(self) -> bool:
        """Read in the reference's vocabulary (no format given)."""
        return self.format is None


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


class Changed(Output):
    """Which epics and stories the import creates or updates, by number, in document order."""

    epics_created: list[int]
    epics_updated: list[int]
    stories_created: list[str]
    stories_updated: list[str]


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
    changed: Changed = Field(description="The numbers behind the created and updated counts")
