"""Deleting an epic, which may take its stories with it (kept apart from the epic service
because it needs the story service, which itself depends on the epic service)."""

from uuid import UUID

from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection
from loopctl.epics import service as epics
from loopctl.epics.errors import EpicNotEmpty
from loopctl.epics.schemas import EpicDeleted
from loopctl.projects import service as projects
from loopctl.stories import service as stories


async def delete(
    conn: Connection, principal: Principal, epic_id: UUID, *, force: bool
) -> EpicDeleted:
    """Delete an empty epic; with ``force``, delete its stories and their edges too.

    Locks the project (which dependency edits also lock), then the epic, then its stories,
    so that no story or edge appears between the count and the delete.
    """
    found = await epics.get(conn, principal, epic_id)
    await projects.writable(conn, found.project_id, lock=True)
    epic = await epics.lock(conn, principal, epic_id)
    count = await epics.story_count(conn, epic_id)
    if count and not force:
        raise EpicNotEmpty(
            f"This epic has {count} stories; delete them first, or delete with ?force=true "
            "to delete the epic with its stories and their dependencies",
            details={"story_count": count},
        )
    deleted = await stories.delete_in_epic(conn, principal, epic_id) if count else []
    return await epics.remove(conn, principal, epic, deleted_story_ids=[s.id for s in deleted])
