"""Projects: the top of the work breakdown."""

from uuid import UUID

from psycopg import errors as pg

from loopctl.audit import service as audit
from loopctl.auth.principal import Principal
from loopctl.db import Connection
from loopctl.kit.ids import new_id
from loopctl.projects import repository
from loopctl.projects.errors import (
    ProjectArchived,
    ProjectLimitReached,
    ProjectNotFound,
    ProjectSlugTaken,
)
from loopctl.projects.repository import ProjectRow
from loopctl.projects.schemas import Project, ProjectCreate


def view(row: ProjectRow) -> Project:
    return Project.model_validate(row)


async def create(
    conn: Connection, principal: Principal, body: ProjectCreate, *, max_active: int
) -> ProjectRow:
    if await repository.count_active(conn) >= max_active:
        raise ProjectLimitReached(details={"limit": max_active})
    try:
        row = await repository.insert(
            conn,
            tenant_id=principal.tenant,
            id=new_id(),
            name=body.name,
            slug=body.slug,
            description=body.description,
            repo_url=body.repo_url,
            tech_stack=body.tech_stack,
            metadata=body.metadata,
        )
    except pg.UniqueViolation as exc:
        raise ProjectSlugTaken(
            f"A project with slug {body.slug!r} already exists", details={"slug": body.slug}
        ) from exc
    await audit.record(
        conn,
        principal,
        entity_type="project",
        entity_id=row.id,
        action="created",
        after=view(row),
        project_id=row.id,
    )
    return row


async def get(conn: Connection, principal: Principal, project_id: UUID) -> ProjectRow:
    row = await repository.get(conn, project_id)
    if row is None:
        raise ProjectNotFound()
    return row


async def writable(conn: Connection, project_id: UUID, *, lock: bool = False) -> ProjectRow:
    """The project, if it exists and accepts changes; ``lock`` serializes structural edits."""
    row = await repository.get(conn, project_id, lock=lock)
    if row is None:
        raise ProjectNotFound()
    if row.status == "archived":
        raise ProjectArchived()
    return row
