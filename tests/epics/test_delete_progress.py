"""Deleting epics, epic progress, and epics of an archived project."""

import httpx

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.epics.world import add_epic_edge, add_story_edge, make_world
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import API, audit_rows, data_of, error_of
from tests.fixtures.work import make_epic, make_project, make_story, set_status

# --- delete -------------------------------------------------------------------------------


async def test_an_empty_epic_is_deleted_with_its_epic_edges(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    epic = await make_epic(runtime, tenant, project, 1)
    later = await make_epic(runtime, tenant, project, 2)
    earlier = await make_epic(runtime, tenant, project, 3)
    edges = [
        await add_epic_edge(conn, tenant, later, epic),
        await add_epic_edge(conn, tenant, epic, earlier),
    ]
    response = await client.delete(f"{API}/epics/{epic.id}", headers=user_key.headers)
    deleted = data_of(response)
    assert (deleted["id"], deleted["number"]) == (str(epic.id), 1)
    assert deleted["deleted_story_ids"] == []
    assert deleted["removed_dependency_ids"] == [str(e) for e in edges]
    error_of(
        await client.get(f"{API}/epics/{epic.id}", headers=user_key.headers), 404, "epic_not_found"
    )
    [row] = [
        r
        for r in await audit_rows(conn, tenant.id, entity_type="epic", entity_id=epic.id)
        if r.action == "deleted"
    ]
    assert (row.project_id, row.actor_role, row.before, row.after) == (
        project.id,
        "user",
        deleted,
        None,
    )
    # The other epics are untouched.
    listed = data_of(
        await client.get(f"{API}/projects/{project.id}/epics", headers=user_key.headers)
    )
    assert [e["number"] for e in listed] == [2, 3]


async def test_an_epic_with_stories_needs_force(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    world = await make_world(runtime, tenant)
    await make_story(runtime, tenant, world.epic, "1.2")
    before = len(await audit_rows(conn, tenant.id))
    for query in ("", "?force=false"):
        response = await client.delete(world.url("/epics/{epic}") + query, headers=user_key.headers)
        error = error_of(response, 409, "epic_not_empty")
        assert error["details"] == {"story_count": 2}
    assert len(await audit_rows(conn, tenant.id)) == before
    shown = data_of(await client.get(world.url("/epics/{epic}"), headers=user_key.headers))
    assert len(shown["stories"]) == 2


async def test_force_deletes_the_stories_and_their_edges_and_reports_them(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    world = await make_world(runtime, tenant)
    second = await make_story(runtime, tenant, world.epic, "1.2")
    elsewhere = await make_story(
        runtime, tenant, await make_epic(runtime, tenant, world.project, 2), "2.1"
    )
    inside = await add_story_edge(conn, tenant, second, world.story)
    outside = await add_story_edge(conn, tenant, elsewhere, second)

    response = await client.delete(world.url("/epics/{epic}?force=true"), headers=user_key.headers)
    deleted = data_of(response)
    assert deleted["deleted_story_ids"] == [str(world.story.id), str(second.id)]
    for story in (world.story, second):
        gone = await client.get(f"{API}/stories/{story.id}", headers=user_key.headers)
        error_of(gone, 404, "story_not_found")
    kept = data_of(await client.get(f"{API}/stories/{elsewhere.id}", headers=user_key.headers))
    assert kept["number"] == "2.1"

    rows = [r for r in await audit_rows(conn, tenant.id) if r.action == "deleted"]
    assert [(r.entity_type, r.entity_id) for r in rows] == [
        ("story", world.story.id),
        ("story", second.id),
        ("epic", world.epic.id),
    ]
    assert {r.project_id for r in rows} == {world.project.id}
    assert rows[0].before is not None
    assert rows[0].before["removed_dependency_ids"] == [str(inside)]
    assert rows[1].before is not None
    assert rows[1].before["removed_dependency_ids"] == [str(inside), str(outside)]
    cur = await conn.execute("SELECT count(*) FROM story_dependencies")
    assert await cur.fetchone() == (0,)


async def test_delete_rejects_a_bad_force_value(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    world = await make_world(runtime, tenant)
    response = await client.delete(world.url("/epics/{epic}?force=maybe"), headers=user_key.headers)
    error = error_of(response, 422, "validation_error")
    assert error["details"]["errors"][0]["field"] == "query.force"


# --- progress -----------------------------------------------------------------------------


async def test_epic_progress_counts_its_own_stories_by_both_tiers(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    epic = await make_epic(runtime, tenant, project, 1)
    other = await make_epic(runtime, tenant, project, 2)
    states = [
        ("pending", "unverified", 1.5),
        ("implementing", "unverified", None),
        ("reported_done", "unverified", 2),
        ("reported_done", "verified", 4.25),
        ("reported_done", "verified", None),
        ("pending", "rejected", 3),
    ]
    for n, (agent_status, verified_status, hours) in enumerate(states, 1):
        story = await make_story(runtime, tenant, epic, f"1.{n}", hours=hours)
        await set_status(
            conn, tenant, story.id, agent_status=agent_status, verified_status=verified_status
        )
    await set_status(conn, tenant, (await make_story(runtime, tenant, other, "2.1", hours=8)).id)

    shown = data_of(await client.get(f"{API}/epics/{epic.id}/progress", headers=agent_key.headers))
    assert shown == {
        "epic_id": str(epic.id),
        "project_id": str(project.id),
        "total_stories": 6,
        "stories_by_agent_status": {
            "pending": 2,
            "contracted": 0,
            "assigned": 0,
            "implementing": 1,
            "reported_done": 3,
        },
        "stories_by_verified_status": {"unverified": 3, "verified": 2, "rejected": 1},
        "verified_percentage": 33.3,
        "reported_unverified": 1,
        "estimated_hours_total": 10.75,
        "estimated_hours_verified": 4.25,
    }


async def test_an_empty_epic_has_zero_progress(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    epic = await make_epic(runtime, tenant, await make_project(runtime, tenant), 1)
    shown = data_of(await client.get(f"{API}/epics/{epic.id}/progress", headers=agent_key.headers))
    assert (shown["total_stories"], shown["verified_percentage"]) == (0, 0.0)
    assert set(shown["stories_by_verified_status"].values()) == {0}
    assert (shown["estimated_hours_total"], shown["estimated_hours_verified"]) == (0.0, 0.0)


# --- archived project ---------------------------------------------------------------------


async def test_an_archived_projects_epics_are_read_only(
    client: httpx.AsyncClient, conn: Connection, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    world = await make_world(runtime, tenant)
    data_of(await client.delete(world.url("/projects/{project}"), headers=user_key.headers))
    before = len(await audit_rows(conn, tenant.id))
    attempts = [
        ("POST", world.url("/projects/{project}/epics"), {"number": 2, "title": "More"}),
        ("PATCH", world.url("/epics/{epic}"), {"title": "Renamed"}),
        ("DELETE", world.url("/epics/{epic}?force=true"), None),
    ]
    for method, url, body in attempts:
        response = await client.request(method, url, json=body, headers=user_key.headers)
        error_of(response, 409, "project_archived")
    assert len(await audit_rows(conn, tenant.id)) == before
    # Reading still works.
    shown = data_of(await client.get(world.url("/epics/{epic}"), headers=user_key.headers))
    assert (shown["title"], len(shown["stories"])) == ("Epic 1", 1)
    listed = data_of(
        await client.get(world.url("/projects/{project}/epics"), headers=user_key.headers)
    )
    assert [e["id"] for e in listed] == [str(world.epic.id)]
    data_of(await client.get(world.url("/epics/{epic}/progress"), headers=user_key.headers))
