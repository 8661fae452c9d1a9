"""The blocker_verified flag on story edges (migration 0006) follows its target story."""

import asyncio
from uuid import UUID

import psycopg
import pytest

from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection, set_tenant
from loopctl.dependencies import service
from loopctl.dependencies.schemas import StoryDependencyCreate
from loopctl.platform.runtime import Runtime
from tests.dependencies.helpers import build
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import Tenant, make_tenant
from tests.fixtures.http import committed_runtime
from tests.fixtures.locks import wait_for_lock_wait
from tests.fixtures.work import set_status


async def _flags(conn: Connection, tenant: Tenant) -> dict[tuple[UUID, UUID], bool]:
    await conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
    cur = await conn.execute(
        "SELECT story_id, depends_on_story_id, blocker_verified FROM story_dependencies"
    )
    return {(a, b): flag for a, b, flag in await cur.fetchall()}


async def _link(conn: Connection, tenant: Tenant, story: UUID, depends_on: UUID) -> None:
    await conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
    body = StoryDependencyCreate(story_id=story, depends_on_story_id=depends_on)
    await service.create_story_dependency(conn, tenant.principal(), body)


async def test_the_flag_follows_every_status_change_of_the_target(
    runtime: Runtime, tenant: Tenant, conn: Connection
) -> None:
    w = await build(runtime, tenant, {1: ["1.1", "1.2"], 2: ["2.1"]})
    await _link(conn, tenant, w.s("2.1"), w.s("1.1"))
    await _link(conn, tenant, w.s("1.2"), w.s("1.1"))
    assert set((await _flags(conn, tenant)).values()) == {False}
    await set_status(conn, tenant, w.s("1.1"))
    assert set((await _flags(conn, tenant)).values()) == {True}
    await set_status(conn, tenant, w.s("1.1"), verified_status="rejected")
    assert set((await _flags(conn, tenant)).values()) == {False}
    # A change of agent_status alone leaves the flag alone.
    await set_status(
        conn, tenant, w.s("1.1"), agent_status="implementing", verified_status="rejected"
    )
    assert set((await _flags(conn, tenant)).values()) == {False}


async def test_a_new_edge_to_a_verified_story_starts_verified(
    runtime: Runtime, tenant: Tenant, conn: Connection
) -> None:
    w = await build(runtime, tenant, {1: ["1.1", "1.2"], 2: ["2.1"]})
    await set_status(conn, tenant, w.s("1.1"))
    await _link(conn, tenant, w.s("2.1"), w.s("1.1"))
    await _link(conn, tenant, w.s("2.1"), w.s("1.2"))
    assert await _flags(conn, tenant) == {
        (w.s("2.1"), w.s("1.1")): True,
        (w.s("2.1"), w.s("1.2")): False,
    }


INSERTING = "race-insert"


async def _verify_and_hold(
    url: str, tenant: Tenant, story: UUID, held: asyncio.Event, release: asyncio.Event
) -> None:
    async with await psycopg.AsyncConnection.connect(url) as conn, conn.transaction():
        await set_tenant(conn, tenant.id)
        await conn.execute(
            "UPDATE stories SET agent_status = 'reported_done', verified_status = 'verified'"
            " WHERE id = %s",
            [story],
        )
        held.set()
        await release.wait()


async def _insert(url: str, tenant: Tenant, story: UUID, depends_on: UUID) -> None:
    principal = Principal(tenant_id=tenant.id, role=tenant.principal().role, label="race")
    body = StoryDependencyCreate(story_id=story, depends_on_story_id=depends_on)
    connect = psycopg.AsyncConnection.connect(url, application_name=INSERTING)
    async with await connect as conn, conn.transaction():
        await set_tenant(conn, tenant.id)
        await service.create_story_dependency(conn, principal, body)


@pytest.mark.realdb
async def test_an_edge_inserted_while_its_target_is_being_verified_ends_up_verified(
    fresh_db: Urls, cluster: Cluster
) -> None:
    async with committed_runtime(fresh_db, cluster) as runtime:
        tenant = await make_tenant(runtime)
        w = await build(runtime, tenant, {1: ["1.1"], 2: ["2.1"]})
    held, release = asyncio.Event(), asyncio.Event()
    verifying = asyncio.create_task(
        _verify_and_hold(fresh_db.app, tenant, w.s("1.1"), held, release)
    )
    await held.wait()  # the verification has updated the row and holds it
    inserting = asyncio.create_task(_insert(fresh_db.app, tenant, w.s("2.1"), w.s("1.1")))
    # The insert waits for the verification instead of reading the old status.
    await wait_for_lock_wait(fresh_db.app, INSERTING)
    assert not inserting.done()
    release.set()
    await asyncio.gather(verifying, inserting)
    async with await psycopg.AsyncConnection.connect(fresh_db.app) as conn:
        await set_tenant(conn, tenant.id)
        cur = await conn.execute("SELECT blocker_verified FROM story_dependencies")
        assert await cur.fetchall() == [(True,)]
