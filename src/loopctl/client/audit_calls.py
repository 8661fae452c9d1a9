"""The requests that read the audit log: a story's history and the tenant-wide search."""

from datetime import datetime
from typing import Any

from loopctl.client.core import Call, Id, page, present
from loopctl.client.models import AuditEntry
from loopctl.kit.schemas import Page


def story_history(
    story_id: Id, *, limit: int | None = None, offset: int | None = None
) -> Call[Page[AuditEntry]]:
    """Every audit entry of one story, oldest first (agent key or higher)."""
    params = present(limit=limit, offset=offset)
    return Call("GET", f"/stories/{story_id}/history", page(AuditEntry), params=params)


def search_audit(
    *,
    limit: int | None = None,
    offset: int | None = None,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    **filters: Any,
) -> Call[Page[AuditEntry]]:
    """The tenant's audit log, newest first (user key): ``entity_type``, ``entity_id``,
    ``action``, ``actor``, ``project_id``; ``start``/``end`` are sent as ``from``/``to``."""
    times = {
        "from": start.isoformat() if isinstance(start, datetime) else start,
        "to": end.isoformat() if isinstance(end, datetime) else end,
    }
    params = present(limit=limit, offset=offset, **filters, **times)
    return Call("GET", "/audit", page(AuditEntry), params=params)
