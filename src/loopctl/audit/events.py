"""Events orchestrators report about their own work: sessions, rule violations, outcomes.

They go into the same audit log as every change (entity type ``orchestrator_event``), so
the audit queries, story histories and the change feed show them beside the changes they
explain, marked by their entity type and the orchestrator that reported them.
"""

from uuid import UUID

from loopctl.audit import repository, service
from loopctl.audit.repository import AuditRow
from loopctl.audit.schemas import EventIn
from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection
from loopctl.kit.ids import new_id
from loopctl.platform.errors import UnprocessableEntity
from loopctl.projects import service as projects
from loopctl.stories import service as stories

EVENT = "orchestrator_event"


async def _project_of(conn: Connection, principal: Principal, body: EventIn) -> UUID | None:
    """The event's project: the one named, or the story's; both named must agree."""
    project_id = body.project_id
    if project_id is not None:
        await projects.get(conn, principal, project_id)
    if body.story_id is not None:
        story = await stories.get(conn, principal, body.story_id)
        if project_id is not None and story.project_id != project_id:
            raise UnprocessableEntity.for_field("story_id", "the story is not in that project")
        project_id = story.project_id
    return project_id


async def report(conn: Connection, principal: Principal, body: EventIn) -> AuditRow:
    project_id = await _project_of(conn, principal, body)
    event_id = new_id()
    await service.record(
        conn,
        principal,
        entity_type=EVENT,
        entity_id=event_id,
        action=body.event_type,
        after={
            "reported_by": principal.role_name,
            "story_id": None if body.story_id is None else str(body.story_id),
            "summary": body.summary,
            "data": body.data,
        },
        project_id=project_id,
    )
    [row] = await repository.list_for_entity(conn, EVENT, event_id)
    return row
