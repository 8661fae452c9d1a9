"""Project request and response bodies."""

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints, field_validator

from loopctl.kit.fields import NO_NUL, Description, not_null, omittable
from loopctl.kit.schemas import Input, Metadata, Name, Output, Slug, Timestamp
from loopctl.stories.rollup import Progress

_SCHEMES = ("http", "https", "ssh", "git")
# The scp-like form git itself accepts: git@github.com:org/repo.git
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s:][^\s]*$")


def _repo_url(value: str) -> str:
    if any(c.isspace() or c == "\x00" for c in value):
        raise ValueError("must not contain whitespace or NUL")
    if _SCP_LIKE.match(value):
        return value
    parts = urlsplit(value)
    if parts.scheme not in _SCHEMES or not parts.hostname:
        raise ValueError(
            "must be an http(s), ssh or git URL with a host, e.g. https://github.com/org/repo, "
            "or git@host:org/repo"
        )
    return value


RepoUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(_repo_url)
]
TechStack = Annotated[str, StringConstraints(max_length=500, pattern=NO_NUL)]
MISSION_MAX = 10_000


def _blank_is_null(value: str) -> str | None:
    # As in the reference: a mission of only blanks is no mission.
    return value or None


Mission = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MISSION_MAX, pattern=NO_NUL),
    AfterValidator(_blank_is_null),
    Field(
        description=f"Why the project exists, for every agent working on it (at most "
        f"{MISSION_MAX:,} characters; trimmed, blank means none)"
    ),
]
ProjectStatus = Literal["active", "archived"]


class Project(Output):
    id: UUID
    name: str
    slug: str
    description: str | None
    repo_url: str | None
    tech_stack: str | None
    mission: str | None
    status: ProjectStatus
    metadata: dict[str, object]
    archived_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class ProjectDetail(Project):
    epic_count: int
    story_count: int


class ProjectProgress(Progress):
    project_id: UUID
    epics_total: int
    epics_completed: int = Field(
        description="Epics with at least one story whose stories are all verified"
    )


class ProjectCreate(Input):
    name: Name
    slug: Slug = Field(description="Unique within the tenant; lowercase letters, digits, '-'")
    description: Description | None = None
    repo_url: RepoUrl | None = None
    tech_stack: TechStack | None = None
    mission: Mission | None = None
    metadata: Metadata = Field(default_factory=dict)


class ProjectUpdate(Input):
    """Only the fields given change; the slug is not writable.

    An archived project accepts only ``{"status": "active"}`` (reactivation). Changing the
    status needs a user key.
    """

    name: Name | None = omittable()
    description: Description | None = Field(default=None, description="null clears it")
    repo_url: RepoUrl | None = Field(default=None, description="null clears it")
    tech_stack: TechStack | None = Field(default=None, description="null clears it")
    mission: Mission | None = Field(default=None, description="null (or blank) clears it")
    metadata: Metadata | None = omittable(description="Replaces the whole object")
    status: ProjectStatus | None = omittable(
        description="User keys only: archived archives the project, active reactivates it"
    )

    _present = field_validator("name", "metadata", "status")(not_null)
