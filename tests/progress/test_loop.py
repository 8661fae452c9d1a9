"""The story loop through the REST API: each transition, its gates and its audit entries."""

from typing import Any

import httpx

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from loopctl.stories.repository import StoryRow
from tests.fixtures.factories import Key, Tenant, make_key
from tests.fixtures.http import audit_rows, data_of, error_of, invalid

S = "/api/v1/stories"


async def post(
    client: httpx.AsyncClient, story: StoryRow, verb: str, key: Key, body: Any = None
) -> httpx.Response:
    return await client.post(f"{S}/{story.id}/{verb}", headers=key.headers, json=body)


async def implemented(
    client: httpx.AsyncClient, story: StoryRow, agent: Key, *, title: str = "Checkout"
) -> dict[str, Any]:
    """Contract, claim and start as ``agent``; returns the story after start."""
    data_of(await post(client, story, "contract", agent, {"story_title": title, "ac_count": 0}))
    claimed = data_of(await post(client, story, "claim", agent))
    token = claimed["lease"]["token"]
    started: dict[str, Any] = data_of(
        await post(client, story, "start", agent, {"lease_token": token})
    )
    return started


async def test_the_whole_loop(
    client: httpx.AsyncClient,
    conn: Connection,
    tenant: Tenant,
    story: StoryRow,
    agent_key: Key,
    orchestrator_key: Key,
) -> None:
    started = await implemented(client, story, agent_key)
    assert started["agent_status"] == "implementing"
    assert started["assigned_agent_id"] == str(agent_key.agent_id)
    assert [a["action"] for a in started["next_actions"]] == ["request_review"]
    data_of(await post(client, story, "request-review", agent_key))
    reported = data_of(await post(client, story, "report", orchestrator_key))
    assert reported["agent_status"] == "reported_done"
    assert reported["reported_by_agent_id"] == str(orchestrator_key.agent_id)
    review = data_of(
        await post(client, story, "review-complete", orchestrator_key, {"review_type": "code"}),
        201,
    )
    assert review["reviewer_agent_id"] == str(orchestrator_key.agent_id)
    verified = data_of(await post(client, story, "verify", orchestrator_key, {"summary": "ok"}))
    assert verified["verified_status"] == "verified"
    results = data_of(
        await client.get(f"{S}/{story.id}/verifications", headers=orchestrator_key.headers)
    )
    assert [r["iteration"] for r in results] == [1]
    actions = [r.action for r in await audit_rows(conn, tenant.id, entity_id=story.id)]
    assert actions[-7:] == [
        "status_changed",
        "status_changed",
        "status_changed",
        "review_requested",
        "status_changed",
        "review_completed",
        "verified",
    ]


async def test_the_implementer_cannot_report_its_own_story(
    client: httpx.AsyncClient, conn: Connection, tenant: Tenant, story: StoryRow, agent_key: Key
) -> None:
    await implemented(client, story, agent_key)
    error_of(await post(client, story, "report", agent_key), 409, "self_report_blocked")
    blocked = await audit_rows(conn, tenant.id, entity_id=story.id)
    assert blocked[-1].action == "self_report_blocked"
    assert blocked[-1].actor_agent_id == agent_key.agent_id
    assert blocked[-1].after == {"attempted": "report", "refused": "self_report_blocked"}


async def test_another_agent_may_report(
    client: httpx.AsyncClient, story: StoryRow, agent_key: Key, other_agent: Key
) -> None:
    await implemented(client, story, agent_key)
    reported = data_of(await post(client, story, "report-done", other_agent))
    assert reported["reported_by_agent_id"] == str(other_agent.agent_id)


async def test_contract_echo(client: httpx.AsyncClient, story: StoryRow, agent_key: Key) -> None:
    response = await post(client, story, "contract", agent_key, {"story_title": "x", "ac_count": 0})
    error_of(response, 422, "contract_mismatch")
    response = await post(
        client, story, "contract", agent_key, {"story_title": "Checkout", "ac_count": 2}
    )
    error = error_of(response, 422, "contract_mismatch")
    assert error["details"]["expected_ac_count"] == 0


async def test_claim_needs_a_contract(
    client: httpx.AsyncClient, story: StoryRow, agent_key: Key
) -> None:
    error_of(await post(client, story, "claim", agent_key), 409, "invalid_transition")


async def test_roles_are_exact(
    client: httpx.AsyncClient, story: StoryRow, user_key: Key, orchestrator_key: Key
) -> None:
    error_of(await post(client, story, "claim", orchestrator_key), 403, "insufficient_role")
    error_of(await post(client, story, "claim", user_key), 403, "insufficient_role")


