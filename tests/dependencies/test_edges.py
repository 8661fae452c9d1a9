"""Dependency edges over HTTP: access rules, create/list/delete, and the simple refusals."""

from typing import Any

import httpx
import pytest

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.dependencies.helpers import (
    EPIC_DEPS,
    STORY_DEPS,
    build,
    epic_edge,
    link,
    story_edge,
)
from tests.fixtures.access import Ids, Route, RouteAccess, fill
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import API, audit_rows, data_of, error_of, invalid

LAYOUT = {1: ["1.1", "1.2"], 2: ["2.1"]}


class TestAccess(RouteAccess):
    # {s1}/{s2}/{e1}/{e2}/{p} are stories, epics and the project, {sd}/{ed} edges.
    ROUTES = (
        Route(
            "POST",
            "/story_dependencies",
            "orchestrator",
            {"story_id": "{s2}", "depends_on_story_id": "{s1}"},
        ),
        Route(
            "POST",
            "/epic_dependencies",
            "orchestrator",
            {"epic_id": "{e2}", "depends_on_epic_id": "{e1}"},
        ),
        Route("DELETE", "/story_dependencies/{sd}", "user", missing="story_dependency_not_found"),
        Route("DELETE", "/epic_dependencies/{ed}", "user", missing="epic_dependency_not_found"),
        Route("GET", "/epics/{e1}/story_dependencies", "agent", missing="epic_not_found"),
        Route("GET", "/projects/{p}/epic_dependencies", "agent", missing="project_not_found"),
        Route("GET", "/projects/{p}/dependency_graph", "agent", missing="project_not_found"),
        Route("GET", "/projects/{p}/critical_path", "agent", missing="project_not_found"),
        Route("GET", "/stories/ready?project_id={p}", "agent"),
        Route("GET", "/stories/blocked?project_id={p}", "agent"),
    )

    async def world(self, client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> Ids:
        world = await build(runtime, tenant, {1: ["1.1"], 2: ["2.1"], 3: ["3.1"]})
        sd = data_of(await story_edge(client, tenant.user, world.s("3.1"), world.s("1.1")), 201)
        ed = data_of(await epic_edge(client, tenant.user, world.e(3), world.e(1)), 201)
        return {
            "s1": str(world.s("1.1")),
            "s2": str(world.s("2.1")),
            "e1": str(world.e(1)),
            "e2": str(world.e(2)),
            "p": str(world.project.id),
            "sd": sd["id"],
            "ed": ed["id"],
        }


@pytest.mark.parametrize("path", ["/stories/ready", "/stories/blocked"])
async def test_lists_of_another_tenants_project_are_not_found(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant, path: str
) -> None:
    theirs = await build(runtime, other_tenant, {1: ["1.1"]})
    params = {"project_id": str(theirs.project.id)}
    response = await client.get(API + path, params=params, headers=tenant.user.headers)
    error_of(response, 404, "project_not_found")


@pytest.mark.parametrize("path", ["/stories/ready", "/stories/blocked"])
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"project_id": "nope"}, "query.project_id"),
        ({"epic_id": "nope"}, "query.epic_id"),
        ({"project_id": "{p}", "epic_id": "nope"}, "query.epic_id"),
        ({"project_id": "{p}", "epic_id": "{foreign_epic}"}, "query.epic_id"),
        ({"project_id": "{p}", "limit": "0"}, "query.limit"),
        ({"project_id": "{p}", "status": "pending"}, "query.status"),
    ],
)
async def test_lists_reject_bad_query_parameters(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    path: str,
    params: dict[str, str],
    field: str,
) -> None:
    world = await build(runtime, tenant, {1: ["1.1"]})
    other = await build(runtime, tenant, {1: ["1.1"]})
    ids = {"p": str(world.project.id), "foreign_epic": str(other.e(1))}
    filled = {k: v.format(**ids) for k, v in params.items()}
    invalid(await client.get(API + path, params=filled, headers=tenant.user.headers), field)


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        (STORY_DEPS, {"story_id": "{s1}"}, "body.depends_on_story_id"),
        (STORY_DEPS, {"story_id": "x", "depends_on_story_id": "{s1}"}, "body.story_id"),
        (STORY_DEPS, {"story_id": "{s1}", "depends_on_story_id": 7}, "body.depends_on_story_id"),
        (STORY_DEPS, {"story_id": "{s1}", "depends_on_story_id": "{s2}", "x": 1}, "body.x"),
        (STORY_DEPS, [], "body"),
        (EPIC_DEPS, {"epic_id": "{e1}"}, "body.depends_on_epic_id"),
        (EPIC_DEPS, {"epic_id": None, "depends_on_epic_id": "{e1}"}, "body.epic_id"),
        (EPIC_DEPS, {"epic_id": "{e1}", "depends_on_epic_id": "{e2}", "kind": "x"}, "body.kind"),
    ],
)
async def test_create_rejects_a_bad_body(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    url: str,
    body: Any,
    field: str,
) -> None:
    world = await build(runtime, tenant, LAYOUT)
    ids = {"s1": str(world.s("1.1")), "s2": str(world.s("2.1"))}
    ids |= {"e1": str(world.e(1)), "e2": str(world.e(2))}
    response = await client.post(url, json=fill(body, ids), headers=tenant.user.headers)
    invalid(response, field)


