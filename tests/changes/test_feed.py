"""GET /changes: following next_cursor, filters, since, limits, roles and tenants."""

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from loopctl.changes.schemas import ChangeEvent
from loopctl.platform.runtime import Runtime
from tests.fixtures.access import Ids, Route, RouteAccess
from tests.fixtures.factories import Key, Tenant, make_key
from tests.fixtures.http import API, data_of, invalid
from tests.fixtures.work import make_epic, make_project, make_story


async def _world(runtime: Runtime, tenant: Tenant, stories: int = 1) -> Ids:
    project = await make_project(runtime, tenant)
    epic = await make_epic(runtime, tenant, project, 1)
    ids = {"project": str(project.id), "epic": str(epic.id)}
    for n in range(1, stories + 1):
        ids[f"story{n}"] = str((await make_story(runtime, tenant, epic, f"1.{n}")).id)
    return ids


class TestAccess(RouteAccess):
    ROUTES = (Route("GET", "/changes", "agent"),)

    async def world(self, client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> Ids:  # noqa: ARG002
        return await _world(runtime, tenant)


async def _page(client: httpx.AsyncClient, key: Key, query: str = "") -> dict[str, Any]:
    response = await client.get(f"{API}/changes?{query}", headers=key.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _follow(
    client: httpx.AsyncClient, key: Key, cursor: str | None, query: str = "", limit: int = 1000
) -> tuple[list[dict[str, Any]], str]:
    """Every event after ``cursor``, page by page; and the cursor to read on from."""
    events: list[dict[str, Any]] = []
    while True:
        at = f"cursor={cursor}&" if cursor else ""
        page = await _page(client, key, f"{at}limit={limit}&{query}")
        events += page["data"]
        cursor = page["meta"]["next_cursor"]
        if not page["meta"]["has_more"]:
            assert cursor is not None
            return events, cursor


async def test_following_next_cursor_reads_every_event_once_in_order(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key, agent_key: Key
) -> None:
    ids = await _world(runtime, tenant, stories=3)
    audit = (await client.get(f"{API}/audit?limit=500", headers=user_key.headers)).json()
    written = [e["id"] for e in reversed(audit["data"])]
    events, cursor = await _follow(client, agent_key, None, limit=2)
    assert [e["id"] for e in events] == written
    assert events[-1]["entity_id"] == ids["story3"]
    again, same = await _follow(client, agent_key, cursor)
    assert again == []
    # New events come after the cursor, and only they.
    url = f"{API}/stories/{ids['story1']}/contract"
    body = {"story_title": "Story 1.1", "ac_count": 0}
    data_of(await client.post(url, json=body, headers=agent_key.headers))
    new, _ = await _follow(client, agent_key, same)
    assert [(e["entity_id"], e["after"]["transition"]) for e in new] == [
        (ids["story1"], "contract")
    ]
    # Each event's own cursor resumes right after it.
    after_first, _ = await _follow(client, agent_key, events[0]["cursor"])
    assert [e["id"] for e in after_first] == [*written[1:], new[0]["id"]]


async def test_filters_and_since_narrow_the_feed(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    first = await _world(runtime, tenant, stories=2)
    second = await _world(runtime, tenant, stories=1)
    mine, _ = await _follow(client, agent_key, None, f"project_id={second['project']}")
    assert [e["entity_type"] for e in mine] == ["project", "epic", "story"]
    assert {e["project_id"] for e in mine} == {second["project"]}
    stories, _ = await _follow(client, agent_key, None, "entity_type=story&action=created")
    assert [e["entity_id"] for e in stories] == [
        first["story1"],
        first["story2"],
        second["story1"],
    ]
    everything, _ = await _follow(client, agent_key, None)
    at = datetime.fromisoformat(everything[0]["created_at"])
    for since in (at - timedelta(microseconds=1), at):
        stamp = since.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        after, _ = await _follow(client, agent_key, None, f"since={quote(stamp)}")
        # Strictly after: the timestamps share one format, so strings compare as times.
        assert after == [e for e in everything if e["created_at"] > stamp]
    assert after != everything
    late = await _page(client, agent_key, "since=9999-01-01T00:00:00Z")
    assert late["data"] == []
    assert late["meta"]["has_more"] is False


async def test_a_filtered_feed_moves_its_cursor_past_what_it_left_out(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    await _world(runtime, tenant)
    page = await _page(client, agent_key, "entity_type=nothing-like-this")
    assert page["data"] == []
    assert page["meta"]["next_cursor"] != "0." + "0" * 32


async def test_no_event_of_another_tenant_is_in_the_feed(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    other_tenant: Tenant,
    agent_key: Key,
) -> None:
    theirs = await _world(runtime, other_tenant, stories=2)
    their_agent = await make_key(runtime, other_tenant, "agent")
    mine = await _world(runtime, tenant)
    their_events, _ = await _follow(client, their_agent, None)
    assert {e["entity_id"] for e in their_events} >= {theirs["story1"], theirs["story2"]}
    events, _ = await _follow(client, agent_key, None)
    assert events
    assert not {e["id"] for e in events} & {e["id"] for e in their_events}
    assert {e["entity_id"] for e in events} & set(mine.values()) == set(mine.values())
    # A cursor of theirs is only a position: it reads my events after it, none of theirs.
    after_theirs, _ = await _follow(client, agent_key, their_events[0]["cursor"])
    assert not {e["id"] for e in after_theirs} & {e["id"] for e in their_events}
    only_theirs = f"project_id={theirs['project']}"
    assert (await _page(client, agent_key, only_theirs))["data"] == []


async def test_bad_parameters_are_refused_by_name(
    client: httpx.AsyncClient, agent_key: Key
) -> None:
    good = "12." + "0" * 32
    for query, field in (
        ("cursor=abc", "query.cursor"),
        ("cursor=12", "query.cursor"),
        ("cursor=" + "9" * 19 + "." + "0" * 32, "query.cursor"),
        ("cursor=12." + "0" * 31 + "g", "query.cursor"),
        ("cursor=" + "1" * 101, "query.cursor"),
        (f"cursor={good}&since=2026-01-01T00:00:00Z", "query.since"),
        ("since=yesterday", "query.since"),
        ("since=2026-01-01T00:00:00", "query.since"),
        ("limit=0", "query.limit"),
        ("limit=1001", "query.limit"),
        ("project_id=nope", "query.project_id"),
        ("entity_type=", "query.entity_type"),
        ("action=" + "a" * 101, "query.action"),
    ):
        invalid(await client.get(f"{API}/changes?{query}", headers=agent_key.headers), field)
    assert len((await _page(client, agent_key, f"cursor={good}&limit=1000"))["data"]) <= 1000


# What JSON encoders disagree on: escapes, non-ASCII, numbers that are not plain integers.
AWKWARD = {
    "text": 'quote " backslash \\ slash / tab \t newline \n bell \u0007 del \u007f',
    "unicode": "é ü 中文 😀 \u2028 \u2029 \ufeff",
    "html": "</script><!--",
    "": "an empty key",
    "numbers": [0, -1, 0.1, 2.0, -2.5e-3, 1e-7, 123456789.125, 9007199254740993, 2**62],
    "nested": {"deep": [{"a": [True, False, None]}], "empty": {}, "list": []},
}


async def test_feed_events_are_the_audit_entries_as_the_api_writes_them(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, orchestrator_key: Key
) -> None:
    ids = await _world(runtime, tenant)
    for summary in ("plain", None):
        body = {"event_type": "awkward", "story_id": ids["story1"], "summary": summary}
        data_of(
            await client.post(
                f"{API}/audit/events",
                json={**body, "data": AWKWARD},
                headers=orchestrator_key.headers,
            ),
            201,
        )
    response = await client.get(f"{API}/changes", headers=orchestrator_key.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    page = response.json()
    assert list(page) == ["data", "meta"]
    assert list(page["meta"]) == ["next_cursor", "has_more", "limit"]
    entries = (await client.get(f"{API}/audit?limit=500", headers=tenant.user.headers)).json()[
        "data"
    ]
    assert len(page["data"]) == len(entries) > 4
    # The same entries, key for key and in the same key order, as the audit query's
    # response model writes them, plus each event's cursor.
    for event, entry in zip(page["data"], reversed(entries), strict=True):
        assert list(event) == list(ChangeEvent.model_fields)
        cursor = event.pop("cursor")
        assert list(event.items()) == list(entry.items())
        assert cursor.endswith("." + event["id"].replace("-", ""))
    assert page["data"][-1]["after"]["data"] == AWKWARD
    assert page["meta"]["next_cursor"] == cursor
