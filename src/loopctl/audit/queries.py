"""Reading the audit log: the tenant-wide search and one story's history."""

from uuid import UUID

from loopctl.audit import repository
from loopctl.audit.repository import AuditRow
from loopctl.audit.schemas import AuditEntry, AuditQuery
from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection
from loopctl.kit.pagination import Pagination
from loopctl.stories import service as stories


def view(row: AuditRow) -> AuditEntry:
    return AuditEntry.model_validate(row)


async def search(
    conn: Connection,
    principal: Principal,  # noqa: ARG001 (the shape of every service; RLS scopes it)
    query: AuditQuery,
    page: Pagination,
) -> tuple[list[AuditRow], int]:
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
