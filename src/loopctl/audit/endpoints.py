"""/api/v1/audit and /api/v1/stories/{id}/history: reading the audit log."""

from typing import Annotated
from uuid import UUID

from fastapi import Query

from loopctl.audit import events, queries
from loopctl.audit.schemas import ActionQuery, AuditEntry, EntityTypeQuery, EventIn, ProjectQuery
from loopctl.auth.dependencies import AgentPrincipal, OrchestratorPrincipal, UserPrincipal
from loopctl.database.connections import RequestConn
from loopctl.kit.openapi import errors
from loopctl.kit.pagination import PageParams, page_of
from loopctl.kit.routers import api_router
from loopctl.kit.schemas import InputTimestamp, Item, Page
from loopctl.projects.errors import ProjectNotFound
from loopctl.stories.errors import StoryNotFound

router = api_router(tag="audit")


@router.get("/audit")
async def search_audit(
    conn: RequestConn,
    principal: UserPrincipal,
    page: PageParams,
    entity_type: EntityTypeQuery = None,
    entity_id: Annotated[UUID | None, Query(description="Only entries about this entity")] = None,
    action: ActionQuery = None,
    actor: Annotated[
        UUID | None, Query(description="Only entries made by this agent id or API key id")
    ] = None,
    project_id: ProjectQuery = None,
    start: Annotated[
        InputTimestamp | None,
        Query(alias="from", description="Only entries at or after this time (ISO 8601)"),
    ] = None,
    end: Annotated[
        InputTimestamp | None,
        Query(alias="to", description="Only entries at or before this time (ISO 8601)"),
    ] = None,
) -> Page[AuditEntry]:
    """Search the tenant's audit log, newest first."""
    rows, total = await queries.search(
        conn,
        principal,
        page,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        actor=actor,
        project_id=project_id,
        start=start,
        end=end,
    )
    return page_of([queries.view(r) for r in rows], total, page)


@router.get(
    "/stories/{story_id}/history",
    responses=errors(StoryNotFound),
)
async def story_history(
    story_id: UUID, conn: RequestConn, principal: AgentPrincipal, page: PageParams
) -> Page[AuditEntry]:
    """Every audit entry of one story, oldest first (in the change feed's order)."""
    rows, total = await queries.story_history(conn, principal, story_id, page)
    return page_of([queries.view(r) for r in rows], total, page)


@router.post(
    "/audit/events",
    status_code=201,
    responses=errors(ProjectNotFound, StoryNotFound),
)
async def report_event(
    body: EventIn, conn: RequestConn, principal: OrchestratorPrincipal
) -> Item[AuditEntry]:
    """Record an event of the caller's own work (session start/end, rule violations, review
    outcomes) in the audit log, as entity type orchestrator_event."""
    return Item(data=queries.view(await events.report(conn, principal, body)))
