"""Dependencies and graph queries: /api/v1/story_dependencies, /epic_dependencies,
/stories/ready, /stories/blocked, /projects/{id}/dependency_graph, /critical_path."""

from typing import Annotated
from uuid import UUID

from fastapi import Query
from fastapi.responses import Response

from loopctl.auth.dependencies import AgentPrincipal, OrchestratorPrincipal, UserPrincipal
from loopctl.database.connections import RequestConn
from loopctl.dependencies import graph_service, service
from loopctl.dependencies.errors import (
    DependencyAcrossProjects,
    DependencyCycle,
    DependencyExists,
    DependencyOnSelf,
    EpicDependencyNotFound,
    StoryDependencyNotFound,
)
from loopctl.dependencies.schemas import (
    BlockedItem,
    CriticalPath,
    DependencyGraph,
    EpicDependency,
    EpicDependencyCreate,
    StoryDependency,
    StoryDependencyCreate,
    WorkItem,
)
from loopctl.epics.errors import EpicNotFound
from loopctl.kit.openapi import errors
from loopctl.kit.pagination import PageParams, page_of
from loopctl.kit.routers import api_router
from loopctl.kit.schemas import Item, Page
from loopctl.platform.heavy import TooManyHeavyRequests
from loopctl.platform.runtime import RuntimeDep
from loopctl.projects.errors import ProjectArchived, ProjectNotFound

router = api_router(tag="dependencies")

ProjectFilter = Annotated[
    UUID | None,
    Query(description="Only this project's stories; without it, every active project's"),
]
EpicFilter = Annotated[
    UUID | None, Query(description="Only stories of this epic (an epic of the project, if given)")
]
CREATE_ERRORS = errors(
    DependencyOnSelf, DependencyAcrossProjects, DependencyExists, DependencyCycle, ProjectArchived
)


@router.post(
    "/story_dependencies",
    status_code=201,
    responses=CREATE_ERRORS,
)
async def create_story_dependency(
    body: StoryDependencyCreate, conn: RequestConn, principal: OrchestratorPrincipal
) -> Item[StoryDependency]:
    """Make story_id wait for depends_on_story_id; refused if it would close a cycle."""
    row = await service.create_story_dependency(conn, principal, body)
    return Item(data=service.story_view(row))


@router.delete(
    "/story_dependencies/{dependency_id}",
    responses=errors(StoryDependencyNotFound, ProjectArchived),
)
async def delete_story_dependency(
    dependency_id: UUID, conn: RequestConn, principal: UserPrincipal
) -> Item[StoryDependency]:
    """Delete a story dependency; returns the edge removed."""
    return Item(data=await service.delete_story_dependency(conn, principal, dependency_id))


@router.post(
    "/epic_dependencies",
    status_code=201,
    responses=CREATE_ERRORS,
)
async def create_epic_dependency(
    body: EpicDependencyCreate, conn: RequestConn, principal: OrchestratorPrincipal
) -> Item[EpicDependency]:
    """Make every story of epic_id wait for every story of depends_on_epic_id."""
    row = await service.create_epic_dependency(conn, principal, body)
    return Item(data=service.epic_view(row))


@router.delete(
    "/epic_dependencies/{dependency_id}",
    responses=errors(EpicDependencyNotFound, ProjectArchived),
)
async def delete_epic_dependency(
    dependency_id: UUID, conn: RequestConn, principal: UserPrincipal
) -> Item[EpicDependency]:
    """Delete an epic dependency; returns the edge removed."""
    return Item(data=await service.delete_epic_dependency(conn, principal, dependency_id))


@router.get(
    "/epics/{epic_id}/story_dependencies",
    responses=errors(EpicNotFound),
)
async def list_story_dependencies(
    epic_id: UUID, conn: RequestConn, principal: AgentPrincipal, page: PageParams
) -> Page[StoryDependency]:
    """Story dependencies with either end in this epic, oldest first."""
    rows, total = await service.list_story_dependencies(conn, principal, epic_id, page)
    return page_of(rows, total, page)


@router.get(
    "/projects/{project_id}/epic_dependencies",
    responses=errors(ProjectNotFound),
)
async def list_epic_dependencies(
    project_id: UUID, conn: RequestConn, principal: AgentPrincipal, page: PageParams
) -> Page[EpicDependency]:
    """The project's epic dependencies, oldest first."""
    rows, total = await service.list_epic_dependencies(conn, principal, project_id, page)
    return page_of(rows, total, page)


@router.get(
    "/projects/{project_id}/dependency_graph",
    response_model=Item[DependencyGraph],
    responses=errors(ProjectNotFound, TooManyHeavyRequests),
)
async def get_dependency_graph(
    project_id: UUID, conn: RequestConn, principal: AgentPrincipal, runtime: RuntimeDep
) -> Response:
    """The whole graph: epics, stories with both statuses, and the edges of both kinds."""
    async with runtime.heavy.slot(principal):
        document = await graph_service.graph_document(conn, principal, project_id)
    # Built as JSON by PostgreSQL; wrapping it here avoids re-parsing megabytes of it.
    return Response(b'{"data":' + document.encode() + b"}", media_type="application/json")


@router.get(
    "/projects/{project_id}/critical_path",
    responses=errors(ProjectNotFound, TooManyHeavyRequests),
)
async def get_critical_path(
    project_id: UUID, conn: RequestConn, principal: AgentPrincipal, runtime: RuntimeDep
) -> Item[CriticalPath]:
    """The longest chain of unverified stories, by estimated hours (or count if any lack one)."""
    async with runtime.heavy.slot(principal):
        return Item(data=await graph_service.critical_path(conn, principal, project_id))


@router.get("/stories/ready", responses=errors(ProjectNotFound))
async def list_ready(
    conn: RequestConn,
    principal: AgentPrincipal,
    page: PageParams,
    project_id: ProjectFilter = None,
    epic_id: EpicFilter = None,
) -> Page[WorkItem]:
    """Stories an agent can start now: pending, unverified, nothing unverified to wait for."""
    rows, total = await graph_service.ready(
        conn, principal, project_id=project_id, epic_id=epic_id, page=page
    )
    return page_of(rows, total, page)


@router.get("/stories/blocked", responses=errors(ProjectNotFound))
async def list_blocked(
    conn: RequestConn,
    principal: AgentPrincipal,
    page: PageParams,
    project_id: ProjectFilter = None,
    epic_id: EpicFilter = None,
) -> Page[BlockedItem]:
    """Unverified stories waiting for unverified stories, each with what blocks it."""
    rows, total = await graph_service.blocked(
        conn, principal, project_id=project_id, epic_id=epic_id, page=page
    )
    return page_of(rows, total, page)