async def test_verify_needs_a_review_after_the_report(
    client: httpx.AsyncClient, story: StoryRow, agent_key: Key, orchestrator_key: Key
) -> None:
    await implemented(client, story, agent_key)
    data_of(await post(client, story, "report", orchestrator_key))
    response = await post(client, story, "verify", orchestrator_key, {})
    error_of(response, 409, "review_required")


async def test_reject_resets_to_pending(
    client: httpx.AsyncClient, story: StoryRow, agent_key: Key, orchestrator_key: Key
) -> None:
    await implemented(client, story, agent_key)
    data_of(await post(client, story, "report", orchestrator_key))
    invalid(await post(client, story, "reject", orchestrator_key, {"reason": "  "}), "body.reason")
    rejected = data_of(
        await post(client, story, "reject", orchestrator_key, {"reason": "no tests"})
    )
    assert (rejected["agent_status"], rejected["verified_status"]) == ("pending", "rejected")
    assert rejected["assigned_agent_id"] is None
    assert rejected["rejection_reason"] == "no tests"


async def test_a_stale_token_is_lease_lost(
    client: httpx.AsyncClient, story: StoryRow, agent_key: Key
) -> None:
    data_of(
        await post(client, story, "contract", agent_key, {"story_title": "Checkout", "ac_count": 0})
    )
    token = data_of(await post(client, story, "claim", agent_key))["lease"]["token"]
    error_of(
        await post(client, story, "start", agent_key, {"lease_token": token - 1}), 409, "lease_lost"
    )
    data_of(await post(client, story, "heartbeat", agent_key, {"lease_token": token}))


async def test_another_tenants_story_is_not_found(
    client: httpx.AsyncClient, story: StoryRow, runtime: Runtime, other_tenant: Tenant
) -> None:
    stranger = await make_key(runtime, other_tenant, "agent")
    error_of(await post(client, story, "claim", stranger), 404, "story_not_found")


async def test_no_key_is_401(client: httpx.AsyncClient, story: StoryRow) -> None:
    response = await client.post(f"{S}/{story.id}/claim")
    assert response.status_code == 401


async def test_booleans_are_not_numbers(
    client: httpx.AsyncClient, story: StoryRow, agent_key: Key
) -> None:
    body = {"story_title": "Checkout", "ac_count": False}
    invalid(await post(client, story, "contract", agent_key, body), "body.ac_count")
    invalid(
        await post(client, story, "heartbeat", agent_key, {"lease_token": True}), "body.lease_token"
    )
    huge = {"lease_token": 2**64}
    invalid(await post(client, story, "heartbeat", agent_key, huge), "body.lease_token")


async def test_progress_roll_ups_follow_both_tiers(
    client: httpx.AsyncClient, story: StoryRow, agent_key: Key, orchestrator_key: Key
) -> None:
    url = f"/api/v1/projects/{story.project_id}/progress"

    async def rollup() -> dict[str, Any]:
        body: dict[str, Any] = data_of(await client.get(url, headers=agent_key.headers))
        return body

    await implemented(client, story, agent_key)
    assert (await rollup())["stories_by_agent_status"]["implementing"] == 1
    data_of(await post(client, story, "report", orchestrator_key))
    reported = await rollup()
    assert (reported["reported_unverified"], reported["verified_percentage"]) == (1, 0.0)
    review = {"review_type": "code", "findings_count": 3, "fixes_count": 1, "disproved_count": 1}
    unaccounted = await post(client, story, "review-complete", orchestrator_key, review)
    [error, _] = invalid(unaccounted, "body.fixes_count", "body.disproved_count")
    assert "1 unaccounted for" in error["message"]
    review["disproved_count"] = 2
    data_of(await post(client, story, "review-complete", orchestrator_key, review), 201)
    data_of(await post(client, story, "verify", orchestrator_key, {}))
    verified = await rollup()
    assert (verified["reported_unverified"], verified["verified_percentage"]) == (0, 100.0)


async def test_story_lists_filter_by_assignee(
    client: httpx.AsyncClient,
    story: StoryRow,
    agent_key: Key,
    other_agent: Key,
) -> None:
    await implemented(client, story, agent_key)
    for url, params in (
        ("/api/v1/stories", {"project_id": str(story.project_id)}),
        (f"/api/v1/epics/{story.epic_id}/stories", {}),
    ):
        mine = {**params, "assignee": str(agent_key.agent_id)}
        listed = data_of(await client.get(url, params=mine, headers=agent_key.headers))
        assert [s["id"] for s in listed] == [str(story.id)]
        theirs = {**params, "assignee": str(other_agent.agent_id)}
        assert data_of(await client.get(url, params=theirs, headers=agent_key.headers)) == []
        bad = {**params, "assignee": "nobody"}
        invalid(await client.get(url, params=bad, headers=agent_key.headers), "query.assignee")
