"""Epics: numbered groups of stories within a project."""

from uuid import UUID

from psycopg import errors as pg

from loopctl.audit import service as audit
from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection
from loopctl.epics import repository
from loopctl.epics.errors import EpicNotFound, EpicNumberTaken
from loopctl.epics.rows import EpicCountsRow, EpicRow
from loopctl.epics.schemas import (
    Epic,
    EpicCreate,
    EpicDeleted,
    EpicDetail,
    EpicStory,
    EpicSummary,
    EpicUpdate,
)
from loopctl.kit.ids import new_id
from loopctl.kit.lookup import found
from loopctl.kit.pagination import Pagination
from loopctl.kit.patch import patched, unchanged, values_of
from loopctl.projects import service as projects
from loopctl.stories.rollup import percentage

EDITABLE = ("title", "description", "phase", "position", "metadata")
CREATED = ("number", *EDITABLE)


def view(row: EpicRow) -> Epic:
    return Epic.model_validate(row)


TRAIL = audit.Trail("epic", view, lambda row: row.project_id)


def summary(row: EpicCountsRow) -> EpicSummary:
    return EpicSummary.model_validate(
        {
            **view(row).model_dump(),
            "story_count": row.story_count,
            "verified_count": row.verified_count,
            "completion_percentage": percentage(row.verified_count, row.story_count),
        }
    )


async def create(
    conn: Connection, principal: Principal, project_id: UUID, body: EpicCreate
) -> EpicRow:
    await projects.writable(conn, project_id)
    try:
        owner = {"tenant_id": principal.tenant, "id": new_id(), "project_id": project_id}
        row = await repository.insert(conn, owner | values_of(body, CREATED))
    except pg.UniqueViolation as exc:
        raise EpicNumberTaken(details={"number": body.number}) from exc
    await TRAIL.created(conn, principal, row)
    return row


async def get(conn: Connection, principal: Principal, epic_id: UUID) -> EpicRow:  # noqa: ARG001 (the shape of every service; RLS scopes it)
    return found(await repository.get(conn, epic_id), EpicNotFound)


async def by_number(conn: Connection, project_id: UUID, number: int) -> EpicRow | None:
    return await repository.get_by_number(conn, project_id, number)


async def lock(conn: Connection, principal: Principal, epic_id: UUID) -> EpicRow:  # noqa: ARG001 (the shape of every service; RLS scopes it)
    return found(await repository.get(conn, epic_id, for_update=True), EpicNotFound)


async def detail(conn: Connection, principal: Principal, epic_id: UUID) -> EpicDetail:
    row = await get(conn, principal, epic_id)
    stories = await repository.stories_of(conn, epic_id)
    return EpicDetail(
        **view(row).model_dump(), stories=[EpicStory.model_validate(s) for s in stories]
    )


async def list_epics(
    conn: Connection,
    principal: Principal,
    project_id: UUID,
    *,
    phase: str | None,
    page: Pagination,
) -> tuple[list[EpicSummary], int]:
    await projects.get(conn, principal, project_id)
    rows, total = await repository.list_page(conn, project_id=project_id, phase=phase, page=page)
    return [summary(r) for r in rows], total


async def update(
    conn: Connection, principal: Principal, epic_id: UUID, body: EpicUpdate
) -> EpicRow:
    current = await lock(conn, principal, epic_id)
    await projects.writable(conn, current.project_id)
    values = patched(body, current, EDITABLE)
    if unchanged(values, current):
        return current
    row = await repository.update(conn, epic_id, values)
    await TRAIL.changed(conn, principal, current, row)
    return row


async def story_count(conn: Connection, epic_id: UUID) -> int:
    return await repository.count_stories(conn, epic_id)


async def completion(conn: Connection, project_id: UUID) -> tuple[int, int]:
    """(epics in the project, epics with at least one story and all of them verified)."""
    return await repository.completion(conn, project_id)


async def remove(
    conn: Connection, principal: Principal, epic: EpicRow, *, deleted_story_ids: list[UUID]
) -> EpicDeleted:
    """Delete a locked epic whose stories are already gone, recording its epic edges."""
    removed = EpicDeleted(
        **view(epic).model_dump(),
        deleted_story_ids=deleted_story_ids,
        removed_dependency_ids=await repository.dependency_ids(conn, epic.id),
    )
    await repository.delete(conn, epic.id)
    await TRAIL.deleted(conn, principal, epic, removed)
    return removed
