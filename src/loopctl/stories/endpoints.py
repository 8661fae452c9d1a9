"""/api/v1/stories, /api/v1/epics/{epic_id}/stories and /api/v1/projects/{project_id}/stories"""

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query

from loopctl.auth.dependencies import AgentPrincipal, OrchestratorPrincipal, UserPrincipal
from loopctl.database.connections import RequestConn
from loopctl.epics.errors import EpicNotFound
from loopctl.kit.fields import NO_NUL
from loopctl.kit.openapi import errors
from loopctl.kit.pagination import PageParams, page_of
from loopctl.kit.routers import api_router
from loopctl.kit.schemas import Item, Page
from loopctl.projects.errors import ProjectArchived, ProjectNotFound
from loopctl.stories import service
from loopctl.stories.errors import StoryNotFound, StoryNumberTaken
from loopctl.stories.schemas import (
    AgentStatus,
    Story,
    StoryCreate,
    StoryCreateInProject,
    StoryDeleted,
    StoryDetail,
    StoryQuery,
    StoryUpdate,
    VerifiedStatus,
)

router = api_router(tag="stories")


@dataclass(frozen=True, slots=True)
class StoryFilters:
    """The query parameters both lists of stories take."""

    agent_status: Annotated[
        AgentStatus | None, Query(description="Only stories with this agent_status")
    ] = None
    verified_status: Annotated[
        VerifiedStatus | None, Query(description="Only stories with this verified_status")
    ] = None
    assignee: Annotated[
        UUID | None,
        Query(description="Only stories this agent holds or last implemented (its agent id)"),
    ] = None
    # The reference's clients ask for token totals; loopctl records no token usage yet, and
    # an unknown total must not read as 0, so the fields are left out until it does.
    include_token_totals: Annotated[
        bool,
        Query(
            description="Accepted for the reference's clients. loopctl records no token usage "
            "yet, so no token fields are added: an unknown total is left out, never shown as 0"
        ),
    ] = False

    def query(
        self, *, epic_id: UUID | None = None, title_contains: str | None = None
    ) -> StoryQuery:
        return StoryQuery(
            epic_id=epic_id,
            agent_status=self.agent_status,
            verified_status=self.verified_status,
            title_contains=title_contains,
            assignee=self.assignee,
        )


Filters = Annotated[StoryFilters, Depends()]


@router.post(
    "/epics/{epic_id}/stories",
    status_code=201,
    responses=errors(EpicNotFound, ProjectArchived, StoryNumberTaken),
)
async def create_story(
    epic_id: UUID, body: StoryCreate, conn: RequestConn, principal: OrchestratorPrincipal
) -> Item[Story]:
    """Create a story in an epic; its number is unique in the project."""
    return Item(data=service.view(await service.create(conn, principal, epic_id, body)))


@router.post(
    "/projects/{project_id}/stories",
    status_code=201,
    responses=errors(ProjectNotFound, ProjectArchived, StoryNumberTaken),
)
async def create_story_in_project(
    project_id: UUID,
    body: StoryCreateInProject,
    conn: RequestConn,
    principal: OrchestratorPrincipal,
) -> Item[Story]:
    """Create a story in the project's epic with the given epic_number."""
    row = await service.create_in_project(conn, principal, project_id, body)
    return Item(data=service.view(row))


@router.get("/epics/{epic_id}/stories", responses=errors(EpicNotFound))
async def list_epic_stories(
    epic_id: UUID, conn: RequestConn, principal: AgentPrincipal, filters: Filters, page: PageParams
) -> Page[Story]:
    """List an epic's stories in natural number order ("2.9" before "2.10")."""
    rows, total = await service.list_in_epic(conn, principal, epic_id, filters.query(), page)
    return page_of([service.view(r) for r in rows], total, page)


@router.get("/stories", responses=errors(ProjectNotFound))
async def list_stories(
    conn: RequestConn,
    principal: AgentPrincipal,
    project_id: Annotated[UUID, Query(description="The project (required)")],
    filters: Filters,
    page: PageParams,
    epic_id: Annotated[UUID | None, Query(description="Only stories of this epic")] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            pattern=NO_NUL,
            description="Only stories whose title contains this text (case-insensitive)",
        ),
    ] = None,
) -> Page[Story]:
    """List a project's stories by epic position, epic number, then natural story number."""
    query = filters.query(epic_id=epic_id, title_contains=q)
    rows, total = await service.list_in_project(conn, principal, project_id, query, page)
    return page_of([service.view(r) for r in rows], total, page)


@router.get("/stories/{story_id}", responses=errors(StoryNotFound))
async def get_story(
    story_id: UUID, conn: RequestConn, principal: AgentPrincipal
) -> Item[StoryDetail]:
    """Show one story."""
    return Item(data=await service.detail(conn, principal, story_id))


@router.patch(
    "/stories/{story_id}",
    responses=errors(StoryNotFound, ProjectArchived),
)
async def update_story(
    story_id: UUID, body: StoryUpdate, conn: RequestConn, principal: OrchestratorPrincipal
) -> Item[Story]:
    """Change a story's title, description, acceptance criteria, estimate or metadata."""
    return Item(data=service.view(await service.update(conn, principal, story_id, body)))


@router.delete(
    "/stories/{story_id}",
    responses=errors(StoryNotFound, ProjectArchived),
)
async def delete_story(
    story_id: UUID, conn: RequestConn, principal: UserPrincipal
) -> Item[StoryDeleted]:
    """Delete a story and every dependency to or from it (this cannot be undone)."""
    return Item(data=await service.delete(conn, principal, story_id))