async def test_ids_in_the_body_that_name_nothing_visible_are_422_on_their_field(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await build(runtime, tenant, LAYOUT)
    theirs = await build(runtime, other_tenant, LAYOUT)
    key = tenant.user
    invalid(await story_edge(client, key, theirs.s("1.1"), mine.s("1.1")), "body.story_id")
    response = await story_edge(client, key, mine.s("1.1"), theirs.s("2.1"))
    invalid(response, "body.depends_on_story_id")
    invalid(await epic_edge(client, key, theirs.e(1), mine.e(2)), "body.epic_id")
    invalid(await epic_edge(client, key, mine.e(2), theirs.e(1)), "body.depends_on_epic_id")
    # An epic id is not a story id.
    invalid(await story_edge(client, key, mine.e(1), mine.s("1.1")), "body.story_id")


async def test_create_list_and_delete_a_story_dependency(
    client: httpx.AsyncClient,
    conn: Connection,
    runtime: Runtime,
    tenant: Tenant,
    orchestrator_key: Key,
) -> None:
    world = await build(runtime, tenant, LAYOUT)
    response = await story_edge(client, orchestrator_key, world.s("2.1"), world.s("1.2"))
    created = data_of(response, 201)
    assert created["story_id"] == str(world.s("2.1"))
    assert created["depends_on_story_id"] == str(world.s("1.2"))
    assert (created["story_number"], created["depends_on_story_number"]) == ("2.1", "1.2")
    assert (created["story_epic_id"], created["depends_on_epic_id"]) == (
        str(world.e(2)),
        str(world.e(1)),
    )
    assert created["project_id"] == str(world.project.id)
    await link(client, orchestrator_key, world, stories=[("1.2", "1.1")])

    url = f"{API}/epics/{world.e(2)}/story_dependencies"
    page = (await client.get(url, headers=orchestrator_key.headers)).json()
    assert [d["id"] for d in page["data"]] == [created["id"]]
    assert page["meta"] == {"total": 1, "total_count": 1, "limit": 50, "offset": 0}
    url = f"{API}/epics/{world.e(1)}/story_dependencies"
    both = data_of(await client.get(url, params={"limit": 1}, headers=orchestrator_key.headers))
    assert [d["id"] for d in both] == [created["id"]]  # oldest first, edges touching epic 1

    removed = data_of(
        await client.delete(f"{STORY_DEPS}/{created['id']}", headers=tenant.user.headers)
    )
    assert removed == created
    again = await client.delete(f"{STORY_DEPS}/{created['id']}", headers=tenant.user.headers)
    error_of(again, 404, "story_dependency_not_found")

    rows = await audit_rows(conn, tenant.id, entity_type="story_dependency")
    mine = [r for r in rows if str(r.entity_id) == created["id"]]
    assert [r.action for r in mine] == ["created", "deleted"]
    assert {r.project_id for r in mine} == {world.project.id}
    assert mine[0].after == created
    assert mine[1].before == created


async def test_create_list_and_delete_an_epic_dependency(
    client: httpx.AsyncClient,
    conn: Connection,
    runtime: Runtime,
    tenant: Tenant,
    orchestrator_key: Key,
) -> None:
    world = await build(runtime, tenant, {1: [], 2: [], 3: []})
    first = data_of(await epic_edge(client, orchestrator_key, world.e(2), world.e(1)), 201)
    assert (first["epic_number"], first["depends_on_epic_number"]) == (2, 1)
    second = data_of(await epic_edge(client, orchestrator_key, world.e(3), world.e(2)), 201)
    url = f"{API}/projects/{world.project.id}/epic_dependencies"
    page = (await client.get(url, params={"offset": 1}, headers=orchestrator_key.headers)).json()
    assert [d["id"] for d in page["data"]] == [second["id"]]
    assert page["meta"]["total"] == 2

    removed = data_of(
        await client.delete(f"{EPIC_DEPS}/{first['id']}", headers=tenant.user.headers)
    )
    assert removed == first
    assert [d["id"] for d in data_of(await client.get(url, headers=tenant.user.headers))] == [
        second["id"]
    ]
    rows = await audit_rows(conn, tenant.id, entity_type="epic_dependency")
    assert [(str(r.entity_id), r.action) for r in rows] == [
        (first["id"], "created"),
        (second["id"], "created"),
        (first["id"], "deleted"),
    ]
    assert {r.project_id for r in rows} == {world.project.id}


async def test_self_dependencies_are_refused(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    world = await build(runtime, tenant, LAYOUT)
    response = await story_edge(client, tenant.user, world.s("1.1"), world.s("1.1"))
    error = error_of(response, 422, "dependency_self")
    assert error["details"]["errors"][0]["field"] == "body.depends_on_story_id"
    response = await epic_edge(client, tenant.user, world.e(1), world.e(1))
    error = error_of(response, 422, "dependency_self")
    assert error["details"]["errors"][0]["field"] == "body.depends_on_epic_id"


async def test_duplicates_are_refused_with_the_existing_edge(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    world = await build(runtime, tenant, LAYOUT)
    first = data_of(await story_edge(client, tenant.user, world.s("2.1"), world.s("1.1")), 201)
    response = await story_edge(client, tenant.user, world.s("2.1"), world.s("1.1"))
    assert error_of(response, 409, "dependency_exists")["details"] == {"dependency_id": first["id"]}
    epic = data_of(await epic_edge(client, tenant.user, world.e(2), world.e(1)), 201)
    response = await epic_edge(client, tenant.user, world.e(2), world.e(1))
    assert error_of(response, 409, "dependency_exists")["details"] == {"dependency_id": epic["id"]}


async def test_ends_in_different_projects_are_refused(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    one = await build(runtime, tenant, LAYOUT)
    two = await build(runtime, tenant, LAYOUT)
    response = await story_edge(client, tenant.user, one.s("2.1"), two.s("1.1"))
    error = error_of(response, 422, "dependency_cross_project")
    assert error["details"]["errors"][0]["field"] == "body.depends_on_story_id"
    response = await epic_edge(client, tenant.user, one.e(2), two.e(1))
    error = error_of(response, 422, "dependency_cross_project")
    assert error["details"]["errors"][0]["field"] == "body.depends_on_epic_id"


async def test_an_archived_project_is_read_only(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    world = await build(runtime, tenant, {1: ["1.1"], 2: ["2.1"], 3: ["3.1"]})
    sd = data_of(await story_edge(client, tenant.user, world.s("2.1"), world.s("1.1")), 201)
    ed = data_of(await epic_edge(client, tenant.user, world.e(2), world.e(1)), 201)
    data_of(await client.delete(f"{API}/projects/{world.project.id}", headers=tenant.user.headers))
    for response in (
        await story_edge(client, tenant.user, world.s("3.1"), world.s("1.1")),
        await epic_edge(client, tenant.user, world.e(3), world.e(1)),
        await client.delete(f"{STORY_DEPS}/{sd['id']}", headers=tenant.user.headers),
        await client.delete(f"{EPIC_DEPS}/{ed['id']}", headers=tenant.user.headers),
    ):
        error_of(response, 409, "project_archived")
    # Reading still works.
    url = f"{API}/projects/{world.project.id}/epic_dependencies"
    assert [d["id"] for d in data_of(await client.get(url, headers=tenant.user.headers))] == [
        ed["id"]
    ]
