"""Stories: create (in an epic, or in a project by epic number), list, show, change, delete."""

from typing import Any

import httpx
import pytest

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.epics.world import add_story_edge, make_world
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import API, audit_rows, data_of, error_of, invalid
from tests.fixtures.work import make_epic, make_project, make_story, set_status

FIELDS = {
    "id",
    "project_id",
    "epic_id",
    "epic_number",
    "number",
    "title",
    "description",
    "acceptance_criteria",
    "estimated_hours",
    "metadata",
    "agent_status",
    "verified_status",
    "created_at",
    "updated_at",
    "assigned_agent_id",
    "assigned_at",
    "lease_expires_at",
    "review_requested_at",
    "reported_done_at",
    "reported_by_agent_id",
    "verified_at",
    "rejected_at",
    "rejection_reason",
}


def numbers(response: httpx.Response) -> list[str]:
    return [s["number"] for s in data_of(response)]


# --- create -------------------------------------------------------------------------------


async def test_create_in_an_epic_returns_the_story_and_audits_it(
    client: httpx.AsyncClient,
    conn: Connection,
    runtime: Runtime,
    tenant: Tenant,
    orchestrator_key: Key,
) -> None:
    world = await make_world(runtime, tenant)
    body = {
        "number": "1.2",
        "title": "Checkout",
        "description": "Pay for the basket",
        "acceptance_criteria": [{"id": "pay", "criterion": "Card payments work"}],
        "estimated_hours": 2.5,
        "metadata": {"points": 3},
    }
    response = await client.post(
        world.url("/epics/{epic}/stories"), json=body, headers=orchestrator_key.headers
    )
    story = data_of(response, 201)
    assert set(story) == FIELDS
    assert {k: story[k] for k in body} == body
    assert (story["epic_id"], story["project_id"], story["epic_number"]) == (
        str(world.epic.id),
        str(world.project.id),
        1,
    )
    assert (story["agent_status"], story["verified_status"]) == ("pending", "unverified")
    [row] = await audit_rows(conn, tenant.id, entity_type="story", entity_id=story["id"])
    assert (row.action, row.project_id, row.actor_role) == (
        "created",
        world.project.id,
        "orchestrator",
    )
    assert row.after == story
    assert row.request_id == response.headers["x-request-id"]


async def test_create_in_a_project_finds_the_epic_by_number(
    client: httpx.AsyncClient,
    conn: Connection,
    runtime: Runtime,
    tenant: Tenant,
    orchestrator_key: Key,
) -> None:
    project = await make_project(runtime, tenant)
    await make_epic(runtime, tenant, project, 1)
    second = await make_epic(runtime, tenant, project, 2)
    url = f"{API}/projects/{project.id}/stories"
    body = {"epic_number": 2, "number": 7, "title": "Numbered as an integer"}
    story = data_of(await client.post(url, json=body, headers=orchestrator_key.headers), 201)
    assert (story["epic_id"], story["epic_number"], story["number"]) == (str(second.id), 2, "7")
    assert (story["acceptance_criteria"], story["estimated_hours"], story["metadata"]) == (
        [],
        None,
        {},
    )
    [row] = await audit_rows(conn, tenant.id, entity_type="story")
    assert (row.action, row.project_id) == ("created", project.id)

    missing = await client.post(
        url, json={**body, "epic_number": 3}, headers=orchestrator_key.headers
    )
    [error] = invalid(missing, "body.epic_number")
    assert "3" in error["message"]
    invalid(
        await client.post(
            url, json={"number": "1", "title": "x"}, headers=orchestrator_key.headers
        ),
        "body.epic_number",
    )


