"""What the database itself guarantees about dependency rows."""

from dataclasses import dataclass
from uuid import UUID

import psycopg
import pytest

from loopctl.database.connections import Connection
from loopctl.epics import service as epics
from loopctl.epics.rows import EpicRow
from loopctl.epics.schemas import EpicCreate
from loopctl.kit.ids import new_id
from loopctl.projects import service as projects
from loopctl.projects.rows import ProjectRow
from loopctl.projects.schemas import ProjectCreate
from loopctl.stories import service as stories
from loopctl.stories.repository import StoryRow
from loopctl.stories.schemas import StoryCreate
from tests.fixtures.factories import Tenant


@dataclass(frozen=True)
class World:
    project: ProjectRow
    e1: EpicRow
    e2: EpicRow
    a: StoryRow
    b: StoryRow
    c: StoryRow


async def _setup(conn: Connection, tenant: Tenant) -> World:
    await conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
    p = tenant.principal()
    project = await projects.create(
        conn, p, ProjectCreate(name="P", slug=f"p-{new_id().hex[:8]}"), max_active=10
    )
    other = await projects.create(
        conn, p, ProjectCreate(name="Q", slug=f"q-{new_id().hex[:8]}"), max_active=10
    )
    e1 = await epics.create(conn, p, project.id, EpicCreate(number=1, title="one"))
    e2 = await epics.create(conn, p, project.id, EpicCreate(number=2, title="two"))
    f1 = await epics.create(conn, p, other.id, EpicCreate(number=1, title="other"))
    a = await stories.create(conn, p, e1.id, StoryCreate(number="1.1", title="a"))
    b = await stories.create(conn, p, e2.id, StoryCreate(number="2.1", title="b"))
    c = await stories.create(conn, p, f1.id, StoryCreate(number="1.1", title="c"))
    return World(project, e1, e2, a, b, c)


async def _edge(
    conn: Connection,
    tenant: Tenant,
    project: ProjectRow,
    s: StoryRow,
    t: StoryRow,
    *,
    story_epic: UUID | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO story_dependencies (tenant_id, id, project_id, story_id, story_epic_id,"
        " depends_on_story_id, depends_on_epic_id) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        [tenant.id, new_id(), project.id, s.id, story_epic or s.epic_id, t.id, t.epic_id],
    )


async def test_moving_a_story_carries_its_edges_epic_ids(conn: Connection, tenant: Tenant) -> None:
    w = await _setup(conn, tenant)
    await _edge(conn, tenant, w.project, w.b, w.a)
    await conn.execute("UPDATE stories SET epic_id = %s WHERE id = %s", [w.e2.id, w.a.id])
    row = await (
        await conn.execute("SELECT story_epic_id, depends_on_epic_id FROM story_dependencies")
    ).fetchone()
    assert row == (w.e2.id, w.e2.id)


async def test_an_edge_across_projects_cannot_be_stored(conn: Connection, tenant: Tenant) -> None:
    w = await _setup(conn, tenant)
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        async with conn.transaction():
            await _edge(conn, tenant, w.project, w.a, w.c)


async def test_an_edge_with_a_wrong_epic_cannot_be_stored(conn: Connection, tenant: Tenant) -> None:
    w = await _setup(conn, tenant)
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        async with conn.transaction():
            await _edge(conn, tenant, w.project, w.b, w.a, story_epic=w.e1.id)


async def test_self_edges_cannot_be_stored(conn: Connection, tenant: Tenant) -> None:
    w = await _setup(conn, tenant)
    with pytest.raises(psycopg.errors.CheckViolation):
        async with conn.transaction():
            await _edge(conn, tenant, w.project, w.a, w.a)
