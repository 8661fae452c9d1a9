"""/api/v1/changes: the change feed."""

from typing import Annotated

from fastapi import Query

from loopctl.audit.schemas import ActionQuery, EntityTypeQuery, ProjectQuery
from loopctl.auth.dependencies import AgentPrincipal
from loopctl.changes import service
from loopctl.changes.schemas import FeedPage
from loopctl.database.connections import RequestConn
from loopctl.kit.routers import api_router
from loopctl.kit.schemas import InputTimestamp

router = api_router("/changes", tag="changes")

CursorQuery = Annotated[
    str | None,
    Query(
        max_length=100,
        description="Read the events after this one: a cursor or next_cursor the feed gave",
    ),
]
SinceQuery = Annotated[
    InputTimestamp | None,
    Query(description="Without a cursor: start at events written after this time (ISO 8601)"),
]


@router.get("", response_model=FeedPage)
async def read_changes(
    conn: RequestConn,
    principal: AgentPrincipal,
    cursor: CursorQuery = None,
    since: SinceQuery = None,
    project_id: ProjectQuery = None,
    entity_type: EntityTypeQuery = None,
    action: ActionQuery = None,
    limit: Annotated[
        int, Query(ge=1, le=service.MAX_LIMIT, description="Events per page, at most 1000")
    ] = service.MAX_LIMIT,
) -> FeedPage:
    """Read the tenant's changes in commit-safe order; follow meta.next_cursor to miss none."""
    filters = service.Filters(project_id=project_id, entity_type=entity_type, action=action)
    return await service.read(
        conn, principal, cursor=cursor, since=since, filters=filters, limit=limit
    )
