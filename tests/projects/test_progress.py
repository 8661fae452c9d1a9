"""GET /api/v1/projects/{id}/progress: the project's stories by both tiers, and its epics."""

import httpx

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import API, data_of
from tests.fixtures.work import make_epic, make_project, make_story, set_status


async def test_progress_rolls_up_stories_and_epics(
    client: httpx.AsyncClient,
    conn: Connection,
    runtime: Runtime,
    tenant: Tenant,
    other_tenant: Tenant,
    agent_key: Key,
) -> None:
    project = await make_project(runtime, tenant)
    done = await make_epic(runtime, tenant, project, 1)
    half = await make_epic(runtime, tenant, project, 2)
    await make_epic(runtime, tenant, project, 3)  # no stories: not complete
    plan = [
        (done, "1.1", 2, "reported_done", "verified"),
        (done, "1.2", 3.5, "reported_done", "verified"),
        (half, "2.1", 1, "reported_done", "verified"),
        (half, "2.2", None, "reported_done", "unverified"),
        (half, "2.3", 4, "reported_done", "unverified"),
        (half, "2.4", 8, "implementing", "unverified"),
        (half, "2.5", None, "assigned", "unverified"),
        (half, "2.6", 0.25, "contracted", "unverified"),
        (half, "2.7", None, "pending", "unverified"),
        (half, "2.8", 5, "pending", "rejected"),
    ]
    for epic, number, hours, agent_status, verified_status in plan:
        story = await make_story(runtime, tenant, epic, number, hours=hours)
        if (agent_status, verified_status) != ("pending", "unverified"):
            await set_status(
                conn, tenant, story.id, agent_status=agent_status, verified_status=verified_status
            )
    # Other projects, of this tenant and another, do not count.
    elsewhere = await make_epic(runtime, tenant, await make_project(runtime, tenant), 1)
    await set_status(
        conn, tenant, (await make_story(runtime, tenant, elsewhere, "1.1", hours=9)).id
    )
    theirs = await make_epic(runtime, other_tenant, await make_project(runtime, other_tenant), 1)
    await make_story(runtime, other_tenant, theirs, "1.1")

    response = await client.get(f"{API}/projects/{project.id}/progress", headers=agent_key.headers)
    assert data_of(response) == {
        "project_id": str(project.id),
        "total_stories": 10,
        "stories_by_agent_status": {
            "pending": 2,
            "contracted": 1,
            "assigned": 1,
            "implementing": 1,
            "reported_done": 5,
        },
        "stories_by_verified_status": {"unverified": 6, "verified": 3, "rejected": 1},
        "verified_percentage": 30.0,
        "reported_unverified": 2,
        "estimated_hours_total": 23.75,
        "estimated_hours_verified": 6.5,
        "epics_total": 3,
        "epics_completed": 1,
    }


async def test_an_empty_project_has_zero_progress(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    shown = data_of(
        await client.get(f"{API}/projects/{project.id}/progress", headers=agent_key.headers)
    )
    assert (shown["total_stories"], shown["epics_total"], shown["epics_completed"]) == (0, 0, 0)
    assert (shown["verified_percentage"], shown["reported_unverified"]) == (0.0, 0)
    assert set(shown["stories_by_agent_status"].values()) == {0}


async def test_an_archived_projects_progress_is_still_shown(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    story = await make_story(runtime, tenant, await make_epic(runtime, tenant, project, 1), "1.1")
    await set_status(conn, tenant, story.id)
    data_of(await client.delete(f"{API}/projects/{project.id}", headers=user_key.headers))
    shown = data_of(
        await client.get(f"{API}/projects/{project.id}/progress", headers=user_key.headers)
    )
    assert (shown["verified_percentage"], shown["epics_completed"]) == (100.0, 1)
