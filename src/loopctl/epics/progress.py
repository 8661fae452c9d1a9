"""Epic progress: its stories by both status tiers."""

from uuid import UUID

from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection
from loopctl.epics import service as epics
from loopctl.epics.schemas import EpicProgress
from loopctl.stories import service as stories


async def progress(conn: Connection, principal: Principal, epic_id: UUID) -> EpicProgress:
    epic = await epics.get(conn, principal, epic_id)
    rollup = await stories.rollup(conn, project_id=epic.project_id, epic_id=epic.id)
    return EpicProgress(**rollup.model_dump(), epic_id=epic.id, project_id=epic.project_id)
