"""Project progress: its stories by both status tiers and its completed epics."""

from uuid import UUID

from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection
from loopctl.epics import service as epics
from loopctl.projects import service as projects
from loopctl.projects.schemas import ProjectProgress
from loopctl.stories import service as stories


async def progress(conn: Connection, principal: Principal, project_id: UUID) -> ProjectProgress:
    await projects.get(conn, principal, project_id)
    rollup = await stories.rollup(conn, project_id=project_id)
    epics_total, epics_completed = await epics.completion(conn, project_id)
    return ProjectProgress(
        **rollup.model_dump(),
        project_id=project_id,
        epics_total=epics_total,
        epics_completed=epics_completed,
    )
