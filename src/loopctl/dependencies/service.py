"""Dependency edges: create (with the cycle check), delete and list.

Every edit locks the project row first (projects.writable with lock=True), as story and
epic deletion and imports do, so the check and the insert see one consistent graph: two
concurrent inserts that would together close a cycle run one after the other, and the
second one sees the first.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from psycopg import errors as pg
from pydantic import BaseModel

from loopctl.audit import service as audit
from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection
from loopctl.dependencies import claim_order, repository
from loopctl.dependencies import cycle_repository as cycles
from loopctl.dependencies.errors import (
    DependencyAcrossProjects,
    DependencyCycle,
    DependencyExists,
    DependencyOnSelf,
    EpicDependencyNotFound,
    StoryDependencyNotFound,
)
from loopctl.dependencies.graph import shortest_path
from loopctl.dependencies.repository import (
    EpicDependencyRow,
    EpicEnd,
    StoryDependencyRow,
    StoryEnd,
)
from loopctl.dependencies.schemas import (
    EpicDependency,
    EpicDependencyCreate,
    StoryDependency,
    StoryDependencyCreate,
)
from loopctl.epics import service as epics
from loopctl.kit.ids import new_id
from loopctl.kit.pagination import Pagination
from loopctl.platform.errors import AppError, UnprocessableEntity
from loopctl.projects import service as projects

KIND = {"s": "story", "e": "epic"}


def story_view(row: StoryDependencyRow) -> StoryDependency:
    return StoryDependency.model_validate(row)


def epic_view(row: EpicDependencyRow) -> EpicDependency:
    return EpicDependency.model_validate(row)


async def _story(conn: Connection, story_id: UUID, field: str) -> StoryEnd:
    found = await repository.story_end(conn, story_id)
    if found is None:
        raise UnprocessableEntity.for_field(field, "no such story", type_="not_found")
    return found


async def _epic(conn: Connection, epic_id: UUID, field: str) -> EpicEnd:
    found = await repository.epic_end(conn, epic_id)
    if found is None:
        raise UnprocessableEntity.for_field(field, "no such epic", type_="not_found")
    return found


def _at(end: StoryEnd | EpicEnd) -> tuple[cycles.Node, UUID]:
    """An end of an edge as the cycle check walks it: its node, and the epic it is in."""
    if isinstance(end, StoryEnd):
        return ("s", end.id), end.epic_id
    return ("e", end.id), end.id


async def _cycle(
    conn: Connection,
    project_id: UUID,
    start_at: tuple[cycles.Node, UUID],
    goal_at: tuple[cycles.Node, UUID],
) -> list[cycles.Node] | None:
    """The path by which ``start`` already reaches ``goal`` (a story, or any story of an
    epic), or None. Only a rejected edge pays for naming the path."""
    (start, start_epic), (goal, goal_epic) = start_at, goal_at
    between = await cycles.epics_between(conn, project_id, start_epic, goal_epic)
    if not between or not await cycles.reaches(conn, start, start_epic, goal, between):
        return None
    return await _shortest_walk(conn, start, start_epic, goal, between)


async def _shortest_walk(
    conn: Connection, start: cycles.Node, start_epic: UUID, goal: cycles.Node, epics: list[UUID]
) -> list[cycles.Node] | None:
    """Breadth-first from ``start``, one query per level, until a goal node appears: the
    path to a cycle just closed by the reverse of an edge costs one level, not the graph."""
    parent: dict[cycles.Node, cycles.Node | None] = {start: None}
    frontier = [(start, start_epic)]
    while frontier:
        following = []
        for a, b, epic in await cycles.step(conn, frontier, epics):
            if b in parent:
                continue
            parent[b] = a
            following.append((b, epic))
            if b == goal or (goal[0] == "e" and b[0] == "s" and epic == goal[1]):
                path = [b]
                while (back := parent[path[-1]]) is not None:
                    path.append(back)
                return path[::-1]
        frontier = following
    return None


async def _reject(conn: Connection, path: list[cycles.Node]) -> DependencyCycle:
    names = await cycles.labels(
        conn, [n[1] for n in path if n[0] == "s"], [n[1] for n in path if n[0] == "e"]
    )
    return DependencyCycle(
        [
            {"type": KIND[kind], "id": str(ident), "number": names[(kind, ident)]}
            for kind, ident in path
        ]
    )


class _EdgeRow(Protocol):
    @property
    def id(self) -> UUID: ...
    @property
    def project_id(self) -> UUID: ...


R = TypeVar("R", bound=_EdgeRow)
V = TypeVar("V", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class _Edges(Generic[R, V]):
    """What creating and deleting differ in between story and epic edges."""

    entity_type: str
    table: repository.EdgeTable[R]
    view: Callable[[R], V]
    not_found: type[AppError]
    # The 422 for an insert whose end changed or went while this transaction waited.
    end_changed: tuple[str, str]

    @property
    def trail(self) -> audit.Trail[R]:
        return audit.Trail(self.entity_type, self.view, lambda row: row.project_id)


STORY_EDGES = _Edges(
    "story_dependency",
    repository.STORY_EDGES,
    story_view,
    StoryDependencyNotFound,
    ("story_id", "the story changed; retry"),  # it moved to another epic, or was deleted
)
EPIC_EDGES = _Edges(
    "epic_dependency",
    repository.EPIC_EDGES,
    epic_view,
    EpicDependencyNotFound,
    ("epic_id", "no such epic"),  # deleted by a transaction that committed meanwhile
)


async def _refuse_duplicate(
    conn: Connection, edges: _Edges[R, V], waiting: UUID, waited_for: UUID
) -> None:
    """A 409 naming the edge by which ``waiting`` already waits for ``waited_for``."""
    existing = await edges.table.find(conn, waiting, waited_for)
    if existing is not None:
        raise DependencyExists(details={"dependency_id": str(existing)})


async def _create(
    conn: Connection,
    principal: Principal,
    edges: _Edges[R, V],
    project_id: UUID,
    ends: dict[str, UUID],
) -> R:
    """Insert an edge between ``ends`` (its end columns) and record it."""
    edge_id = new_id()
    values = {"tenant_id": principal.tenant, "id": edge_id, "project_id": project_id}
    try:
        await edges.table.insert(conn, values | ends)
    except pg.ForeignKeyViolation as exc:
        raise UnprocessableEntity.for_field(*edges.end_changed) from exc
    row = await edges.table.get(conn, edge_id)
    assert row is not None
    await edges.trail.created(conn, principal, row)
    await claim_order.refresh(conn, row.project_id)
    return row


async def create_story_dependency(
    conn: Connection, principal: Principal, body: StoryDependencyCreate
) -> StoryDependencyRow:
    if body.story_id == body.depends_on_story_id:
        raise DependencyOnSelf("story", "depends_on_story_id")
    found = await _story(conn, body.story_id, "story_id")
    await projects.writable(conn, found.project_id, lock=True)
    # Read both ends again under the lock: the story may have moved or gone meanwhile.
    story = await _story(conn, body.story_id, "story_id")
    depends_on = await _story(conn, body.depends_on_story_id, "depends_on_story_id")
    if depends_on.project_id != story.project_id:
        raise DependencyAcrossProjects("story", "depends_on_story_id")
    await _refuse_duplicate(conn, STORY_EDGES, story.id, depends_on.id)
    # story -> depends_on closes a cycle iff depends_on already reaches story.
    path = await _cycle(conn, story.project_id, _at(depends_on), _at(story))
    if path is not None:
        raise await _reject(conn, [("s", story.id), *path])
    ends = {
        "story_id": story.id,
        "story_epic_id": story.epic_id,
        "depends_on_story_id": depends_on.id,
        "depends_on_epic_id": depends_on.epic_id,
    }
    return await _create(conn, principal, STORY_EDGES, story.project_id, ends)


async def create_epic_dependency(
    conn: Connection, principal: Principal, body: EpicDependencyCreate
) -> EpicDependencyRow:
    if body.epic_id == body.depends_on_epic_id:
        raise DependencyOnSelf("epic", "depends_on_epic_id")
    epic = await _epic(conn, body.epic_id, "epic_id")
    depends_on = await _epic(conn, body.depends_on_epic_id, "depends_on_epic_id")
    if depends_on.project_id != epic.project_id:
        raise DependencyAcrossProjects("epic", "depends_on_epic_id")
    await projects.writable(conn, epic.project_id, lock=True)
    await _refuse_duplicate(conn, EPIC_EDGES, epic.id, depends_on.id)
    path = await _epic_cycle(conn, epic, depends_on)
    if path is not None:
        raise await _reject(conn, path)
    ends = {"epic_id": epic.id, "depends_on_epic_id": depends_on.id}
    return await _create(conn, principal, EPIC_EDGES, epic.project_id, ends)


async def _epic_cycle(
    conn: Connection, epic: EpicEnd, depends_on: EpicEnd
) -> list[cycles.Node] | None:
    """epic -> depends_on is refused when epic edges alone lead back (even between empty
    epics), or when every story of depends_on reaches some story of epic."""
    if await cycles.epic_edges_reach(conn, depends_on.id, epic.id):
        pairs = await cycles.epic_edge_pairs(conn, epic.project_id)
        back = shortest_path(pairs, depends_on.id, lambda e: e == epic.id)
        assert back is not None
        return [("e", epic.id), *(("e", e) for e in back)]
    path = await _cycle(conn, epic.project_id, _at(depends_on), _at(epic))
    if path is None:
        return None
    # The path ends at a story of ``epic``; the new edge makes it wait for depends_on.
    return [*path, ("e", depends_on.id)]


async def _delete(conn: Connection, principal: Principal, edge_id: UUID, edges: _Edges[R, V]) -> V:
    found = await edges.table.get(conn, edge_id)
    if found is None:
        raise edges.not_found()
    await projects.writable(conn, found.project_id, lock=True)
    # Read again under the project lock: the edge may have gone while this one waited.
    row = await edges.table.get(conn, edge_id)
    if row is None:
        raise edges.not_found()
    await edges.table.delete(conn, edge_id)
    removed = edges.view(row)
    await edges.trail.deleted(conn, principal, row, removed)
    await claim_order.refresh(conn, row.project_id)
    return removed


async def delete_story_dependency(
    conn: Connection, principal: Principal, edge_id: UUID
) -> StoryDependency:
    return await _delete(conn, principal, edge_id, STORY_EDGES)


async def delete_epic_dependency(
    conn: Connection, principal: Principal, edge_id: UUID
) -> EpicDependency:
    return await _delete(conn, principal, edge_id, EPIC_EDGES)


async def list_story_dependencies(
    conn: Connection, principal: Principal, epic_id: UUID, page: Pagination
) -> tuple[list[StoryDependency], int]:
    epic = await epics.get(conn, principal, epic_id)
    rows, total = await repository.story_edges_of_epic(
        conn, project_id=epic.project_id, epic_id=epic.id, page=page
    )
    return [story_view(r) for r in rows], total


async def list_epic_dependencies(
    conn: Connection, principal: Principal, project_id: UUID, page: Pagination
) -> tuple[list[EpicDependency], int]:
    await projects.get(conn, principal, project_id)
    rows, total = await repository.epic_edges_of_project(conn, project_id=project_id, page=page)
    return [epic_view(r) for r in rows], total