async def test_story_numbers_are_unique_per_project_across_epics(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    world = await make_world(runtime, tenant)
    other_epic = await make_epic(runtime, tenant, world.project, 2)
    other_project = await make_world(runtime, tenant)
    before = len(await audit_rows(conn, tenant.id))
    for url, body in [
        (world.url("/epics/{epic}/stories"), {"number": "1.1", "title": "Again"}),
        (f"{API}/epics/{other_epic.id}/stories", {"number": "1.1", "title": "Again"}),
        (
            world.url("/projects/{project}/stories"),
            {"epic_number": 2, "number": "1.1", "title": "x"},
        ),
    ]:
        error = error_of(
            await client.post(url, json=body, headers=user_key.headers), 409, "story_number_taken"
        )
        assert error["details"] == {"number": "1.1"}
    assert len(await audit_rows(conn, tenant.id)) == before
    # "01.1" is not another spelling of "1.1": numbers have no leading zeros.
    response = await client.post(
        world.url("/epics/{epic}/stories"),
        json={"number": "01.1", "title": "x"},
        headers=user_key.headers,
    )
    invalid(response, "body.number")
    data_of(
        await client.post(
            other_project.url("/epics/{epic}/stories"),
            json={"number": "1.2", "title": "Fine elsewhere"},
            headers=user_key.headers,
        ),
        201,
    )


# --- list ---------------------------------------------------------------------------------


async def test_lists_sort_numbers_naturally_within_epics_by_position(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    later = await make_epic(runtime, tenant, project, 1, position=2)
    first = await make_epic(runtime, tenant, project, 2, position=1)
    for number in ("1.10", "1.9", "1.2", "1.1.5", "1.1", "1"):
        await make_story(runtime, tenant, later, number)
    for number in ("2.10", "2.9", "10", "9"):
        await make_story(runtime, tenant, first, number)

    by_epic = await client.get(f"{API}/epics/{later.id}/stories", headers=agent_key.headers)
    assert numbers(by_epic) == ["1", "1.1", "1.1.5", "1.2", "1.9", "1.10"]
    assert by_epic.json()["meta"] == {"total": 6, "total_count": 6, "limit": 50, "offset": 0}
    by_project = await client.get(
        f"{API}/stories", params={"project_id": str(project.id)}, headers=agent_key.headers
    )
    assert numbers(by_project) == ["2.9", "2.10", "9", "10", *numbers(by_epic)]
    assert by_project.json()["meta"]["total"] == 10


async def test_the_project_list_filters_and_pages(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    one = await make_epic(runtime, tenant, project, 1)
    two = await make_epic(runtime, tenant, project, 2)
    titles = {
        "1.1": "Login page",
        "1.2": "Logout",
        "1.3": "100% coverage_report",
        "2.1": "LOGIN via SSO",
        "2.2": "Billing",
    }
    stories = {}
    for number, title in titles.items():
        epic = one if number.startswith("1") else two
        stories[number] = await make_story(runtime, tenant, epic, number, title=title)
    await set_status(conn, tenant, stories["1.2"].id)
    await set_status(conn, tenant, stories["2.1"].id, verified_status="unverified")
    await set_status(
        conn, tenant, stories["2.2"].id, agent_status="implementing", verified_status="rejected"
    )
    # Another project's matching story never shows.
    elsewhere = await make_world(runtime, tenant)
    await make_story(runtime, tenant, elsewhere.epic, "1.5", title="Login again")

    async def listed(**params: Any) -> tuple[list[str], int]:
        response = await client.get(
            f"{API}/stories",
            params={"project_id": str(project.id), **params},
            headers=agent_key.headers,
        )
        return numbers(response), response.json()["meta"]["total"]

    assert await listed() == (["1.1", "1.2", "1.3", "2.1", "2.2"], 5)
    assert await listed(epic_id=str(two.id)) == (["2.1", "2.2"], 2)
    assert await listed(epic_id=str(elsewhere.epic.id)) == ([], 0)
    assert await listed(agent_status="reported_done") == (["1.2", "2.1"], 2)
    assert await listed(verified_status="unverified") == (["1.1", "1.3", "2.1"], 3)
    assert await listed(agent_status="reported_done", verified_status="unverified") == (["2.1"], 1)
    assert await listed(q="login") == (["1.1", "2.1"], 2)
    assert await listed(q="LOG", epic_id=str(one.id)) == (["1.1", "1.2"], 2)
    # LIKE wildcards in q are plain text.
    assert await listed(q="%") == (["1.3"], 1)
    assert await listed(q="e_r") == (["1.3"], 1)
    assert await listed(q="nothing like it") == ([], 0)
    assert await listed(limit=2, offset=1) == (["1.2", "1.3"], 5)
    assert await listed(page=2, page_size=3) == (["2.1", "2.2"], 5)
    assert await listed(q="o", limit=1, offset=3) == (["2.1"], 4)


async def test_the_epic_list_filters_by_both_statuses(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    world = await make_world(runtime, tenant)
    second = await make_story(runtime, tenant, world.epic, "1.2")
    await set_status(conn, tenant, second.id)
    url = world.url("/epics/{epic}/stories")

    async def listed(**params: str) -> list[str]:
        return numbers(await client.get(url, params=params, headers=agent_key.headers))

    assert await listed(verified_status="verified") == ["1.2"]
    assert await listed(agent_status="pending") == ["1.1"]
    assert await listed(agent_status="pending", verified_status="verified") == []


@pytest.mark.parametrize(
    "params",
    [
        {"agent_status": "done"},
        {"verified_status": "yes"},
        {"epic_id": "not-a-uuid"},
        {"q": ""},
        {"q": "x" * 201},
        {"q": "a\x00"},
        {"assignee": "agent-1"},
        {"limit": "501"},
        {"offset": "99999999999999999999"},
    ],
)
async def test_the_project_list_rejects_bad_filters(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    agent_key: Key,
    params: dict[str, str],
) -> None:
    project = await make_project(runtime, tenant)
    response = await client.get(
        f"{API}/stories",
        params={"project_id": str(project.id), **params},
        headers=agent_key.headers,
    )
    invalid(response, f"query.{next(iter(params))}")


# --- show ---------------------------------------------------------------------------------


async def test_show_returns_the_story(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    world = await make_world(runtime, tenant)
    shown = data_of(await client.get(world.url("/stories/{story}"), headers=agent_key.headers))
    # The dependencies domain adds its own fields to this view.
    assert set(shown) >= FIELDS
    assert (shown["id"], shown["number"], shown["epic_number"]) == (str(world.story.id), "1.1", 1)


# --- change -------------------------------------------------------------------------------


async def test_update_changes_only_the_fields_given_and_audits_it(
    client: httpx.AsyncClient,
    conn: Connection,
    runtime: Runtime,
    tenant: Tenant,
    orchestrator_key: Key,
) -> None:
    world = await make_world(runtime, tenant)
    url = world.url("/stories/{story}")
    first = data_of(
        await client.patch(
            url,
            json={"description": "Why", "estimated_hours": "1.25", "metadata": {"a": [1]}},
            headers=orchestrator_key.headers,
        )
    )
    second = data_of(
        await client.patch(url, json={"title": "  Better title "}, headers=orchestrator_key.headers)
    )
    assert second == {**first, "title": "Better title", "updated_at": second["updated_at"]}
    assert (first["estimated_hours"], first["metadata"], first["number"]) == (
        1.25,
        {"a": [1]},
        "1.1",
    )
    cleared = data_of(
        await client.patch(
            url,
            json={"description": None, "estimated_hours": None},
            headers=orchestrator_key.headers,
        )
    )
    assert (cleared["description"], cleared["estimated_hours"]) == (None, None)

    rows = await audit_rows(conn, tenant.id, entity_type="story", entity_id=world.story.id)
    assert [r.action for r in rows] == ["created", "updated", "updated", "updated"]
    assert {r.project_id for r in rows} == {world.project.id}
    assert (rows[2].before, rows[2].after) == (first, second)

    # Sending what is already there changes nothing and writes nothing.
    same = data_of(
        await client.patch(url, json={"title": "Better title"}, headers=orchestrator_key.headers)
    )
    assert same == cleared
    assert len(await audit_rows(conn, tenant.id, entity_type="story")) == 4


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("agent_status", "reported_done"),
        ("verified_status", "verified"),
        ("number", "1.9"),
        ("epic_id", None),
        ("epic_number", 2),
        ("project_id", None),
    ],
)
async def test_status_number_and_placement_are_read_only(
    client: httpx.AsyncClient,
    conn: Connection,
    runtime: Runtime,
    tenant: Tenant,
    user_key: Key,
    field: str,
    value: Any,
) -> None:
    world = await make_world(runtime, tenant)
    response = await client.patch(
        world.url("/stories/{story}"), json={"title": "x", field: value}, headers=user_key.headers
    )
    [error] = invalid(response, f"body.{field}")
    assert error["type"] == "extra_forbidden"
    shown = data_of(await client.get(world.url("/stories/{story}"), headers=user_key.headers))
    assert (shown["title"], shown["agent_status"], shown["verified_status"]) == (
        "Story 1.1",
        "pending",
        "unverified",
    )
    assert len(await audit_rows(conn, tenant.id, entity_type="story")) == 1


# --- delete -------------------------------------------------------------------------------


async def test_delete_removes_the_story_and_its_edges_and_reports_them(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    world = await make_world(runtime, tenant)
    before = await make_story(runtime, tenant, world.epic, "1.2")
    after = await make_story(
        runtime, tenant, await make_epic(runtime, tenant, world.project, 2), "2.1"
    )
    edges = [
        await add_story_edge(conn, tenant, world.story, before),
        await add_story_edge(conn, tenant, after, world.story),
    ]
    untouched = await add_story_edge(conn, tenant, after, before)

    deleted = data_of(await client.delete(world.url("/stories/{story}"), headers=user_key.headers))
    assert deleted["id"] == str(world.story.id)
    assert deleted["removed_dependency_ids"] == [str(e) for e in edges]
    error_of(
        await client.get(world.url("/stories/{story}"), headers=user_key.headers),
        404,
        "story_not_found",
    )
    error_of(
        await client.delete(world.url("/stories/{story}"), headers=user_key.headers),
        404,
        "story_not_found",
    )
    listed = await client.get(world.url("/epics/{epic}/stories"), headers=user_key.headers)
    assert numbers(listed) == ["1.2"]
    cur = await conn.execute("SELECT id FROM story_dependencies")
    assert await cur.fetchall() == [(untouched,)]

    [row] = [
        r for r in await audit_rows(conn, tenant.id, entity_type="story") if r.action == "deleted"
    ]
    assert (row.entity_id, row.project_id, row.actor_role) == (
        world.story.id,
        world.project.id,
        "user",
    )
    assert (row.before, row.after) == (deleted, None)
    # The number is free again.
    data_of(
        await client.post(
            world.url("/epics/{epic}/stories"),
            json={"number": "1.1", "title": "Reborn"},
            headers=user_key.headers,
        ),
        201,
    )


# --- archived project ---------------------------------------------------------------------


async def test_an_archived_projects_stories_are_read_only(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    world = await make_world(runtime, tenant)
    data_of(await client.delete(world.url("/projects/{project}"), headers=user_key.headers))
    before = len(await audit_rows(conn, tenant.id))
    attempts = [
        ("POST", world.url("/epics/{epic}/stories"), {"number": "1.2", "title": "More"}),
        (
            "POST",
            world.url("/projects/{project}/stories"),
            {"epic_number": 1, "number": "1.2", "title": "More"},
        ),
        ("PATCH", world.url("/stories/{story}"), {"title": "Renamed"}),
        ("DELETE", world.url("/stories/{story}"), None),
    ]
    for method, url, body in attempts:
        response = await client.request(method, url, json=body, headers=user_key.headers)
        error_of(response, 409, "project_archived")
    assert len(await audit_rows(conn, tenant.id)) == before
    shown = data_of(await client.get(world.url("/stories/{story}"), headers=user_key.headers))
    assert shown["title"] == "Story 1.1"
    listed = await client.get(world.url("/stories?project_id={project}"), headers=user_key.headers)
    assert numbers(listed) == ["1.1"]
