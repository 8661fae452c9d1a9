"""GET /audit and GET /stories/{id}/history: filters, order, paging, roles and tenants."""

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from loopctl.platform.runtime import Runtime
from tests.fixtures.access import Ids, Route, RouteAccess
from tests.fixtures.factories import Key, Tenant, make_key
from tests.fixtures.http import API, data_of, error_of, invalid
from tests.fixtures.work import make_epic, make_project, make_story


async def _story_world(runtime: Runtime, tenant: Tenant) -> Ids:
    project = await make_project(runtime, tenant)
    epic = await make_epic(runtime, tenant, project, 1)
    story = await make_story(runtime, tenant, epic, "1.1")
    return {"project": str(project.id), "epic": str(epic.id), "story": str(story.id)}


class TestAccess(RouteAccess):
    ROUTES = (
        Route("GET", "/audit", "user"),
        Route("GET", "/stories/{story}/history", "agent", missing="story_not_found"),
    )

    async def world(self, client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> Ids:  # noqa: ARG002
        return await _story_world(runtime, tenant)


async def _loop(client: httpx.AsyncClient, story: str, agent: Key) -> None:
    """contract, claim, start: three transitions by ``agent``."""
    for verb, body in (
        ("contract", {"story_title": "Story 1.1", "ac_count": 0}),
        ("claim", None),
        ("start", None),
    ):
        url = f"{API}/stories/{story}/{verb}"
        data_of(await client.post(url, json=body, headers=agent.headers))


def _step(entry: dict[str, Any]) -> str:
    """The transition a loop entry records, or the action of any other entry."""
    after = entry["after"] or {}
    return str(after.get("transition", entry["action"]))


async def _audit(client: httpx.AsyncClient, key: Key, query: str = "") -> dict[str, Any]:
    response = await client.get(f"{API}/audit?{query}", headers=key.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_story_history_is_every_transition_oldest_first_with_its_project(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    ids = await _story_world(runtime, tenant)
    await _loop(client, ids["story"], agent_key)
    url = f"{API}/stories/{ids['story']}/history"
    history = data_of(await client.get(url, headers=agent_key.headers))
    assert [_step(e) for e in history] == ["created", "contract", "claim", "start"]
    assert {e["entity_id"] for e in history} == {ids["story"]}
    assert {e["project_id"] for e in history} == {ids["project"]}
    assert history[1]["actor_agent_id"] == str(agent_key.agent_id)
    assert history[2]["after"]["agent_status"] == "assigned"
    page = (await client.get(f"{url}?limit=2&offset=2", headers=agent_key.headers)).json()
    assert [_step(e) for e in page["data"]] == ["claim", "start"]
    assert page["meta"]["total"] == 4


async def test_a_deleted_story_keeps_its_history_and_an_unknown_one_has_none(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key, agent_key: Key
) -> None:
    ids = await _story_world(runtime, tenant)
    data_of(await client.delete(f"{API}/stories/{ids['story']}", headers=user_key.headers))
    url = f"{API}/stories/{ids['story']}/history"
    history = data_of(await client.get(url, headers=agent_key.headers))
    assert [e["action"] for e in history] == ["created", "deleted"]
    missing = "01900000-0000-7000-8000-000000000000"
    url = f"{API}/stories/{missing}/history"
    error_of(await client.get(url, headers=agent_key.headers), 404, "story_not_found")


async def test_audit_filters_each_narrow_the_entries(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key, agent_key: Key
) -> None:
    ids = await _story_world(runtime, tenant)
    other = await _story_world(runtime, tenant)
    await _loop(client, ids["story"], agent_key)
    everything = await _audit(client, user_key)
    created = [e["created_at"] for e in everything["data"]]
    assert created == sorted(created, reverse=True)

    by_story = (await _audit(client, user_key, f"entity_id={ids['story']}"))["data"]
    assert [_step(e) for e in by_story] == ["start", "claim", "contract", "created"]
    by_project = (await _audit(client, user_key, f"project_id={other['project']}"))["data"]
    assert {e["project_id"] for e in by_project} == {other["project"]}
    assert {e["entity_type"] for e in by_project} == {"project", "epic", "story"}
    changes = (await _audit(client, user_key, "action=status_changed"))["data"]
    assert [(e["entity_id"], _step(e)) for e in changes] == [
        (ids["story"], step) for step in ("start", "claim", "contract")
    ]
    by_agent = (await _audit(client, user_key, f"actor={agent_key.agent_id}"))["data"]
    assert [_step(e) for e in by_agent] == ["start", "claim", "contract"]
    by_key = (await _audit(client, user_key, f"actor={agent_key.id}"))["data"]
    assert by_key == by_agent
    epics = await _audit(client, user_key, "entity_type=epic&limit=1")
    assert len(epics["data"]) == 1
    assert epics["meta"]["total"] == 2


async def test_audit_time_range_is_inclusive_and_bounded(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    await _story_world(runtime, tenant)
    entries = (await _audit(client, user_key))["data"]
    at = entries[0]["created_at"]
    both = await _audit(client, user_key, f"from={quote(at)}&to={quote(at)}")
    assert len(both["data"]) == both["meta"]["total"] > 0
    assert {e["created_at"] for e in both["data"]} == {at}
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (await _audit(client, user_key, f"from={quote(later)}"))["data"] == []
    assert (await _audit(client, user_key, f"to={quote('2000-01-01T00:00:00Z')}"))["data"] == []


async def test_no_entry_of_another_tenant_is_ever_shown(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    other_tenant: Tenant,
    user_key: Key,
) -> None:
    theirs = await _story_world(runtime, other_tenant)
    their_agent = await make_key(runtime, other_tenant, "agent")
    await _loop(client, theirs["story"], their_agent)
    mine = await _story_world(runtime, tenant)
    seen = (await _audit(client, user_key, "limit=500"))["data"]
    assert seen
    assert not {e["entity_id"] for e in seen} & set(theirs.values())
    for query in (f"entity_id={theirs['story']}", f"project_id={theirs['project']}"):
        assert (await _audit(client, user_key, query))["data"] == []
    assert (await _audit(client, user_key, f"actor={their_agent.agent_id}"))["data"] == []
    url = f"{API}/stories/{mine['story']}/history"
    assert len(data_of(await client.get(url, headers=user_key.headers))) == 1


async def test_bad_filters_are_refused_by_name(client: httpx.AsyncClient, user_key: Key) -> None:
    for query, field in (
        ("entity_id=nope", "query.entity_id"),
        ("actor=1", "query.actor"),
        ("project_id=x", "query.project_id"),
        ("from=yesterday", "query.from"),
        ("to=2026-01-01T00:00:00", "query.to"),
        ("entity_type=" + "x" * 101, "query.entity_type"),
        ("action=", "query.action"),
        ("limit=0", "query.limit"),
    ):
        invalid(await client.get(f"{API}/audit?{query}", headers=user_key.headers), field)
