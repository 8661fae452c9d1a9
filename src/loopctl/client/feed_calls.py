"""The requests of the change feed, orchestrator checkpoints and orchestrator events.

The feed's models mirror ``changes/schemas.py`` (which imports FastAPI through the audit
schemas; the client does not), as ``models.py`` does for the audit entry.
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from loopctl.client.core import Call, Id, item, page, present
from loopctl.client.models import AuditEntry
from loopctl.kit.schemas import Page
from loopctl.orchestrator.schemas import OrchestratorState, StateVersion


class ChangeEvent(AuditEntry):
    cursor: str


class FeedMeta(BaseModel):
    next_cursor: str
    has_more: bool
    limit: int


class FeedPage(BaseModel):
    data: list[ChangeEvent]
    meta: FeedMeta


def changes(
    *,
    cursor: str | None = None,
    since: datetime | str | None = None,
    limit: int | None = None,
    **filters: Any,
) -> Call[FeedPage]:
    """The tenant's changes after ``cursor`` (agent key): ``project_id``, ``entity_type``,
    ``action``; pass ``meta.next_cursor`` back to read on without missing any."""
    start = since.isoformat() if isinstance(since, datetime) else since
    params = present(cursor=cursor, since=start, limit=limit, **filters)
    return Call("GET", "/changes", FeedPage.model_validate, params=params)


def save_state(project_id: Id, state_data: dict[str, Any], **extra: Any) -> Call[OrchestratorState]:
    """Save the next checkpoint version (orchestrator key): ``state_key``, ``version`` (the
    one you read; 409 ``version_conflict`` otherwise), ``cursor``."""
    body = present(state_data=state_data, **extra)
    return Call("PUT", f"/orchestrator/state/{project_id}", item(OrchestratorState), body=body)


def get_state(project_id: Id, *, state_key: str | None = None) -> Call[OrchestratorState]:
    """The latest checkpoint version (404 ``state_not_found`` before the first save)."""
    params = present(state_key=state_key)
    return Call("GET", f"/orchestrator/state/{project_id}", item(OrchestratorState), params=params)


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


def report_event(event_type: str, **fields: Any) -> Call[AuditEntry]:
    """Record an event of the caller's own work (orchestrator key): ``project_id``,
    ``story_id``, ``summary``, ``data``."""
    body = present(event_type=event_type, **fields)
    return Call("POST", "/audit/events", item(AuditEntry), body=body)
