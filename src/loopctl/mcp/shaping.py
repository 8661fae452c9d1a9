"""Compact answers: only the fields an agent acts on, so tool results stay cheap in tokens."""

from typing import Any

from pydantic import BaseModel

from loopctl.kit.schemas import Page

LIST_FIELDS = ("id", "number", "title", "agent_status", "verified_status", "epic_number")
PROJECT_FIELDS = ("id", "slug", "name", "status")
STEP_FIELDS = ("id", "number", "title", "agent_status", "verified_status")
HISTORY_FIELDS = ("action", "actor_label", "actor_role", "created_at", "after")
FEED_FIELDS = ("cursor", "entity_type", "entity_id", "action", "project_id", "actor_label")
VERSION_FIELDS = ("version", "saved_by", "saved_at", "cursor", "state_data")
PROJECT_NOISE = ("metadata", "archived_at", "created_at", "updated_at")
STATE_NOISE = ("tenant_id", "saved_by_agent_id", "inserted_at")
EVENT_NOISE = ("before", "actor_key_id", "actor_agent_id", "request_id", "project_id")


def _pick(row: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: row[name] for name in fields if row.get(name) is not None}


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


def listing(page: Page[Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """Rows cut to ``fields``, and the cursor for the next page (null when this is the last)."""
    meta = page.meta
    following = meta.offset + len(page.data)
    return {
        "items": [_pick(_dump(row), fields) for row in page.data],
        "total": meta.total,
        "next_offset": following if following < meta.total else None,
    }


def step(story: BaseModel) -> dict[str, Any]:
    """A loop step's answer: the new state, the lease token, and what can be done next."""
    row = _dump(story)
    shaped = _pick(row, STEP_FIELDS)
    lease = row.get("lease")
    if lease:
        shaped["lease_token"] = lease["token"]
        shaped["lease_expires_at"] = lease["expires_at"]
    shaped["next_actions"] = [action["action"] for action in row.get("next_actions", [])]
    for name in ("description", "acceptance_criteria"):
        if name in row:
            shaped[name] = row[name]
    return shaped


def story(detail: BaseModel) -> dict[str, Any]:
    """One story in full: what to build and how it will be checked."""
    row = _dump(detail)
    fields = (*LIST_FIELDS, "description", "estimated_hours", "project_id", "project_mission")
    shaped = _pick(row, fields)
    shaped["acceptance_criteria"] = [
        {"id": c["id"], "criterion": c["criterion"]} for c in row["acceptance_criteria"]
    ]
    for name in ("dependencies",):
        if row.get(name):
            shaped[name] = row[name]
    return shaped


def plain(model: BaseModel, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """The model as JSON, without the null fields and ``drop``."""
    return {k: v for k, v in _dump(model).items() if v is not None and k not in drop}


def feed(page: BaseModel) -> dict[str, Any]:
    """A change-feed page: its events, and the cursor to pass back to read on."""
    row = _dump(page)
    return {
        "items": [_pick(event, FEED_FIELDS) for event in row["data"]],
        "next_cursor": row["meta"]["next_cursor"],
        "has_more": row["meta"]["has_more"],
    }
