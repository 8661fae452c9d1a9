"""The requests of the change feed, orchestrator checkpoints and orchestrator audit events.

The feed's models mirror the server's (changes/schemas.py imports FastAPI through the audit
schemas; tests/client/test_configuration.py holds the fields equal). Following the feed live
is ``Client.follow_changes`` (client/stream.py).
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from loopctl.client.core import Call, Id, item, page, present
from loopctl.client.models import AuditEntry
from loopctl.kit.schemas import Page
from loopctl.orchestrator.schemas import OrchestratorState, StateVersion


class ChangeEvent(AuditEntry):
    cursor: str = Field(description="This event's position: pass it as cursor to read after it")


class FeedMeta(BaseModel):
    next_cursor: str
    has_more: bool
    limit: int


class FeedPage(BaseModel):
    """Events in commit-safe order; ``meta.next_cursor`` reads what follows."""

    data: list[ChangeEvent]
    meta: FeedMeta


def _iso(value: datetime | str | None) -> str | None:
    """A time as the API reads it (ISO 8601)."""
    return value.isoformat() if isinstance(value, datetime) else value


def changes(
    *,
    cursor: str | None = None,
    since: datetime | str | None = None,
    limit: int | None = None,
    **filters: Any,
) -> Call[FeedPage]:
    """One page of the tenant's changes after ``cursor`` (or ``since``), oldest first;
    filters ``project_id``, ``entity_type``, ``action``."""
    params = present(cursor=cursor, since=_iso(since), limit=limit, **filters)
    return Call("GET", "/changes", FeedPage.model_validate, params=params)


def save_state(
    project_id: Id,
    state_data: dict[str, Any],
    *,
    state_key: str | None = None,
    version: int | None = None,
    cursor: str | None = None,
) -> Call[OrchestratorState]:
    """Save the next version of a checkpoint; ``version`` is the one you read (none: the first).
    409 ``version_conflict`` when another save came first."""
    body = present(state_key=state_key, state_data=state_data, version=version, cursor=cursor)
    return Call("PUT", f"/orchestrator/state/{project_id}", item(OrchestratorState), body=body)


def get_state(project_id: Id, *, state_key: str | None = None) -> Call[OrchestratorState]:
    """The latest version of a checkpoint (404 ``orchestrator_state_not_found`` before the first save)."""
    params = present(state_key=state_key)
    path = f"/orchestrator/state/{project_id}"
    return Call("GET", path, item(OrchestratorState), params=params)


def state_history(
    project_id: Id,
    *,
    state_key: str | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> Call[Page[StateVersion]]:
    """Every saved version of a checkpoint, newest first."""
    params = present(state_key=state_key, limit=limit, offset=offset)
    path = f"/orchestrator/state/{project_id}/history"
    return Call("GET", path, page(StateVersion), params=params)


def report_event(
    event_type: str,
    *,
    project_id: Id | None = None,
    story_id: Id | None = None,
    summary: str | None = None,
    data: dict[str, Any] | None = None,
) -> Call[AuditEntry]:
    """Record an event of the orchestrator's own work in the audit log (orchestrator key)."""
    body = present(
        event_type=event_type, project_id=project_id, story_id=story_id, summary=summary, data=data
    )
    return Call("POST", "/audit/events", item(AuditEntry), body=body)
