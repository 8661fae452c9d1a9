"""/api/v1/projects/{id}/epics and /api/v1/epics/{id}: access rules, create, list, show,
change (deletion and progress are in test_delete_progress.py, bad bodies in
test_validation.py)."""

from typing import Any

import httpx
import pytest

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.epics.world import make_world
from tests.fixtures.access import Ids, Route, RouteAccess, fill
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import API, audit_rows, data_of, error_of, invalid
from tests.fixtures.work import make_epic, make_project, make_story, set_status

FIELDS = {
    "id",
    "project_id",
    "number",
    "title",
    "description",
    "phase",
    "position",
    "metadata",
    "created_at",
    "updated_at",
}


# --- access -------------------------------------------------------------------------------


class TestAccess(RouteAccess):
    ROUTES = (
        Route("GET", "/projects/{project}/epics", "agent", missing="project_not_found"),
        Route(
            "POST",
            "/projects/{project}/epics",
            "orchestrator",
            {"number": 7, "title": "New"},
            "project_not_found",
        ),
        Route("GET", "/epics/{epic}", "agent", missing="epic_not_found"),
        Route("PATCH", "/epics/{epic}", "orchestrator", {"title": "Renamed"}, "epic_not_found"),
        Route("DELETE", "/epics/{epic}", "user", missing="epic_not_found", query="force=true"),
        Route("GET", "/epics/{epic}/progress", "agent", missing="epic_not_found"),
    )

    async def world(self, client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> Ids:  # noqa: ARG002
        return (await make_world(runtime, tenant)).ids()

    async def after_foreign(
        self, client: httpx.AsyncClient, conn: Connection, owner: Tenant, ids: Ids
    ) -> None:
        shown = data_of(
            await client.get(API + fill("/epics/{epic}", ids), headers=owner.user.headers)
        )
        assert (shown["title"], len(shown["stories"])) == ("Epic 1", 1)
        assert [r.action for r in await audit_rows(conn, owner.id, entity_type="epic")] == [
            "created"
        ]


# --- create -------------------------------------------------------------------------------


async def test_create_returns_the_epic_and_audits_it_with_its_project(
    client: httpx.AsyncClient,
    conn: Connection,
    runtime: Runtime,
    tenant: Tenant,
    orchestrator_key: Key,
) -> None:
    project = await make_project(runtime, tenant)
    body = {
        "number": 3,
        "title": "Payments",
        "description": "Take money",
        "phase": "mvp",
        "position": 2,
        "metadata": {"owner": {"team": "blue"}, "tags": ["a", 1, 2.5, None, True]},
    }
    response = await client.post(
        f"{API}/projects/{project.id}/epics", json=body, headers=orchestrator_key.headers
    )
    epic = data_of(response, 201)
    assert set(epic) == FIELDS
    assert {k: epic[k] for k in body} == body
    assert epic["project_id"] == str(project.id)
    [row] = await audit_rows(conn, tenant.id, entity_type="epic")
    assert (row.action, str(row.entity_id), row.project_id) == ("created", epic["id"], project.id)
    assert (row.actor_role, row.actor_key_id) == ("orchestrator", orchestrator_key.id)
    assert row.after == epic
    assert row.request_id == response.headers["x-request-id"]


async def test_create_defaults_the_optional_fields(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    epic = data_of(
        await client.post(
            f"{API}/projects/{project.id}/epics",
            json={"number": 1, "title": "  Trimmed  "},
            headers=user_key.headers,
        ),
        201,
    )
    assert (epic["title"], epic["description"], epic["phase"]) == ("Trimmed", None, None)
    assert (epic["position"], epic["metadata"]) == (0, {})


async def test_epic_numbers_are_unique_per_project(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    await make_epic(runtime, tenant, project, 4)
    await make_epic(runtime, tenant, await make_project(runtime, tenant), 5)
    url = f"{API}/projects/{project.id}/epics"
    response = await client.post(
        url, json={"number": 4, "title": "Again"}, headers=user_key.headers
    )
    error = error_of(response, 409, "epic_number_taken")
    assert error["details"] == {"number": 4}
    before = len(await audit_rows(conn, tenant.id))
    # The same number in another project is fine, and so is another number here.
    data_of(
        await client.post(url, json={"number": 5, "title": "Five"}, headers=user_key.headers), 201
    )
    assert len(await audit_rows(conn, tenant.id)) == before + 1


# --- list ---------------------------------------------------------------------------------


async def test_list_orders_by_position_then_number_with_story_counts(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    late = await make_epic(runtime, tenant, project, 1, position=5)
    first = await make_epic(runtime, tenant, project, 10, position=0)
    second = await make_epic(runtime, tenant, project, 2, position=0)
    stories = [await make_story(runtime, tenant, late, f"1.{n}") for n in range(1, 4)]
    await make_story(runtime, tenant, first, "10.1")
    await set_status(conn, tenant, stories[0].id)
    await set_status(conn, tenant, stories[1].id, verified_status="rejected")
    await make_epic(runtime, tenant, await make_project(runtime, tenant), 3)

    response = await client.get(f"{API}/projects/{project.id}/epics", headers=agent_key.headers)
    listed = data_of(response)
    assert response.json()["meta"] == {"total": 3, "total_count": 3, "limit": 50, "offset": 0}
    assert [e["id"] for e in listed] == [str(second.id), str(first.id), str(late.id)]
    counts = [(e["story_count"], e["verified_count"], e["completion_percentage"]) for e in listed]
    assert counts == [(0, 0, 0.0), (1, 0, 0.0), (3, 1, 33.3)]
    assert set(listed[0]) == FIELDS | {"story_count", "verified_count", "completion_percentage"}


async def test_list_filters_by_phase_and_pages(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    url = f"{API}/projects/{project.id}/epics"
    for number in range(1, 6):
        body = {"number": number, "title": f"E{number}", "phase": "beta" if number % 2 else "alpha"}
        data_of(await client.post(url, json=body, headers=tenant.user.headers), 201)

    async def numbers(**params: Any) -> tuple[list[int], dict[str, int]]:
        response = await client.get(url, params=params, headers=agent_key.headers)
        return [e["number"] for e in data_of(response)], response.json()["meta"]

    assert await numbers(phase="beta") == (
        [1, 3, 5],
        {"total": 3, "total_count": 3, "limit": 50, "offset": 0},
    )
    assert await numbers(phase="gamma") == (
        [],
        {"total": 0, "total_count": 0, "limit": 50, "offset": 0},
    )
    assert await numbers(limit=2, offset=1) == (
        [2, 3],
        {"total": 5, "total_count": 5, "limit": 2, "offset": 1},
    )
    assert await numbers(page=3, page_size=2) == (
        [5],
        {"total": 5, "total_count": 5, "limit": 2, "offset": 4},
    )
    assert await numbers(phase="beta", limit=1, offset=2) == (
        [5],
        {"total": 3, "total_count": 3, "limit": 1, "offset": 2},
    )


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "501"},
        {"offset": "-1"},
        {"offset": "99999999999999999999"},
        {"page": "9223372036854775807"},
        {"phase": "x" * 101},
        {"phase": "a\x00b"},
    ],
)
async def test_list_rejects_bad_query_values(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    agent_key: Key,
    params: dict[str, str],
) -> None:
    project = await make_project(runtime, tenant)
    response = await client.get(
        f"{API}/projects/{project.id}/epics", params=params, headers=agent_key.headers
    )
    invalid(response, f"query.{next(iter(params))}")


# --- show and change ----------------------------------------------------------------------


async def test_show_lists_the_stories_in_natural_number_order(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    agent_key: Key,
) -> None:
    project = await make_project(runtime, tenant)
    epic = await make_epic(runtime, tenant, project, 2)
    for number in ("2.10", "2.9", "2.1", "2.2.1", "2.2"):
        await make_story(runtime, tenant, epic, number)
    await make_story(runtime, tenant, await make_epic(runtime, tenant, project, 3), "3.1")

    shown = data_of(await client.get(f"{API}/epics/{epic.id}", headers=agent_key.headers))
    assert set(shown) == FIELDS | {"stories"}
    assert [s["number"] for s in shown["stories"]] == ["2.1", "2.2", "2.2.1", "2.9", "2.10"]
    assert set(shown["stories"][0]) == {"id", "number", "title", "agent_status", "verified_status"}
    assert shown["stories"][0]["agent_status"] == "pending"


async def test_update_changes_only_the_fields_given_and_audits_before_and_after(
    client: httpx.AsyncClient,
    conn: Connection,
    runtime: Runtime,
    tenant: Tenant,
    orchestrator_key: Key,
) -> None:
    world = await make_world(runtime, tenant)
    url = world.url("/epics/{epic}")
    before = data_of(
        await client.patch(
            url,
            json={"description": "Why", "phase": "mvp", "metadata": {"a": 1}},
            headers=orchestrator_key.headers,
        )
    )
    after = data_of(
        await client.patch(
            url, json={"title": "New title", "position": 9}, headers=orchestrator_key.headers
        )
    )
    assert after == {
        **before,
        "title": "New title",
        "position": 9,
        "updated_at": after["updated_at"],
    }
    assert (after["number"], after["description"], after["metadata"]) == (1, "Why", {"a": 1})
    cleared = data_of(
        await client.patch(
            url, json={"description": None, "phase": None}, headers=orchestrator_key.headers
        )
    )
    assert (cleared["description"], cleared["phase"]) == (None, None)

    rows = await audit_rows(conn, tenant.id, entity_type="epic", entity_id=world.epic.id)
    assert [r.action for r in rows] == ["created", "updated", "updated", "updated"]
    assert {r.project_id for r in rows} == {world.project.id}
    assert (rows[2].before, rows[2].after) == (before, after)


async def test_an_update_that_changes_nothing_writes_nothing(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    world = await make_world(runtime, tenant)
    url = world.url("/epics/{epic}")
    shown = data_of(await client.get(url, headers=user_key.headers))
    for body in ({}, {"title": "Epic 1", "position": 0, "metadata": {}}):
        same = data_of(await client.patch(url, json=body, headers=user_key.headers))
        assert same == {k: v for k, v in shown.items() if k != "stories"}
    assert len(await audit_rows(conn, tenant.id, entity_type="epic")) == 1


async def test_the_number_and_project_are_not_writable(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    world = await make_world(runtime, tenant)
    other = await make_project(runtime, tenant)
    for field, value in (("number", 2), ("project_id", str(other.id)), ("stories", [])):
        response = await client.patch(
            world.url("/epics/{epic}"), json={field: value}, headers=user_key.headers
        )
        invalid(response, f"body.{field}")
