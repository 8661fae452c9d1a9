"""Cycle and cross-level deadlock refusals, with the path named, and the concurrent race."""

import asyncio
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest

from loopctl.auth.principal import Principal
from loopctl.database.connections import set_tenant
from loopctl.dependencies import service
from loopctl.dependencies.errors import DependencyCycle
from loopctl.dependencies.schemas import StoryDependencyCreate
from loopctl.platform.runtime import Runtime
from tests.dependencies.helpers import World, build, epic_edge, link, story_edge
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import Tenant, make_tenant
from tests.fixtures.http import committed_runtime, data_of, error_of
from tests.fixtures.locks import wait_for_lock_wait

LAYOUT = {1: ["1.1", "1.2"], 2: ["2.1", "2.2"], 3: ["3.1"], 4: []}


def path_of(response: httpx.Response) -> list[tuple[str, str | int]]:
    error = error_of(response, 409, "dependency_cycle")
    cycle: list[dict[str, Any]] = error["details"]["cycle"]
    assert cycle[0] == cycle[-1], cycle
    return [(step["type"], step["number"]) for step in cycle]


def ids_of(response: httpx.Response) -> list[str]:
    return [step["id"] for step in response.json()["error"]["details"]["cycle"]]


async def test_a_story_cycle_is_refused_with_its_path(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    w = await build(runtime, tenant, LAYOUT)
    await link(client, tenant.user, w, stories=[("1.2", "1.1"), ("2.1", "1.2")])
    response = await story_edge(client, tenant.user, w.s("1.1"), w.s("2.1"))
    assert path_of(response) == [
        ("story", "1.1"),
        ("story", "2.1"),
        ("story", "1.2"),
        ("story", "1.1"),
    ]
    assert ids_of(response)[:2] == [str(w.s("1.1")), str(w.s("2.1"))]
    # Reversing a single edge is the shortest cycle.
    assert path_of(await story_edge(client, tenant.user, w.s("1.1"), w.s("1.2"))) == [
        ("story", "1.1"),
        ("story", "1.2"),
        ("story", "1.1"),
    ]


async def test_an_epic_cycle_is_refused_even_between_empty_epics(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    w = await build(runtime, tenant, {1: [], 2: [], 3: []})
    await link(client, tenant.user, w, epics=[(2, 1), (3, 2)])
    response = await epic_edge(client, tenant.user, w.e(1), w.e(3))
    assert path_of(response) == [("epic", 1), ("epic", 3), ("epic", 2), ("epic", 1)]
    assert ids_of(response)[0] == str(w.e(1))


async def test_a_story_edge_against_an_epic_edge_is_a_deadlock(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    w = await build(runtime, tenant, LAYOUT)
    await link(client, tenant.user, w, epics=[(2, 1)])
    # Epic 2 waits for all of epic 1, so no story of epic 1 may wait for one of epic 2.
    response = await story_edge(client, tenant.user, w.s("1.2"), w.s("2.1"))
    assert path_of(response) == [
        ("story", "1.2"),
        ("story", "2.1"),
        ("epic", 1),
        ("story", "1.2"),
    ]
    # The other direction agrees with the epic edge.
    data_of(await story_edge(client, tenant.user, w.s("2.1"), w.s("1.2")), 201)


async def test_an_epic_edge_against_story_edges_is_a_deadlock(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    w = await build(runtime, tenant, LAYOUT)
    await link(client, tenant.user, w, stories=[("1.1", "3.1"), ("3.1", "2.2")])
    # 1.1 waits (through 3.1) for 2.2, so epic 2 cannot wait for all of epic 1.
    response = await epic_edge(client, tenant.user, w.e(2), w.e(1))
    assert path_of(response) == [
        ("epic", 1),
        ("story", "1.1"),
        ("story", "3.1"),
        ("story", "2.2"),
        ("epic", 1),
    ]
    data_of(await epic_edge(client, tenant.user, w.e(1), w.e(2)), 201)


async def test_a_deadlock_through_a_chain_of_epic_edges_is_found(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    w = await build(runtime, tenant, LAYOUT)
    await link(client, tenant.user, w, epics=[(3, 2), (2, 1)])
    response = await story_edge(client, tenant.user, w.s("1.1"), w.s("3.1"))
    assert path_of(response) == [
        ("story", "1.1"),
        ("story", "3.1"),
        ("epic", 2),
        ("story", "2.1"),
        ("epic", 1),
        ("story", "1.1"),
    ]
    data_of(await story_edge(client, tenant.user, w.s("3.1"), w.s("1.1")), 201)


async def test_an_empty_epic_breaks_no_story_chain_but_still_counts_between_epics(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    w = await build(runtime, tenant, LAYOUT)
    # 3 waits for epic 4 (empty) which waits for epic 1: no story waits through epic 4...
    await link(client, tenant.user, w, epics=[(3, 4), (4, 1)])
    data_of(await story_edge(client, tenant.user, w.s("1.1"), w.s("3.1")), 201)
    # ...but epic edges alone may not loop.
    assert path_of(await epic_edge(client, tenant.user, w.e(1), w.e(3))) == [
        ("epic", 1),
        ("epic", 3),
        ("epic", 4),
        ("epic", 1),
    ]


async def test_a_long_transitive_chain_is_followed_to_the_end(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    layout = {e: [f"{e}.{n}" for n in range(1, 6)] for e in range(1, 5)}
    w = await build(runtime, tenant, layout)
    chain = [f"{e}.{n}" for e in range(1, 5) for n in range(1, 6)]  # 1.1 ... 4.5
    await link(client, tenant.user, w, stories=list(zip(chain[1:], chain, strict=False)))
    response = await story_edge(client, tenant.user, w.s(chain[0]), w.s(chain[-1]))
    expected = [("story", chain[0]), *(("story", n) for n in reversed(chain))]
    assert path_of(response) == expected
    # Anything in the same direction as the chain is fine.
    data_of(await story_edge(client, tenant.user, w.s(chain[-1]), w.s(chain[0])), 201)


async def test_a_refused_edge_leaves_nothing_behind(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    w = await build(runtime, tenant, LAYOUT)
    await link(client, tenant.user, w, stories=[("2.1", "1.1")])
    error_of(await story_edge(client, tenant.user, w.s("1.1"), w.s("2.1")), 409, "dependency_cycle")
    url = f"/api/v1/epics/{w.e(1)}/story_dependencies"
    assert len(data_of(await client.get(url, headers=tenant.user.headers))) == 1


# --- the concurrent race ------------------------------------------------------------------


async def _world_committed(runtime: Runtime) -> tuple[Tenant, World]:
    tenant = await make_tenant(runtime)
    return tenant, await build(runtime, tenant, {1: ["1.1"], 2: ["2.1"]})


async def _insert(
    url: str,
    tenant: Tenant,
    story: UUID,
    depends_on: UUID,
    *,
    name: str,
    hold: tuple[asyncio.Event, asyncio.Event] | None,
) -> str:
    """Insert one edge in its own transaction; with ``hold`` (held, release), say when the
    check and insert are done, then keep the transaction open until released."""
    principal = Principal(tenant_id=tenant.id, role=tenant.principal().role, label="race")
    body = StoryDependencyCreate(story_id=story, depends_on_story_id=depends_on)
    async with await psycopg.AsyncConnection.connect(url, application_name=name) as conn:
        try:
            async with conn.transaction():
                await set_tenant(conn, tenant.id)
                await service.create_story_dependency(conn, principal, body)
                if hold is not None:
                    held, release = hold
                    held.set()
                    await release.wait()
        except DependencyCycle:
            return "cycle"
    return "created"


@pytest.mark.realdb
async def test_two_inserts_that_together_close_a_cycle_cannot_both_succeed(
    fresh_db: Urls, cluster: Cluster
) -> None:
    async with committed_runtime(fresh_db, cluster) as runtime:
        tenant, w = await _world_committed(runtime)
    held, release = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(
        _insert(fresh_db.app, tenant, w.s("2.1"), w.s("1.1"), name="first", hold=(held, release))
    )
    await held.wait()  # the first has checked and inserted, and keeps its lock
    second = asyncio.create_task(
        _insert(fresh_db.app, tenant, w.s("1.1"), w.s("2.1"), name="second", hold=None)
    )
    # Without the per-project lock the second would not wait: it would check an acyclic graph.
    await wait_for_lock_wait(fresh_db.app, "second")
    assert not second.done()
    release.set()
    assert sorted(await asyncio.gather(first, second)) == ["created", "cycle"]
    async with await psycopg.AsyncConnection.connect(fresh_db.app) as conn:
        await set_tenant(conn, tenant.id)
        cur = await conn.execute("SELECT count(*) FROM story_dependencies")
        assert await cur.fetchone() == (1,)
