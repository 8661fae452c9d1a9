"""Change feed response bodies."""

import orjson
from pydantic import BaseModel, Field

from loopctl.audit.schemas import AuditEntry


class ChangeEvent(AuditEntry):
    cursor: str = Field(description="This event's position: pass it as cursor to read after it")


class FeedMeta(BaseModel):
    next_cursor: str = Field(
        description="Pass as cursor to read what follows; the same cursor when nothing does yet"
    )
    has_more: bool = Field(description="Whether more events already follow next_cursor")
    limit: int


class FeedPage(BaseModel):
    """Events in commit-safe order (docs/audit-and-changes.md)."""

    data: list[ChangeEvent]
    meta: FeedMeta


def feed_json(events: str, meta: FeedMeta) -> bytes:
    """A FeedPage's JSON from its events' JSON as PostgreSQL wrote and joined it
    (changes/repository.py), without parsing it: the one response that skips its model."""
    return b"".join(
        (
            b'{"data":[',
            events.encode(),
            b'],"meta":',
            orjson.dumps(meta.model_dump()),
            b"}",
        )
    )
