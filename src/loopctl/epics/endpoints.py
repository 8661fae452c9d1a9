"""/api/v1/epics and /api/v1/projects/{project_id}/epics"""

from typing import Annotated
from uuid import UUID

from fastapi import Query

from loopctl.auth.dependencies import AgentPrincipal, OrchestratorPrincipal, UserPrincipal
from loopctl.database.connections import RequestConn
from loopctl.epics import deletion, progress, service
from loopctl.epics.errors import EpicNotEmpty, EpicNotFound, EpicNumberTaken
from loopctl.epics.schemas import (
    Epic,
    EpicCreate,
    EpicDeleted,
    EpicDetail,
    EpicProgress,
    EpicSummary,
    EpicUpdate,
)
from loopctl.kit.fields import NO_NUL
from loopctl.kit.openapi import errors
from loopctl.kit.pagination import PageParams, page_of
from loopctl.kit.routers import api_router
from loopctl.kit.schemas import Item, Page
from loopctl.projects.errors import ProjectArchived, ProjectNotFound

router = api_router(tag="epics")


@router.get(
    "/projects/{project_id}/epics",
    responses=errors(ProjectNotFound),
)
async def list_epics(
    project_id: UUID,
    conn: RequestConn,
    principal: AgentPrincipal,
    page: PageParams,
    phase: Annotated[
        str | None, Query(max_length=100, pattern=NO_NUL, description="Only this phase")
    ] = None,
) -> Page[EpicSummary]:
    """List a project's epics by position, then number, each with story counts and completion."""
    rows, total = await service.list_epics(conn, principal, project_id, phase=phase, page=page)
    return page_of(rows, total, page)


@router.post(
    "/projects/{project_id}/epics",
    status_code=201,
    responses=errors(ProjectNotFound, ProjectArchived, EpicNumberTaken),
)
async def create_epic(
    project_id: UUID, body: EpicCreate, conn: RequestConn, principal: OrchestratorPrincipal
) -> Item[Epic]:
    """Create an epic; its number is unique in the project and never changes."""
    return Item(data=service.view(await service.create(conn, principal, project_id, body)))


@router.get("/epics/{epic_id}", responses=errors(EpicNotFound))
async def get_epic(epic_id: UUID, conn: RequestConn, principal: AgentPrincipal) -> Item[EpicDetail]:
    """Show one epic with its stories in natural number order."""
    return Item(data=await service.detail(conn, principal, epic_id))


@router.patch(
    "/epics/{epic_id}",
    responses=errors(EpicNotFound, ProjectArchived),
)
async def update_epic(
    epic_id: UUID, body: EpicUpdate, conn: RequestConn, principal: OrchestratorPrincipal
) -> Item[Epic]:
    """Change an epic's title, description, phase, position or metadata."""
    return Item(data=service.view(await service.update(conn, principal, epic_id, body)))


@router.delete(
    "/epics/{epic_id}",
    responses=errors(EpicNotFound, ProjectArchived, EpicNotEmpty),
)
async def delete_epic(
    epic_id: UUID,
    conn: RequestConn,
    principal: UserPrincipal,
    force: Annotated[
        bool, Query(description="Also delete the epic's stories and their dependencies")
    ] = False,
) -> Item[EpicDeleted]:
    """Delete an epic; one with stories needs force=true, which deletes them too."""
    return Item(data=await deletion.delete(conn, principal, epic_id, force=force))


@router.get(
    "/epics/{epic_id}/progress",
    responses=errors(EpicNotFound),
)
async def get_epic_progress(
    epic_id: UUID, conn: RequestConn, principal: AgentPrincipal
) -> Item[EpicProgress]:
    """Roll-up of the epic's stories by both status tiers."""
    return Item(data=await progress.progress(conn, principal, epic_id))
