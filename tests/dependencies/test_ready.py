"""Ready and blocked on small hand-built graphs, unblocks counts, and a story's links."""

from typing import Any

import httpx
import pytest

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.dependencies.helpers import World, build, link, numbers
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import API, data_of, invalid
from tests.fixtures.work import set_status

READY = f"{API}/stories/ready"
BLOCKED = f"{API}/stories/blocked"


async def ready(
    client: httpx.AsyncClient, tenant: Tenant, w: World, **params: Any
) -> list[dict[str, Any]]:
    params = {"project_id": str(w.project.id), **params}
    items: list[dict[str, Any]] = data_of(
        await client.get(READY, params=params, headers=tenant.user.headers)
    )
    return items


async def blocked(
    client: httpx.AsyncClient, tenant: Tenant, w: World, **params: Any
) -> dict[str, dict[str, Any]]:
    params = {"project_id": str(w.project.id), **params}
    items = data_of(await client.get(BLOCKED, params=params, headers=tenant.user.headers))
    return {item["number"]: item for item in items}


def blockers(item: dict[str, Any]) -> tuple[list[str], list[int]]:
    by = item["blocked_by"]
    return numbers(by["stories"]), [e["number"] for e in by["epics"]]


async def verify(conn: Connection, tenant: Tenant, w: World, *stories: str) -> None:
    for number in stories:
        await set_status(conn, tenant, w.s(number))


