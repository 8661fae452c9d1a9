"""The whole graph document and the critical path."""

from typing import Any

import httpx

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.dependencies.helpers import World, build, link
from tests.fixtures.factories import Tenant
from tests.fixtures.http import API, data_of
from tests.fixtures.work import set_status


async def critical(client: httpx.AsyncClient, tenant: Tenant, w: World) -> dict[str, Any]:
    url = f"{API}/projects/{w.project.id}/critical_path"
    path: dict[str, Any] = data_of(await client.get(url, headers=tenant.user.headers))
    return path


def chain(path: dict[str, Any]) -> list[str]:
    return [s["number"] for s in path["stories"]]


async def test_the_graph_document_has_every_node_and_edge(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant
) -> None:
    w = await build(runtime, tenant, {1: ["1.2", "1.10"], 2: ["2.1"], 3: []}, hours={"1.2": 2.5})
    await link(client, tenant.user, w, stories=[("2.1", "1.2")], epics=[(2, 1), (3, 2)])
    await set_status(conn, tenant, w.s("1.2"))
    response = await client.get(
        f"{API}/projects/{w.project.id}/dependency_graph", headers=tenant.user.headers
    )
    assert response.headers["content-type"] == "application/json"
    graph = data_of(response)
    assert set(graph) == {
        "project_id",
        "epics",
        "stories",
        "epic_dependencies",
        "story_dependencies",
    }
    assert graph["project_id"] == str(w.project.id)
    assert [e["number"] for e in graph["epics"]] == [1, 2, 3]
    assert graph["epics"][0] == {
        "id": str(w.e(1)),
        "number": 1,
        "title": "Epic 1",
        "phase": None,
        "position": 0,
    }
    assert [s["number"] for s in graph["stories"]] == ["1.2", "1.10", "2.1"]
    assert graph["stories"][0] == {
        "id": str(w.s("1.2")),
        "epic_id": str(w.e(1)),
        "number": "1.2",
        "title": "Story 1.2",
        "estimated_hours": 2.5,
        "agent_status": "reported_done",
        "verified_status": "verified",
    }
    assert [(d["dependent_id"], d["depends_on_id"]) for d in graph["story_dependencies"]] == [
        (str(w.s("2.1")), str(w.s("1.2")))
    ]
    assert [(d["dependent_id"], d["depends_on_id"]) for d in graph["epic_dependencies"]] == [
        (str(w.e(2)), str(w.e(1))),
        (str(w.e(3)), str(w.e(2))),
    ]


async def test_an_empty_project_has_an_empty_graph_and_path(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    w = await build(runtime, tenant, {})
    url = f"{API}/projects/{w.project.id}/dependency_graph"
    graph = data_of(await client.get(url, headers=tenant.user.headers))
    assert (graph["epics"], graph["stories"], graph["story_dependencies"]) == ([], [], [])
    assert await critical(client, tenant, w) == {
        "project_id": str(w.project.id),
        "weight": "hours",
        "total": 0.0,
        "stories": [],
    }


async def test_the_critical_path_follows_hours_through_both_kinds_of_edges(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant
) -> None:
    hours = {"1.1": 5, "1.2": 1, "2.1": 2, "2.2": 3, "3.1": 1, "3.2": 8}
    w = await build(
        runtime, tenant, {1: ["1.1", "1.2"], 2: ["2.1", "2.2"], 3: ["3.1", "3.2"]}, hours=hours
    )
    # 1.2 after 1.1; all of epic 2 after all of epic 1; 3.1 after 2.1. 3.2 stands alone.
    await link(client, tenant.user, w, stories=[("1.2", "1.1"), ("3.1", "2.1")], epics=[(2, 1)])
    path = await critical(client, tenant, w)
    assert (path["weight"], path["total"]) == ("hours", 9.0)  # 1.1 + 1.2 + 2.2
    assert chain(path) == ["1.1", "1.2", "2.2"]
    assert path["stories"][0]["estimated_hours"] == 5.0
    assert path["stories"][0]["epic_number"] == 1

    # Verified stories drop out of the chain.
    await set_status(conn, tenant, w.s("1.1"))
    await set_status(conn, tenant, w.s("1.2"))
    path = await critical(client, tenant, w)
    assert (chain(path), path["total"]) == (["3.2"], 8.0)


async def test_the_critical_path_counts_stories_when_an_estimate_is_missing(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant
) -> None:
    w = await build(
        runtime,
        tenant,
        {1: ["1.1", "1.2", "1.3"], 2: ["2.1"]},
        hours={"1.1": 1, "1.2": 1, "2.1": 40},
    )
    await link(client, tenant.user, w, stories=[("1.2", "1.1"), ("1.3", "1.2")])
    path = await critical(client, tenant, w)
    assert (path["weight"], path["total"], chain(path)) == ("count", 3.0, ["1.1", "1.2", "1.3"])
    # Once the story without an estimate is verified, hours count again.
    await set_status(conn, tenant, w.s("1.3"))
    path = await critical(client, tenant, w)
    assert (path["weight"], path["total"], chain(path)) == ("hours", 40.0, ["2.1"])
