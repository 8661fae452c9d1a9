"""What the graph says about stories: ready and blocked lists, unblocks counts, the whole
graph document and the critical path."""

from collections import defaultdict
from uuid import UUID

from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection
from loopctl.dependencies import claim_order
from loopctl.dependencies import graph_path_repository as path_repository
from loopctl.dependencies import graph_repository as repository
from loopctl.dependencies.graph_path import heaviest_chain
from loopctl.dependencies.links import StoryDependencyFields, dependency_link, dependent_link
from loopctl.dependencies.schemas import (
    BlockedBy,
    BlockedItem,
    BlockingEpic,
    BlockingStory,
    CriticalPath,
    PathStory,
    WorkItem,
)
from loopctl.epics import service as epics
from loopctl.epics.errors import EpicNotFound
from loopctl.kit.lookup import found
from loopctl.kit.pagination import Pagination
from loopctl.platform.errors import UnprocessableEntity
from loopctl.projects import service as projects
from loopctl.projects.errors import ProjectNotFound


async def _scope(
    conn: Connection, principal: Principal, project_id: UUID | None, epic_id: UUID | None
) -> UUID | None:
    """The project the list covers: the one given, the epic's, or None (the whole tenant)."""
    if project_id is not None:
        await projects.get(conn, principal, project_id)
    if epic_id is None:
        return project_id
    try:
        epic = await epics.get(conn, principal, epic_id)
    except EpicNotFound:
        epic = None
    if epic is None or project_id not in (None, epic.project_id):
        raise UnprocessableEntity.for_field(
            "epic_id",
            "no such epic in this project" if project_id else "no such epic",
            type_="not_found",
        )
    return epic.project_id


async def _work_page(
    conn: Connection,
    principal: Principal,
    blocked: bool,
    project_id: UUID | None,
    epic_id: UUID | None,
    page: Pagination,
) -> tuple[list[repository.WorkRow], int]:
    """One page of the ready (or blocked) stories in the scope, and how many there are."""
    scope = await _scope(conn, principal, project_id, epic_id)
    return await repository.work_page(
        conn,
        blocked=blocked,
        project_id=scope,
        epic_id=epic_id,
        limit=page.limit,
        offset=page.offset,
    )


async def ready(
    conn: Connection,
    principal: Principal,
    *,
    project_id: UUID | None,
    epic_id: UUID | None,
    page: Pagination,
) -> tuple[list[WorkItem], int]:
    """Pending, unverified stories with nothing unverified to wait for."""
    rows, total = await _work_page(conn, principal, False, project_id, epic_id, page)
    counts = await repository.unblocks_counts(conn, [r.id for r in rows])
    return [
        WorkItem.model_validate({**_fields(r), "unblocks_count": counts[r.id]}) for r in rows
    ], total


async def blocked(
    conn: Connection,
    principal: Principal,
    *,
    project_id: UUID | None,
    epic_id: UUID | None,
    page: Pagination,
) -> tuple[list[BlockedItem], int]:
    """Stories not verified yet that wait for something unverified, with what that is."""
    rows, total = await _work_page(conn, principal, True, project_id, epic_id, page)
    ids = [r.id for r in rows]
    counts = await repository.unblocks_counts(conn, ids)
    by_story: dict[UUID, list[BlockingStory]] = defaultdict(list)
    for b in await repository.blocking_stories(conn, ids):
        by_story[b.blocked_id].append(BlockingStory.model_validate(b))
    by_epic: dict[UUID, list[BlockingEpic]] = defaultdict(list)
    for e in await repository.blocking_epics(conn, list({r.epic_id for r in rows})):
        by_epic[e.blocked_epic_id].append(BlockingEpic.model_validate(e))
    items = [
        BlockedItem.model_validate(
            {
                **_fields(r),
                "unblocks_count": counts[r.id],
                "blocked_by": BlockedBy(stories=by_story[r.id], epics=by_epic[r.epic_id]),
            }
        )
        for r in rows
    ]
    return items, total


def _fields(row: repository.WorkRow) -> dict[str, object]:
    return {name: getattr(row, name) for name in WorkItem.model_fields if hasattr(row, name)}


async def story_fields(conn: Connection, story_id: UUID) -> StoryDependencyFields:
    """The dependency fields GET /stories/{id} shows."""
    links = await repository.links(conn, story_id)
    counts = await repository.unblocks_counts(conn, [story_id])
    return StoryDependencyFields(
        dependencies=[dependency_link(story_id, x) for x in links if x.direction == "dependency"],
        dependents=[dependent_link(story_id, x) for x in links if x.direction == "dependent"],
        unblocks_count=counts[story_id],
    )


async def graph_document(conn: Connection, principal: Principal, project_id: UUID) -> str:  # noqa: ARG001 (the shape of every service; RLS scopes it)
    """The project graph as JSON text (the ``data`` of the response)."""
    return found(await repository.graph_document(conn, project_id), ProjectNotFound)


async def critical_path(conn: Connection, principal: Principal, project_id: UUID) -> CriticalPath:
    """The heaviest chain of unverified stories: the graph comes as arrays of integers in
    one statement, the walk is linear in its size (graph_path.py)."""
    await projects.get(conn, principal, project_id)
    graph = await path_repository.path_graph(conn, project_id)
    weights = graph.hours if graph.all_estimated else [1.0] * len(graph.ids)
    chain, total = heaviest_chain(
        weights, graph.epic_of, graph.epic_count, graph.story_edges, graph.epic_edges
    )
    rows = await path_repository.path_stories(conn, [graph.ids[i] for i in chain])
    return CriticalPath(
        project_id=project_id,
        weight="hours" if graph.all_estimated else "count",
        total=total,
        stories=[PathStory.model_validate(row) for row in rows],
    )


async def lock_claim_order(conn: Connection, project_id: UUID) -> None:
    """See claim_order.lock: before a change that will need a refresh."""
    await claim_order.lock(conn, project_id)


async def refresh_claim_order(conn: Connection, project_id: UUID) -> None:
    """See claim_order.refresh: after a change to the project's graph."""
    await claim_order.refresh(conn, project_id)
