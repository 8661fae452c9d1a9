"""/api/v1/projects"""

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query

from loopctl.auth.dependencies import AgentPrincipal, OrchestratorPrincipal, UserPrincipal
from loopctl.database.connections import RequestConn
from loopctl.kit.openapi import errors
from loopctl.kit.pagination import PageParams, page_of
from loopctl.kit.routers import api_router
from loopctl.kit.schemas import Item, Page
from loopctl.kit.sorting import sort_query
from loopctl.platform.runtime import RuntimeDep
from loopctl.projects import progress, service
from loopctl.projects.errors import (
    ProjectArchived,
    ProjectLimitReached,
    ProjectNotFound,
    ProjectSlugTaken,
    ProjectStatusNeedsUser,
)
from loopctl.projects.schemas import (
    Project,
    ProjectCreate,
    ProjectDetail,
    ProjectProgress,
    ProjectStatus,
    ProjectUpdate,
)

router = api_router("/projects", tag="projects")


@router.post(
    "",
    status_code=201,
    responses=errors(ProjectSlugTaken, ProjectLimitReached),
)
async def create_project(
    body: ProjectCreate, conn: RequestConn, principal: OrchestratorPrincipal, runtime: RuntimeDep
) -> Item[Project]:
    """Create a project; its slug is unique in the tenant and never changes."""
    row = await service.create(conn, principal, body, max_active=runtime.settings.max_projects)
    return Item(data=service.view(row))


@router.get("")
async def list_projects(
    conn: RequestConn,
    principal: AgentPrincipal,
    page: PageParams,
    status: Annotated[
        ProjectStatus | None, Query(description="Only projects with this status")
    ] = None,
    include_archived: Annotated[
        bool, Query(description="Also list archived projects (hidden by default)")
    ] = False,
    sort: Annotated[str | None, Depends(sort_query("name, created_at, updated_at", "name"))] = None,
) -> Page[Project]:
    """List the tenant's projects; archived ones only when asked for."""
    rows, total = await service.list_projects(
        conn, principal, status=status, include_archived=include_archived, sort=sort, page=page
    )
    return page_of([service.view(r) for r in rows], total, page)


@router.get("/{project_id}", responses=errors(ProjectNotFound))
async def get_project(
    project_id: UUID, conn: RequestConn, principal: AgentPrincipal
) -> Item[ProjectDetail]:
    """Show one project with its epic and story counts."""
    return Item(data=await service.detail(conn, principal, project_id))


@router.patch(
    "/{project_id}",
    responses=errors(ProjectNotFound, ProjectArchived, ProjectLimitReached, ProjectStatusNeedsUser),
)
async def update_project(
    project_id: UUID,
    body: ProjectUpdate,
    conn: RequestConn,
    principal: OrchestratorPrincipal,
    runtime: RuntimeDep,
) -> Item[Project]:
    """Change a project's fields; a user key may also archive or reactivate it via status."""
    row = await service.update(
        conn, principal, project_id, body, max_active=runtime.settings.max_projects
    )
    return Item(data=service.view(row))


@router.delete("/{project_id}", responses=errors(ProjectNotFound))
async def archive_project(
    project_id: UUID, conn: RequestConn, principal: UserPrincipal
) -> Item[Project]:
    """Archive a project (nothing is deleted); it becomes read-only and leaves default lists."""
    return Item(data=service.view(await service.archive(conn, principal, project_id)))


@router.get(
    "/{project_id}/progress",
    responses=errors(ProjectNotFound),
)
async def get_project_progress(
    project_id: UUID,
    conn: RequestConn,
    principal: AgentPrincipal,
    include_cost: Annotated[  # noqa: ARG001 (accepted for the reference's clients; no cost yet)
        bool,
        Query(
            description="Accepted for the reference's clients. loopctl records no token usage "
            "yet, so no cost fields are added: an unknown cost is left out, never shown as 0"
        ),
    ] = False,
) -> Item[ProjectProgress]:
    """Roll-up of the project's stories by both status tiers, and its completed epics."""
    return Item(data=await progress.progress(conn, principal, project_id))
