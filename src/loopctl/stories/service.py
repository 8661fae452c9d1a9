"""Stories: the units of work. Their two status fields are owned by the progress domain."""

from uuid import UUID

from psycopg import errors as pg

from loopctl.audit import service as audit
from loopctl.auth.principal import Principal
from loopctl.db import Connection
from loopctl.epics import service as epics
from loopctl.epics.repository import EpicRow
from loopctl.errors import UnprocessableEntity
from loopctl.kit.ids import new_id
from loopctl.projects import service as projects
from loopctl.stories import criteria, repository
from loopctl.stories.errors import StoryNotFound, StoryNumberTaken
from loopctl.stories.repository import StoryRow
from loopctl.stories.schemas import Story, StoryCreate, StoryCreateInProject


def view(row: StoryRow) -> Story:
    return Story.model_validate(row)


async def _create_in(
    conn: Connection, principal: Principal, epic: EpicRow, body: StoryCreate
) -> StoryRow:
    try:
        acceptance = criteria.normalize(body.acceptance_criteria)
    except ValueError as exc:
        raise UnprocessableEntity.for_field("body.acceptance_criteria", str(exc)) from exc
    try:
        row = await repository.insert(
            conn,
            tenant_id=principal.tenant,
            id=new_id(),
            project_id=epic.project_id,
            epic_id=epic.id,
            number=body.number,
            title=body.title,
            description=body.description,
            acceptance_criteria=acceptance,
            estimated_hours=body.estimated_hours,
            metadata=body.metadata,
        )
    except pg.UniqueViolation as exc:
        raise StoryNumberTaken(details={"number": body.number}) from exc
    await audit.record(
        conn,
        principal,
        entity_type="story",
        entity_id=row.id,
        action="created",
        after=view(row),
        project_id=row.project_id,
    )
    return row


async def create(
    conn: Connection, principal: Principal, epic_id: UUID, body: StoryCreate
) -> StoryRow:
    epic = await epics.get(conn, principal, epic_id)
    await projects.writable(conn, epic.project_id)
    return await _create_in(conn, principal, epic, body)


async def create_in_project(
    conn: Connection, principal: Principal, project_id: UUID, body: StoryCreateInProject
) -> StoryRow:
    await projects.writable(conn, project_id)
    epic = await epics.by_number(conn, project_id, body.epic_number)
    if epic is None:
        raise UnprocessableEntity.for_field(
            "body.epic_number", f"no epic number {body.epic_number} in this project"
        )
    return await _create_in(
        conn, principal, epic, StoryCreate.model_validate(body.model_dump(exclude={"epic_number"}))
    )


async def get(conn: Connection, principal: Principal, story_id: UUID) -> StoryRow:
    row = await repository.get(conn, story_id)
    if row is None:
        raise StoryNotFound()
    return row
