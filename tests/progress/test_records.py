"""Artifacts, verdict history, criteria results, backfill, bulk and verify-all."""

from typing import Any

import httpx
import pytest

from loopctl.database.connections import tenant_transaction
from loopctl.platform.runtime import Runtime
from loopctl.stories import service as stories
from loopctl.stories.repository import StoryRow
from loopctl.stories.schemas import StoryCreate
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import data_of, error_of, invalid
from tests.fixtures.work import make_epic, make_project, make_story
from tests.progress.test_loop import implemented, post

S = "/api/v1/stories"


@pytest.fixture
async def checked_story(runtime: Runtime, tenant: Tenant) -> StoryRow:
    epic = await make_epic(runtime, tenant, await make_project(runtime, tenant), 1)
    body = StoryCreate.model_validate(
        {
            "number": "1.1",
            "title": "Checkout",
            "acceptance_criteria": [{"criterion": "pays"}, {"criterion": "refunds"}],
        }
    )
    async with tenant_transaction(runtime.connections, tenant.id) as tx:
        return await stories.create(tx, tenant.principal(), epic.id, body)


async def reported(
    client: httpx.AsyncClient, story: StoryRow, agent: Key, orchestrator: Key, titles: int = 0
) -> None:
    body = {"story_title": story.title, "ac_count": titles}
    data_of(await post(client, story, "contract", agent, body))
    data_of(await post(client, story, "claim", agent))
    data_of(await post(client, story, "start", agent))
    data_of(await post(client, story, "report", orchestrator))
    data_of(
        await post(client, story, "review-complete", orchestrator, {"review_type": "code"}), 201
    )


async def test_criteria_results_are_kept_per_criterion(
    client: httpx.AsyncClient, checked_story: StoryRow, agent_key: Key, orchestrator_key: Key
) -> None:
    story = checked_story
    await reported(client, story, agent_key, orchestrator_key, titles=2)
    bad = {"criteria": [{"id": "AC-9", "result": "passed"}]}
    error = error_of(
        await post(client, story, "verify", orchestrator_key, bad), 422, "unknown_criterion"
    )
    assert error["details"]["errors"][0]["field"] == "body.criteria[0].id"
    contradiction = {"criteria": [{"id": "AC-1", "result": "failed"}]}
    response = await post(client, story, "verify", orchestrator_key, contradiction)
    assert (
        error_of(response, 422, "verdict_contradicts_criteria")["details"]["errors"][0]["field"]
        == "body.result"
    )
    verdict = {"criteria": [{"id": "AC-1", "result": "passed", "evidence": "pytest: 3 passed"}]}
    data_of(await post(client, story, "verify", orchestrator_key, verdict))
    criteria = data_of(
        await client.get(f"{S}/{story.id}/acceptance_criteria", headers=agent_key.headers)
    )
    assert [(c["id"], c["result"], c["evidence"]) for c in criteria] == [
        ("AC-1", "passed", "pytest: 3 passed"),
        ("AC-2", None, None),
    ]
    assert criteria[0]["iteration"] == 1
    assert criteria[0]["description"] == "pays"


async def test_artifacts(client: httpx.AsyncClient, story: StoryRow, agent_key: Key) -> None:
    body = {"artifact_type": "pr", "path": "https://example.test/pr/1", "details": {"n": 1}}
    made = data_of(await post(client, story, "artifacts", agent_key, body), 201)
    assert made["reported_by_agent_id"] == str(agent_key.agent_id)
    invalid(await post(client, story, "artifacts", agent_key, {"path": "x"}), "body.artifact_type")
    listed = data_of(await client.get(f"{S}/{story.id}/artifacts", headers=agent_key.headers))
    assert [a["id"] for a in listed] == [made["id"]]


async def test_backfill_needs_a_user_and_evidence(
    client: httpx.AsyncClient, story: StoryRow, user_key: Key, orchestrator_key: Key
) -> None:
    body: dict[str, Any] = {"reason": "shipped in 2024", "evidence_url": "https://x.test/pr/7"}
    error_of(
        await post(client, story, "backfill", orchestrator_key, body), 403, "insufficient_role"
    )
    no_evidence = await post(client, story, "backfill", user_key, {"reason": "x"})
    invalid(no_evidence, "body.evidence", "body.evidence_url")
    bad_url = {"reason": "x", "evidence_url": "https://u:p@x.test/"}
    invalid(await post(client, story, "backfill", user_key, bad_url), "body.evidence_url")
    done = data_of(await post(client, story, "backfill", user_key, body))
    assert (done["agent_status"], done["verified_status"]) == ("reported_done", "verified")
    again = data_of(await post(client, story, "backfill", user_key, body))
    assert again["verified_at"] == done["verified_at"]
    other = {**body, "reason": "different"}
    error_of(await post(client, story, "backfill", user_key, other), 409, "invalid_transition")


async def test_bulk_claim_reports_each_story(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    epic = await make_epic(runtime, tenant, await make_project(runtime, tenant), 1)
    one = await make_story(runtime, tenant, epic, "1.1", title="One")
    two = await make_story(runtime, tenant, epic, "1.2", title="Two")
    data_of(await post(client, one, "contract", agent_key, {"story_title": "One", "ac_count": 0}))
    body = {"story_ids": [str(two.id), str(one.id)]}
    response = await client.post(f"{S}/bulk/claim", json=body, headers=agent_key.headers)
    assert response.status_code == 200, response.text
    results = {r["story_id"]: r for r in response.json()["data"]}
    assert results[str(one.id)]["status"] == "success"
    assert results[str(two.id)]["error"]["code"] == "invalid_transition"
    assert response.json()["meta"] == {"succeeded": 1, "failed": 1}
    too_many = {"story_ids": [str(one.id)] * 51}
    invalid(await client.post(f"{S}/bulk/claim", json=too_many, headers=agent_key.headers))


async def test_verify_all(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    agent_key: Key,
    orchestrator_key: Key,
) -> None:
    epic = await make_epic(runtime, tenant, await make_project(runtime, tenant), 1)
    ready = await make_story(runtime, tenant, epic, "1.1", title="Ready")
    unreviewed = await make_story(runtime, tenant, epic, "1.2", title="Unreviewed")
    await reported(client, ready, agent_key, orchestrator_key)
    await implemented(client, unreviewed, agent_key, title="Unreviewed")
    data_of(await post(client, unreviewed, "report", orchestrator_key))
    result = data_of(
        await client.post(
            f"/api/v1/epics/{epic.id}/verify-all", json={}, headers=orchestrator_key.headers
        )
    )
    assert (result["verified_count"], result["skipped_count"], result["total_eligible"]) == (
        1,
        1,
        2,
    )
    assert result["errors"][0]["error"]["code"] == "review_required"
