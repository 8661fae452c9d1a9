"""A project's mission: create, change, clear, show, list, and on its stories; the
reference's parameters on project lists and progress."""

from typing import Any

import httpx
import pytest

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from loopctl.projects.schemas import MISSION_MAX
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import API, audit_rows, data_of, invalid
from tests.fixtures.work import make_epic, make_project, make_story

PROJECTS = f"{API}/projects"


async def test_the_mission_is_created_changed_cleared_and_shown_everywhere(
    client: httpx.AsyncClient,
    conn: Connection,
    tenant: Tenant,
    orchestrator_key: Key,
) -> None:
    body = {"name": "Shop", "slug": "shop", "mission": "  Sell things online  "}
    created = data_of(await client.post(PROJECTS, json=body, headers=orchestrator_key.headers), 201)
    assert created["mission"] == "Sell things online"
    url = f"{PROJECTS}/{created['id']}"
    shown = data_of(await client.get(url, headers=orchestrator_key.headers))
    assert shown["mission"] == "Sell things online"
    listed = data_of(await client.get(PROJECTS, headers=orchestrator_key.headers))
    assert [p["mission"] for p in listed] == ["Sell things online"]
    changed = await client.patch(
        url, json={"mission": "Sell more"}, headers=orchestrator_key.headers
    )
    assert data_of(changed)["mission"] == "Sell more"
    [*_, update] = await audit_rows(conn, tenant.id, entity_type="project")
    assert ((update.before or {})["mission"], (update.after or {})["mission"]) == (
        "Sell things online",
        "Sell more",
    )
    # Other changes leave it alone; null or blank clears it, as in the reference.
    renamed = await client.patch(url, json={"name": "Shop 2"}, headers=orchestrator_key.headers)
    assert data_of(renamed)["mission"] == "Sell more"
    blank = await client.patch(url, json={"mission": "   "}, headers=orchestrator_key.headers)
    assert data_of(blank)["mission"] is None
    data_of(await client.patch(url, json={"mission": "Again"}, headers=orchestrator_key.headers))
    cleared = await client.patch(url, json={"mission": None}, headers=orchestrator_key.headers)
    assert data_of(cleared)["mission"] is None


async def test_a_story_shows_its_projects_mission(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    story = await make_story(runtime, tenant, await make_epic(runtime, tenant, project, 1), "1.1")
    url = f"{PROJECTS}/{project.id}"
    data_of(await client.patch(url, json={"mission": "Why we build"}, headers=user_key.headers))
    shown = data_of(await client.get(f"{API}/stories/{story.id}", headers=user_key.headers))
    assert shown["project_mission"] == "Why we build"


@pytest.mark.parametrize(
    "mission",
    ["x" * (MISSION_MAX + 1), "nul\x00inside", 42, ["a"]],
    ids=["long", "nul", "int", "list"],
)
async def test_a_bad_mission_is_refused_naming_the_field(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key, mission: Any
) -> None:
    body = {"name": "Shop", "slug": "shop", "mission": mission}
    invalid(await client.post(PROJECTS, json=body, headers=user_key.headers), "body.mission")
    project = await make_project(runtime, tenant)
    response = await client.patch(
        f"{PROJECTS}/{project.id}", json={"mission": mission}, headers=user_key.headers
    )
    invalid(response, "body.mission")


async def test_the_longest_mission_is_stored_whole(
    client: httpx.AsyncClient, user_key: Key
) -> None:
    body = {"name": "Shop", "slug": "shop", "mission": "é" * MISSION_MAX}
    created = data_of(await client.post(PROJECTS, json=body, headers=user_key.headers), 201)
    assert created["mission"] == "é" * MISSION_MAX


async def test_lists_take_the_reference_sort_parameters(
    client: httpx.AsyncClient, user_key: Key
) -> None:
    for slug in ("bravo", "alpha", "charlie"):
        body = {"name": slug.title(), "slug": slug}
        data_of(await client.post(PROJECTS, json=body, headers=user_key.headers), 201)

    async def names(**params: str) -> list[str]:
        response = await client.get(PROJECTS, params=params, headers=user_key.headers)
        return [p["name"] for p in data_of(response)]

    assert await names(sort_by="name") == ["Alpha", "Bravo", "Charlie"]
    assert await names(sort_by="name", sort_order="desc") == ["Charlie", "Bravo", "Alpha"]
    assert await names(sort_by="inserted_at") == ["Bravo", "Alpha", "Charlie"]
    assert await names(sort="-inserted_at") == ["Charlie", "Alpha", "Bravo"]
    response = await client.get(PROJECTS, params={"sort_by": "slug"}, headers=user_key.headers)
    invalid(response, "query.sort")


async def test_progress_accepts_include_cost_and_reports_no_unknown_cost(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    url = f"{PROJECTS}/{project.id}/progress"
    plain = data_of(await client.get(url, headers=agent_key.headers))
    asked = data_of(
        await client.get(url, params={"include_cost": "true"}, headers=agent_key.headers)
    )
    # No token usage is recorded yet, so no cost field appears (never a made-up 0).
    assert asked == plain
    assert not [k for k in asked if "cost" in k or "token" in k]
    response = await client.get(url, params={"include_cost": "maybe"}, headers=agent_key.headers)
    invalid(response, "query.include_cost")
