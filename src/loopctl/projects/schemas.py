"""Project request and response bodies."""

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints

from loopctl.kit.schemas import Input, Metadata, Name, Output, Slug, Timestamp

_SCHEMES = ("http://", "https://", "ssh://", "git://")


def _repo_url(value: str) -> str:
    if not value.startswith(_SCHEMES) or len(value) <= len("ssh://"):
        raise ValueError("must be an http(s), ssh or git URL, e.g. https://github.com/org/repo")
    if any(c.isspace() for c in value):
        raise ValueError("must not contain whitespace")
    return value


RepoUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(_repo_url)
]
Description = Annotated[str, StringConstraints(max_length=50_000, pattern=r"^[^\x00]*$")]
TechStack = Annotated[str, StringConstraints(max_length=500, pattern=r"^[^\x00]*$")]
ProjectStatus = Literal["active", "archived"]


class Project(Output):
    id: UUID
    name: str
    slug: str
    description: str | None
    repo_url: str | None
    tech_stack: str | None
    status: ProjectStatus
    metadata: dict[str, object]
    archived_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class ProjectCreate(Input):
    name: Name
    slug: Slug = Field(description="Unique within the tenant; lowercase letters, digits, '-'")
    description: Description | None = None
    repo_url: RepoUrl | None = None
    tech_stack: TechStack | None = None
    metadata: Metadata = Field(default_factory=dict)