async def test_without_dependencies_every_pending_story_is_ready_in_order(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    # Epic 2 comes first by position; story numbers sort naturally.
    w = await build(runtime, tenant, {1: ["1.10", "1.9"], 2: ["2.1"]}, positions={1: 5, 2: 1})
    assert numbers(await ready(client, tenant, w)) == ["2.1", "1.9", "1.10"]
    assert await blocked(client, tenant, w) == {}


async def test_story_dependencies_block_until_verified(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant
) -> None:
    w = await build(runtime, tenant, {1: ["1.1", "1.2", "1.3"]})
    await link(client, tenant.user, w, stories=[("1.2", "1.1"), ("1.3", "1.1"), ("1.3", "1.2")])
    assert numbers(await ready(client, tenant, w)) == ["1.1"]
    found = await blocked(client, tenant, w)
    assert {n: blockers(i) for n, i in found.items()} == {
        "1.2": (["1.1"], []),
        "1.3": (["1.1", "1.2"], []),
    }
    await verify(conn, tenant, w, "1.1")
    assert numbers(await ready(client, tenant, w)) == ["1.2"]
    assert {n: blockers(i) for n, i in (await blocked(client, tenant, w)).items()} == {
        "1.3": (["1.2"], [])
    }
    await verify(conn, tenant, w, "1.2")
    assert numbers(await ready(client, tenant, w)) == ["1.3"]
    assert await blocked(client, tenant, w) == {}


async def test_an_epic_dependency_waits_for_every_story_of_the_epic(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant
) -> None:
    w = await build(runtime, tenant, {1: ["1.1", "1.2"], 2: ["2.1", "2.2"], 3: []})
    await link(client, tenant.user, w, epics=[(2, 1), (2, 3)])  # epic 3 is empty: no wait
    assert numbers(await ready(client, tenant, w)) == ["1.1", "1.2"]
    found = await blocked(client, tenant, w)
    assert {n: blockers(i) for n, i in found.items()} == {"2.1": ([], [1]), "2.2": ([], [1])}
    assert found["2.1"]["blocked_by"]["epics"][0]["unverified_count"] == 2
    await verify(conn, tenant, w, "1.1")
    assert numbers(await ready(client, tenant, w)) == ["1.2"]
    assert (await blocked(client, tenant, w))["2.1"]["blocked_by"]["epics"][0][
        "unverified_count"
    ] == 1
    await verify(conn, tenant, w, "1.2")
    assert numbers(await ready(client, tenant, w)) == ["2.1", "2.2"]


async def test_story_and_epic_dependencies_combine(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant
) -> None:
    w = await build(runtime, tenant, {1: ["1.1"], 2: ["2.1"], 3: ["3.1", "3.2"]})
    await link(client, tenant.user, w, stories=[("3.1", "2.1")], epics=[(3, 1)])
    found = await blocked(client, tenant, w)
    assert {n: blockers(i) for n, i in found.items()} == {"3.1": (["2.1"], [1]), "3.2": ([], [1])}
    await verify(conn, tenant, w, "1.1")
    assert numbers(await ready(client, tenant, w)) == ["2.1", "3.2"]
    assert {n: blockers(i) for n, i in (await blocked(client, tenant, w)).items()} == {
        "3.1": (["2.1"], [])
    }
    await verify(conn, tenant, w, "2.1")
    assert numbers(await ready(client, tenant, w)) == ["3.1", "3.2"]


@pytest.mark.parametrize(
    ("agent_status", "verified_status", "is_ready", "is_blocked"),
    [
        ("pending", "unverified", True, True),
        ("contracted", "unverified", False, True),
        ("assigned", "unverified", False, True),
        ("implementing", "unverified", False, True),
        ("reported_done", "unverified", False, True),
        ("pending", "rejected", True, True),
        ("reported_done", "verified", False, False),
    ],
)
async def test_only_pending_unverified_or_rejected_stories_are_ready_and_verified_never_blocked(
    client: httpx.AsyncClient,
    conn: Connection,
    runtime: Runtime,
    tenant: Tenant,
    agent_status: str,
    verified_status: str,
    is_ready: bool,
    is_blocked: bool,
) -> None:
    w = await build(runtime, tenant, {1: ["1.1", "1.2"], 2: ["2.1"]})
    await set_status(
        conn, tenant, w.s("1.2"), agent_status=agent_status, verified_status=verified_status
    )
    assert ("1.2" in numbers(await ready(client, tenant, w))) is is_ready
    # Make 1.2 wait for 2.1 (unverified): blocked unless verified.
    await link(client, tenant.user, w, stories=[("1.2", "2.1")])
    assert "1.2" not in numbers(await ready(client, tenant, w))
    assert ("1.2" in await blocked(client, tenant, w)) is is_blocked


async def test_a_rejected_blocker_still_blocks(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant
) -> None:
    w = await build(runtime, tenant, {1: ["1.1", "1.2"]})
    await link(client, tenant.user, w, stories=[("1.2", "1.1")])
    await set_status(conn, tenant, w.s("1.1"), verified_status="rejected")
    found = await blocked(client, tenant, w)
    assert blockers(found["1.2"]) == (["1.1"], [])
    assert found["1.2"]["blocked_by"]["stories"][0]["verified_status"] == "rejected"


async def test_filters_and_pagination(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    w = await build(runtime, tenant, {1: ["1.1", "1.2", "1.3"], 2: ["2.1", "2.2"], 3: ["3.1"]})
    await link(client, tenant.user, w, stories=[("3.1", "2.2")], epics=[(2, 1)])
    params: dict[str, str | int] = {"project_id": str(w.project.id), "limit": 2, "offset": 1}
    page = (await client.get(READY, params=params, headers=tenant.user.headers)).json()
    assert numbers(page["data"]) == ["1.2", "1.3"]
    assert page["meta"] == {"total": 3, "total_count": 3, "limit": 2, "offset": 1}
    params["offset"] = 10
    page = (await client.get(READY, params=params, headers=tenant.user.headers)).json()
    assert page == {"data": [], "meta": {"total": 3, "total_count": 3, "limit": 2, "offset": 10}}
    page = (await client.get(BLOCKED, params=params, headers=tenant.user.headers)).json()
    assert page["meta"]["total"] == 3
    params = {"project_id": str(w.project.id), "page": 2, "page_size": 1}
    page = (await client.get(BLOCKED, params=params, headers=tenant.user.headers)).json()
    assert numbers(page["data"]) == ["2.2"]
    assert numbers(await ready(client, tenant, w, epic_id=str(w.e(1)))) == ["1.1", "1.2", "1.3"]
    assert list(await blocked(client, tenant, w, epic_id=str(w.e(3)))) == ["3.1"]
    assert await ready(client, tenant, w, epic_id=str(w.e(3))) == []


async def test_unblocks_count_is_how_many_become_ready(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant
) -> None:
    w = await build(
        runtime,
        tenant,
        {1: ["1.1", "1.2"], 2: ["2.1", "2.2", "2.3"], 3: ["3.1"], 4: ["4.1"]},
    )
    await link(
        client,
        tenant.user,
        w,
        stories=[("2.1", "1.1"), ("2.2", "1.1"), ("2.2", "1.2"), ("3.1", "2.3")],
        epics=[(4, 3)],
    )
    # 1.1 alone unblocks 2.1 (2.2 also waits for 1.2); 2.3 unblocks 3.1, 3.1 unblocks 4.1.
    counts = {i["number"]: i["unblocks_count"] for i in await ready(client, tenant, w)}
    assert counts == {"1.1": 1, "1.2": 0, "2.3": 1}
    found = await blocked(client, tenant, w)
    assert {n: i["unblocks_count"] for n, i in found.items()} == {
        "2.1": 0,
        "2.2": 0,
        "3.1": 1,
        "4.1": 0,
    }
    await verify(conn, tenant, w, "1.2")
    counts = {i["number"]: i["unblocks_count"] for i in await ready(client, tenant, w)}
    assert counts == {"1.1": 2, "2.3": 1}
    # A dependent that is not pending would not become ready.
    await set_status(
        conn, tenant, w.s("2.1"), agent_status="contracted", verified_status="unverified"
    )
    counts = {i["number"]: i["unblocks_count"] for i in await ready(client, tenant, w)}
    assert counts["1.1"] == 1


async def test_a_story_shows_its_dependencies_dependents_and_unblocks_count(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    w = await build(runtime, tenant, {1: ["1.1", "1.2"], 2: ["2.1", "2.10", "2.9"]})
    await link(client, tenant.user, w, stories=[("2.1", "1.1"), ("2.10", "1.1"), ("2.9", "1.1")])
    await link(client, tenant.user, w, stories=[("1.1", "1.2")])
    shown = data_of(await client.get(f"{API}/stories/{w.s('1.1')}", headers=tenant.user.headers))
    # 1.1 waits for 1.2. As in the edge resource and the reference, story_id is the story
    # that waits and depends_on_story_id the one it waits for.
    [dependency] = shown["dependencies"]
    assert dependency == {
        "dependency_id": dependency["dependency_id"],
        "story_id": str(w.s("1.1")),
        "depends_on_story_id": str(w.s("1.2")),
        "depends_on_story_number": "1.2",
        "depends_on_story_title": "Story 1.2",
        "depends_on_epic_id": str(w.e(1)),
        "depends_on_agent_status": "pending",
        "depends_on_verified_status": "unverified",
    }
    edges = data_of(
        await client.get(f"{API}/epics/{w.e(1)}/story_dependencies", headers=tenant.user.headers)
    )
    edge = next(e for e in edges if e["id"] == dependency["dependency_id"])
    assert (edge["story_id"], edge["depends_on_story_id"]) == (
        dependency["story_id"],
        dependency["depends_on_story_id"],
    )
    # 2.1, 2.9 and 2.10 wait for 1.1, in natural number order.
    assert [d["dependent_story_number"] for d in shown["dependents"]] == ["2.1", "2.9", "2.10"]
    dependent = shown["dependents"][0]
    assert dependent == {
        "dependency_id": dependent["dependency_id"],
        "dependent_story_id": str(w.s("2.1")),
        "dependent_story_number": "2.1",
        "dependent_story_title": "Story 2.1",
        "dependent_epic_id": str(w.e(2)),
        "dependent_agent_status": "pending",
        "dependent_verified_status": "unverified",
        "depends_on_story_id": str(w.s("1.1")),
    }
    assert shown["unblocks_count"] == 3
    assert shown["project_mission"] is None
    lone = data_of(await client.get(f"{API}/stories/{w.s('1.2')}", headers=tenant.user.headers))
    assert (lone["dependencies"], lone["unblocks_count"]) == ([], 1)
    assert [d["dependent_story_id"] for d in lone["dependents"]] == [str(w.s("1.1"))]


async def test_without_a_project_the_lists_cover_every_active_project_of_the_tenant(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    other_tenant: Tenant,
    agent_key: Key,
) -> None:
    first = await build(runtime, tenant, {1: ["1.1", "1.2"]})
    second = await build(runtime, tenant, {1: ["1.1"], 2: ["2.1"]})
    archived = await build(runtime, tenant, {1: ["1.1"]})
    foreign = await build(runtime, other_tenant, {1: ["1.1", "1.2"]})
    await link(client, tenant.user, first, stories=[("1.2", "1.1")])
    await link(client, tenant.user, second, epics=[(2, 1)])
    await link(client, other_tenant.user, foreign, stories=[("1.2", "1.1")])
    response = await client.delete(
        f"{API}/projects/{archived.project.id}", headers=tenant.user.headers
    )
    assert response.status_code == 200

    # Oldest project first, then epic and story order; an agent key may ask.
    page = (await client.get(READY, headers=agent_key.headers)).json()
    assert [i["id"] for i in page["data"]] == [str(first.s("1.1")), str(second.s("1.1"))]
    assert {i["project_id"] for i in page["data"]} == {
        str(first.project.id),
        str(second.project.id),
    }
    assert page["meta"] == {"total": 2, "total_count": 2, "limit": 50, "offset": 0}
    listed = (await client.get(BLOCKED, headers=agent_key.headers)).json()
    assert [i["id"] for i in listed["data"]] == [str(first.s("1.2")), str(second.s("2.1"))]
    assert blockers(listed["data"][0]) == (["1.1"], [])
    assert blockers(listed["data"][1]) == ([], [1])

    # Pagination, and the reference's page aliases, over the whole tenant.
    later = await client.get(READY, params={"limit": 1, "offset": 1}, headers=agent_key.headers)
    assert [i["id"] for i in data_of(later)] == [str(second.s("1.1"))]
    assert later.json()["meta"]["total"] == 2
    past = await client.get(BLOCKED, params={"page": 3, "page_size": 1}, headers=agent_key.headers)
    assert past.json() == {
        "data": [],
        "meta": {"total": 2, "total_count": 2, "limit": 1, "offset": 2},
    }

    # An epic alone names its project.
    by_epic = await client.get(
        READY, params={"epic_id": str(second.e(1))}, headers=agent_key.headers
    )
    assert [i["id"] for i in data_of(by_epic)] == [str(second.s("1.1"))]
    for url in (READY, BLOCKED):
        invalid(
            await client.get(url, params={"epic_id": str(foreign.e(1))}, headers=agent_key.headers),
            "query.epic_id",
        )
        invalid(
            await client.get(
                url,
                params={"project_id": str(first.project.id), "epic_id": str(second.e(1))},
                headers=agent_key.headers,
            ),
            "query.epic_id",
        )
        assert (await client.get(url)).status_code == 401

    # The other tenant sees only its own.
    theirs = data_of(await client.get(READY, headers=other_tenant.user.headers))
    assert [i["id"] for i in theirs] == [str(foreign.s("1.1"))]
