"""Reading the audit log: the tenant-wide search and one story's history."""

from datetime import datetime
from uuid import UUID

from loopctl.audit import repository
from loopctl.audit.repository import AuditQuery, AuditRow
from loopctl.audit.schemas import AuditEntry
from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection
from loopctl.kit.pagination import Pagination
from loopctl.stories import service as stories


def view(row: AuditRow) -> AuditEntry:
    return AuditEntry.model_validate(row)


async def search(
    conn: Connection,
    principal: Principal,  # noqa: ARG001 (the shape of every service; RLS scopes it)
    page: Pagination,
    *,
    entity_type: str | None = None,
    entity_id: UUID | None = None,
    action: str | None = None,
    actor: UUID | None = None,
    project_id: UUID | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> tuple[list[AuditRow], int]:
    query = AuditQuery(
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        actor=actor,
        project_id=project_id,
        start=start,
        end=end,
    )
    return await repository.search(conn, query, page)


async def story_history(
    conn: Connection, principal: Principal, story_id: UUID, page: Pagination
) -> tuple[list[AuditRow], int]:
    """Every entry about the story; a deleted story keeps its history, an unknown one is 404."""
    rows, total = await repository.history(conn, "story", story_id, page)
    if total == 0:
        # Raises story_not_found for an id that is neither a story nor in the log.
        await stories.get(conn, principal, story_id)
    return rows, total
