"""Epics: numbered groups of stories within a project."""

from uuid import UUID

from psycopg import errors as pg

from loopctl.audit import service as audit
from loopctl.auth.principal import Principal
from loopctl.db import Connection
from loopctl.epics import repository
from loopctl.epics.errors import EpicNotFound, EpicNumberTaken
from loopctl.epics.repository import EpicRow
from loopctl.epics.schemas import Epic, EpicCreate
from loopctl.kit.ids import new_id
from loopctl.projects import service as projects


def view(row: EpicRow) -> Epic:
    return Epic.model_validate(row)


async def create(
    conn: Connection, principal: Principal, project_id: UUID, body: EpicCreate
) -> EpicRow:
    await projects.writable(conn, project_id)
    try:
        row = await repository.insert(
            conn,
            tenant_id=principal.tenant,
            id=new_id(),
            project_id=project_id,
            number=body.number,
            title=body.title,
            description=body.description,
            phase=body.phase,
            position=body.position,
            metadata=body.metadata,
        )
    except pg.UniqueViolation as exc:
        raise EpicNumberTaken(details={"number": body.number}) from exc
    await audit.record(
        conn,
        principal,
        entity_type="epic",
        entity_id=row.id,
        action="created",
        after=view(row),
        project_id=project_id,
    )
    return row


async def get(conn: Connection, principal: Principal, epic_id: UUID) -> EpicRow:
    row = await repository.get(conn, epic_id)
    if row is None:
        raise EpicNotFound()
    return row


async def by_number(conn: Connection, project_id: UUID, number: int) -> EpicRow | None:
    return await repository.get_by_number(conn, project_id, number)
