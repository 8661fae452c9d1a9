"""Projects: the top of the work breakdown."""

from uuid import UUID

from psycopg import errors as pg

from loopctl.audit import service as audit
from loopctl.auth.principal import Principal
from loopctl.auth.roles import Role
from loopctl.database.connections import Connection
from loopctl.kit.ids import new_id
from loopctl.kit.lookup import found
from loopctl.kit.pagination import Pagination
from loopctl.kit.patch import patched, unchanged
from loopctl.kit.sorting import order_by
from loopctl.projects import repository
from loopctl.projects.errors import (
    ProjectArchived,
    ProjectLimitReached,
    ProjectNotFound,
    ProjectSlugTaken,
    ProjectStatusNeedsUser,
)
from loopctl.projects.rows import ProjectRow
from loopctl.projects.schemas import Project, ProjectCreate, ProjectDetail, ProjectUpdate

SORTABLE = {"name": "name", "created_at": "created_at", "updated_at": "updated_at"}
EDITABLE = ("name", "description", "repo_url", "tech_stack", "mission", "metadata")


def view(row: ProjectRow) -> Project:
    return Project.model_validate(row)


async def _check_limit(conn: Connection, max_active: int) -> None:
    if await repository.count_active(conn) >= max_active:
        raise ProjectLimitReached(
            f"This tenant already has {max_active} active projects, the limit; archive one first",
            details={"limit": max_active},
        )


async def create(
    conn: Connection, principal: Principal, body: ProjectCreate, *, max_active: int
) -> ProjectRow:
    await _check_limit(conn, max_active)
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
            mission=body.mission,
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


async def get(conn: Connection, principal: Principal, project_id: UUID) -> ProjectRow:  # noqa: ARG001 (the shape of every service; RLS scopes it)
    return found(await repository.get(conn, project_id), ProjectNotFound)


async def by_handle(conn: Connection, principal: Principal, handle: str) -> ProjectRow:  # noqa: ARG001 (the shape of every service; RLS scopes it)
    """The project a user names: its id, else its slug (a slug may look like an id)."""
    try:
        by_id = await repository.get(conn, UUID(handle))
    except ValueError:
        by_id = None
    if by_id is not None:
        return by_id
    return found(await repository.get_by_slug(conn, handle), ProjectNotFound)


async def writable(conn: Connection, project_id: UUID, *, lock: bool = False) -> ProjectRow:
    """The project, if it exists and accepts changes; ``lock`` serializes structural edits."""
    row = found(await repository.get(conn, project_id, lock=lock), ProjectNotFound)
    if row.status == "archived":
        raise ProjectArchived()
    return row


async def detail(conn: Connection, principal: Principal, project_id: UUID) -> ProjectDetail:  # noqa: ARG001 (the shape of every service; RLS scopes it)
    row = found(await repository.get_detail(conn, project_id), ProjectNotFound)
    return ProjectDetail.model_validate(row)


async def list_projects(
    conn: Connection,
    principal: Principal,  # noqa: ARG001 (the shape of every service; RLS scopes it)
    *,
    status: str | None,
    include_archived: bool,
    sort: str | None,
    page: Pagination,
) -> tuple[list[ProjectRow], int]:
    """Active projects; archived ones too with ``include_archived``, or only them by status."""
    if status is None and not include_archived:
        status = "active"
    return await repository.list_page(
        conn,
        status=status,
        order_by=order_by(sort, SORTABLE, "name"),
        limit=page.limit,
        offset=page.offset,
    )


async def update(
    conn: Connection,
    principal: Principal,
    project_id: UUID,
    body: ProjectUpdate,
    *,
    max_active: int,
) -> ProjectRow:
    """Change the fields given. Archived projects accept only reactivation by a user."""
    fields = body.model_fields_set
    if "status" in fields and not principal.role.at_least(Role.user):
        raise ProjectStatusNeedsUser(principal.role.value)
    current = found(await repository.get(conn, project_id, lock=True), ProjectNotFound)
    values = patched(body, current, EDITABLE)
    status = body.status if body.status is not None else current.status
    if current.status == "archived" and fields - {"status"}:
        raise ProjectArchived()
    if status == current.status and unchanged(values, current):
        return current
    if status == "active" and current.status == "archived":
        await _check_limit(conn, max_active)
    row = await repository.update(conn, project_id, status=status, **values)
    action = "updated"
    if status != current.status:
        action = "archived" if status == "archived" else "reactivated"
    await audit.record(
        conn,
        principal,
        entity_type="project",
        entity_id=row.id,
        action=action,
        before=view(current),
        after=view(row),
        project_id=row.id,
    )
    return row


async def archive(conn: Connection, principal: Principal, project_id: UUID) -> ProjectRow:
    """Archive (the only kind of project deletion); archiving twice changes nothing."""
    current = found(await repository.get(conn, project_id, lock=True), ProjectNotFound)
    if current.status == "archived":
        return current
    row = await repository.update(
        conn,
        project_id,
        name=current.name,
        description=current.description,
        repo_url=current.repo_url,
        tech_stack=current.tech_stack,
        mission=current.mission,
        metadata=current.metadata,
        status="archived",
    )
    await audit.record(
        conn,
        principal,
        entity_type="project",
        entity_id=row.id,
        action="archived",
        before=view(current),
        after=view(row),
        project_id=row.id,
    )
    return row
