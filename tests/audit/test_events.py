"""POST /api/v1/audit/events: orchestrators record events of their own work."""

import httpx

from loopctl.platform.runtime import Runtime
from loopctl.stories.repository import StoryRow
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import data_of, error_of, invalid
from tests.fixtures.work import make_epic, make_project, make_story

URL = "/api/v1/audit/events"


async def test_an_event_is_recorded_and_found_with_the_audit_filters(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    orchestrator_key: Key,
    user_key: Key,
    agent_key: Key,
) -> None:
    epic = await make_epic(runtime, tenant, await make_project(runtime, tenant), 1)
    story: StoryRow = await make_story(runtime, tenant, epic, "1.1")
    body = {
        "event_type": "rule_violation",
        "story_id": str(story.id),
        "summary": "pushed without tests",
        "data": {"rule": "tests-first"},
    }
    made = data_of(await client.post(URL, json=body, headers=orchestrator_key.headers), 201)
    assert (made["entity_type"], made["action"]) == ("orchestrator_event", "rule_violation")
    assert made["project_id"] == str(story.project_id)
    assert made["actor_agent_id"] == str(orchestrator_key.agent_id)
    assert made["after"]["data"] == {"rule": "tests-first"}
    params = {"entity_type": "orchestrator_event", "action": "rule_violation"}
    found = data_of(await client.get("/api/v1/audit", params=params, headers=user_key.headers))
    assert [e["id"] for e in found] == [made["id"]]
    error_of(await client.post(URL, json=body, headers=agent_key.headers), 403, "insufficient_role")


async def test_an_event_names_only_the_tenants_own_project_and_story(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    other_tenant: Tenant,
    orchestrator_key: Key,
) -> None:
    theirs = await make_project(runtime, other_tenant)
    body = {"event_type": "session_started", "project_id": str(theirs.id)}
    error_of(
        await client.post(URL, json=body, headers=orchestrator_key.headers),
        404,
        "project_not_found",
    )
    mine = await make_project(runtime, tenant)
    other = await make_project(runtime, tenant)
    story = await make_story(runtime, tenant, await make_epic(runtime, tenant, other, 1), "1.1")
    mixed = {"event_type": "x", "project_id": str(mine.id), "story_id": str(story.id)}
    invalid(await client.post(URL, json=mixed, headers=orchestrator_key.headers), "body.story_id")
    for bad in ({"event_type": "Has Spaces"}, {"event_type": "ok", "extra": 1}, {}):
        response = await client.post(URL, json=bad, headers=orchestrator_key.headers)
        assert response.status_code == 422, response.text
    response = await client.post(URL, json={"event_type": "x"})
    assert response.status_code == 401
