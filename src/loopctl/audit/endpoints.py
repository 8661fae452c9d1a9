"""/api/v1/audit and /api/v1/stories/{id}/history: reading the audit log."""

from typing import Annotated
from uuid import UUID

from fastapi import Depends

from loopctl.audit import events, queries
from loopctl.audit.schemas import AuditEntry, AuditQuery, EventIn
from loopctl.auth.dependencies import AgentPrincipal, OrchestratorPrincipal, UserPrincipal
from loopctl.database.connections import RequestConn
from loopctl.kit.openapi import errors
from loopctl.kit.pagination import PageParams, page_of
from loopctl.kit.routers import api_router
from loopctl.kit.schemas import Item, Page
from loopctl.projects.errors import ProjectNotFound
from loopctl.stories.errors import StoryNotFound

router = api_router(tag="audit")


@router.get("/audit")
async def search_audit(
    conn: RequestConn,
    principal: UserPrincipal,
    query: Annotated[AuditQuery, Depends()],
    page: PageParams,
) -> Page[AuditEntry]:
    """Search the tenant's audit log, newest first."""
    rows, total = await queries.search(conn, principal, query, page)
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
