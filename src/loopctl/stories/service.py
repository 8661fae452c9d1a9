"""Stories: the units of work. Their two status fields are owned by the progress domain."""

from uuid import UUID

from psycopg import errors as pg

from loopctl.audit import service as audit
from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection
from loopctl.dependencies import graph_service as dependency_graph
from loopctl.epics import service as epics
from loopctl.epics.errors import EpicNotFound
from loopctl.epics.rows import EpicRow
from loopctl.kit.ids import new_id
from loopctl.kit.lookup import found
from loopctl.kit.pagination import Pagination
from loopctl.kit.patch import patched, unchanged
from loopctl.platform.errors import UnprocessableEntity
from loopctl.projects import service as projects
from loopctl.stories import criteria, repository
from loopctl.stories.errors import StoryNotFound, StoryNumberTaken
from loopctl.stories.repository import StoryRow
from loopctl.stories.rollup import Progress, fold
from loopctl.stories.schemas import (
    Story,
    StoryCreate,
    StoryCreateInProject,
    StoryDeleted,
    StoryDetail,
    StoryUpdate,
)

EDITABLE = ("title", "description", "acceptance_criteria", "estimated_hours", "metadata")


def view(row: StoryRow) -> Story:
    return Story.model_validate(row)


async def _create_in(
    conn: Connection, principal: Principal, epic: EpicRow, body: StoryCreate
) -> StoryRow:
    try:
        acceptance = criteria.normalize(body.acceptance_criteria)
    except criteria.DuplicateCriterionId as exc:
        raise UnprocessableEntity.for_field(exc.field, str(exc)) from exc
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
    except pg.ForeignKeyViolation as exc:
        # The epic was deleted by a transaction that committed while this one waited.
        raise EpicNotFound() from exc
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
            "epic_number", f"no epic number {body.epic_number} in this project"
        )
    return await _create_in(
        conn, principal, epic, StoryCreate.model_validate(body.model_dump(exclude={"epic_number"}))
    )


async def get(conn: Connection, principal: Principal, story_id: UUID) -> StoryRow:  # noqa: ARG001 (the shape of every service; RLS scopes it)
    return found(await repository.get(conn, story_id), StoryNotFound)


async def by_number(
    conn: Connection,
    principal: Principal,  # noqa: ARG001 (the shape of every service; RLS scopes it)
    project_id: UUID,
    number: str,
) -> StoryRow:
    return found(await repository.get_by_number(conn, project_id, number), StoryNotFound)


async def detail(conn: Connection, principal: Principal, story_id: UUID) -> StoryDetail:
    row = await get(conn, principal, story_id)
    links = await dependency_graph.story_fields(conn, row.id)
    project = await projects.get(conn, principal, row.project_id)
    return StoryDetail.model_validate(
        {**view(row).model_dump(), **links.model_dump(), "project_mission": project.mission}
    )


async def list_in_project(
    conn: Connection,
    principal: Principal,
    project_id: UUID,
    *,
    epic_id: UUID | None,
    agent_status: str | None,
    verified_status: str | None,
    q: str | None,
    page: Pagination,
    assignee: UUID | None = None,
) -> tuple[list[StoryRow], int]:
    await projects.get(conn, principal, project_id)
    return await repository.list_page(
        conn,
        project_id=project_id,
        epic_id=epic_id,
        agent_status=agent_status,
        verified_status=verified_status,
        title_contains=q,
        assignee=assignee,
        limit=page.limit,
        offset=page.offset,
    )


async def list_in_epic(
    conn: Connection,
    principal: Principal,
    epic_id: UUID,
    *,
    agent_status: str | None,
    verified_status: str | None,
    page: Pagination,
    assignee: UUID | None = None,
) -> tuple[list[StoryRow], int]:
    await epics.get(conn, principal, epic_id)
    return await repository.list_page(
        conn,
        epic_id=epic_id,
        agent_status=agent_status,
        verified_status=verified_status,
        assignee=assignee,
        limit=page.limit,
        offset=page.offset,
    )


async def update(
    conn: Connection, principal: Principal, story_id: UUID, body: StoryUpdate
) -> StoryRow:
    """Change the fields given; the status fields belong to the progress domain."""
    current = found(await repository.get(conn, story_id, for_update=True), StoryNotFound)
    await projects.writable(conn, current.project_id)
    values = patched(body, current, EDITABLE)
    if body.acceptance_criteria is not None:
        try:
            values["acceptance_criteria"] = criteria.normalize(
                body.acceptance_criteria, current.acceptance_criteria
            )
        except criteria.DuplicateCriterionId as exc:
            raise UnprocessableEntity.for_field(exc.field, str(exc)) from exc
    if unchanged(values, current):
        return current
    row = await repository.update(conn, story_id, **values)
    await audit.record(
        conn,
        principal,
        entity_type="story",
        entity_id=row.id,
        action="updated",
        before=view(current),
        after=view(row),
        project_id=row.project_id,
    )
    return row


async def delete(conn: Connection, principal: Principal, story_id: UUID) -> StoryDeleted:
    """Delete a story and every dependency edge to or from it."""
    existing = await get(conn, principal, story_id)
    # The project lock keeps dependency edits out until the edges removed are recorded.
    await projects.writable(conn, existing.project_id, lock=True)
    row = found(await repository.get(conn, story_id, for_update=True), StoryNotFound)
    [deleted] = await _remove(conn, principal, [row])
    return deleted


async def delete_in_epic(
    conn: Connection, principal: Principal, epic_id: UUID
) -> list[StoryDeleted]:
    """Delete every story of an epic (the caller holds the project and epic locks)."""
    return await _remove(conn, principal, await repository.list_in_epic(conn, epic_id))


async def _remove(
    conn: Connection, principal: Principal, rows: list[StoryRow]
) -> list[StoryDeleted]:
    ids = [row.id for row in rows]
    edges: dict[UUID, list[UUID]] = {story_id: [] for story_id in ids}
    for edge in await repository.edges_touching(conn, ids):
        for end in {edge.story_id, edge.depends_on_story_id}:
            if end in edges:
                edges[end].append(edge.id)
    await repository.delete(conn, ids)
    deleted = []
    for row in rows:
        removed = StoryDeleted(**view(row).model_dump(), removed_dependency_ids=edges[row.id])
        await audit.record(
            conn,
            principal,
            entity_type="story",
            entity_id=row.id,
            action="deleted",
            before=removed,
            project_id=row.project_id,
        )
        deleted.append(removed)
    return deleted


async def rollup(conn: Connection, *, project_id: UUID, epic_id: UUID | None = None) -> Progress:
    """The stories of a project, or of one of its epics, counted by both status tiers."""
    return fold(await repository.status_totals(conn, project_id=project_id, epic_id=epic_id))
