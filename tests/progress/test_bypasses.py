"""The reference's custody side doors (anchor-trust.md §7.2, items 2 and 5), each shown shut.

- bulk mark-complete turned any story into verified;
- bulk verify skipped the self-verify and review checks;
- force-unclaim then backfill laundered a story;
- an agent key without an agent passed every self-check (here the schema binds every
  agent and orchestrator key to an agent, and the rule table refuses an unbound one anyway:
  test_status.py::test_a_key_without_an_agent_never_passes_an_identity_check);
- reporting one's own story halted the whole tenant.
"""

import httpx

from loopctl.stories.repository import StoryRow
from tests.fixtures.factories import Key
from tests.fixtures.http import data_of, error_of
from tests.progress.test_loop import implemented, post

S = "/api/v1/stories"
BACKFILL = {"reason": "done before loopctl", "evidence": "git log"}


async def test_bulk_mark_complete_is_a_human_backfill_and_nothing_more(
    client: httpx.AsyncClient, story: StoryRow, agent_key: Key, orchestrator_key: Key, user_key: Key
) -> None:
    body = {"stories": [{"story_id": str(story.id), **BACKFILL}]}
    url = f"{S}/bulk/mark-complete"
    error_of(
        await client.post(url, json=body, headers=orchestrator_key.headers),
        403,
        "insufficient_role",
    )
    await implemented(client, story, agent_key)
    response = await client.post(url, json=body, headers=user_key.headers)
    [result] = response.json()["data"]
    assert result["error"]["code"] == "invalid_transition"
    shown = data_of(await client.get(f"{S}/{story.id}", headers=user_key.headers))
    assert (shown["agent_status"], shown["verified_status"]) == ("implementing", "unverified")


async def test_bulk_verify_keeps_the_review_gate(
    client: httpx.AsyncClient, story: StoryRow, agent_key: Key, orchestrator_key: Key
) -> None:
    await implemented(client, story, agent_key)
    data_of(await post(client, story, "report", orchestrator_key))
    body = {"stories": [{"story_id": str(story.id)}]}
    url = f"{S}/bulk/verify"
    error_of(await client.post(url, json=body, headers=agent_key.headers), 403, "insufficient_role")
    response = await client.post(url, json=body, headers=orchestrator_key.headers)
    [result] = response.json()["data"]
    assert result["error"]["code"] == "review_required"


async def test_force_unclaim_then_backfill_does_not_launder_a_story(
    client: httpx.AsyncClient, story: StoryRow, agent_key: Key, orchestrator_key: Key, user_key: Key
) -> None:
    await implemented(client, story, agent_key)
    released = data_of(await post(client, story, "force-unclaim", orchestrator_key))
    assert (released["agent_status"], released["assigned_agent_id"]) == ("pending", None)
    error_of(await post(client, story, "backfill", user_key, BACKFILL), 409, "invalid_transition")


async def test_a_blocked_self_report_halts_nothing(
    client: httpx.AsyncClient, story: StoryRow, agent_key: Key, orchestrator_key: Key, user_key: Key
) -> None:
    await implemented(client, story, agent_key)
    for _ in range(3):
        error_of(await post(client, story, "report", agent_key), 409, "self_report_blocked")
    data_of(await client.get("/api/v1/tenants/me", headers=user_key.headers))
    data_of(await post(client, story, "heartbeat", agent_key))
    reported = data_of(await post(client, story, "report", orchestrator_key))
    assert reported["agent_status"] == "reported_done"
