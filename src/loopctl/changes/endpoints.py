"""/api/v1/changes: the change feed."""

from typing import Annotated

from fastapi import Header, Query, Request, Response
from sse_starlette import EventSourceResponse

from loopctl.audit.schemas import ActionQuery, EntityTypeQuery, ProjectQuery
from loopctl.auth.dependencies import AgentPrincipal
from loopctl.changes import service, stream
from loopctl.changes.schemas import FeedPage, feed_json
from loopctl.database.connections import RequestConn
from loopctl.kit.routers import api_router
from loopctl.kit.schemas import InputTimestamp
from loopctl.platform.errors import UnprocessableEntity
from loopctl.platform.runtime import Runtime

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
) -> Response:
    """Read the tenant's changes in commit-safe order; follow meta.next_cursor to miss none."""
    filters = service.Filters(project_id=project_id, entity_type=entity_type, action=action)
    page = await service.read(
        conn, principal, cursor=cursor, since=since, filters=filters, limit=limit
    )
    # The body is FeedPage's JSON, written without building the model (changes/schemas.py).
    body = feed_json(page.events, page.meta)
    return Response(body, media_type="application/json")


_STREAM = {
    200: {
        "description": "Server-Sent Events: one `change` event per feed event (its id is "
        "the event's cursor, its data the event as JSON), and a comment as heartbeat",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


@router.get("/stream", response_model=None, responses=_STREAM)  # type: ignore[arg-type]
async def stream_changes(
    request: Request,
    conn: RequestConn,  # noqa: ARG001 (the role guard's; ends before the stream starts)
    principal: AgentPrincipal,
    cursor: CursorQuery = None,
    since: SinceQuery = None,
    project_id: ProjectQuery = None,
    entity_type: EntityTypeQuery = None,
    action: ActionQuery = None,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            max_length=100,
            description="Resume after this event (browsers send it when they reconnect)",
        ),
    ] = None,
) -> EventSourceResponse:
    """Follow the tenant's changes live, as Server-Sent Events; resumable by Last-Event-ID."""
    start = stream.start_of(last_event_id, cursor)
    if start is not None and since is not None:
        raise UnprocessableEntity.for_field("query.since", "give cursor or since, not both")
    runtime: Runtime = request.app.state.runtime
    assert principal.tenant_id is not None  # the role guard requires a tenant
    assert runtime.settings.database_url is not None
    streams = stream.streams_of(
        request.app.state, runtime.connections, runtime.settings.database_url.get_secret_value()
    )
    filters = service.Filters(project_id=project_id, entity_type=entity_type, action=action)
    events = stream.events(streams, principal.tenant_id, start or service.START, since, filters)
    return EventSourceResponse(events, ping=stream.HEARTBEAT_SECONDS)
