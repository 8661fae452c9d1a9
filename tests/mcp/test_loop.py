"""The implementer loop and the verifier loop through MCP, two sessions with one key each,
on both backends (conftest.py); the result is read back over REST."""

import pytest

from tests.client.conftest import Live, Roles
from tests.mcp.conftest import Session
from tests.mcp.loops import answer, implement, plan, verified_over_rest, verify

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]


async def test_implementer_then_verifier_loop(live: Live, keys: Roles, session: Session) -> None:
    project, _, story = plan(live, keys)
    async with session(keys.agent) as agent:
        ready = answer(await agent.call_tool("list_ready_stories", {"project_id": project}))
        assert [row["id"] for row in ready["items"]] == [story]
        await implement(agent, project, story)
        own = await agent.call_tool("report_story", {"story_id": story})
        assert own.is_error
        error = answer(own)["error"]
        assert error["code"] == "self_report_blocked"
        assert error["message"].startswith("self_report_blocked: ")
    async with session(keys.orchestrator) as reviewer:
        await verify(reviewer, story)
        history = answer(await reviewer.call_tool("list_verifications", {"story_id": story}))
        assert [v["result"] for v in history] == ["pass"]
        criteria = answer(await reviewer.call_tool("get_acceptance_criteria", {"story_id": story}))
        assert [c["result"] for c in criteria] == ["passed"]
        trail = answer(await reviewer.call_tool("get_story_history", {"story_id": story}))
        actions = [entry["action"] for entry in trail["items"]]
        assert actions[0] == "created"
        assert actions[-1] == "verified"
        # The refused self-report was recorded though refused (kept with its audit entry).
        assert "self_report_blocked" in actions, actions
    assert verified_over_rest(live, keys, story)


async def test_contract_claim_and_unclaim(live: Live, keys: Roles, session: Session) -> None:
    _, _, story = plan(live, keys)
    async with session(keys.agent) as agent:
        bad = await agent.call_tool(
            "contract_story", {"story_id": story, "story_title": "Pay by card", "ac_count": 5}
        )
        assert bad.is_error
        assert answer(bad)["error"]["code"] == "contract_mismatch"
        good = {"story_id": story, "story_title": "Pay by card", "ac_count": 1}
        assert answer(await agent.call_tool("contract_story", good))["agent_status"] == (
            "contracted"
        )
        claimed = answer(await agent.call_tool("claim_story", {"story_id": story}))
        assert claimed["lease_token"] >= 1
        stale = {"story_id": story, "lease_token": claimed["lease_token"] + 1}
        assert answer(await agent.call_tool("start_story", stale))["error"]["code"] == "lease_lost"
        evidence = {"story_id": story, "artifact_type": "commit", "path": "abc1234"}
        assert answer(await agent.call_tool("add_artifact", evidence))["path"] == "abc1234"
        listed = answer(await agent.call_tool("list_artifacts", {"story_id": story}))
        assert [a["path"] for a in listed] == ["abc1234"]
        back = answer(await agent.call_tool("unclaim_story", {"story_id": story}))
        assert back["agent_status"] == "pending"


async def test_reject_and_force_unclaim(live: Live, keys: Roles, session: Session) -> None:
    project, _, story = plan(live, keys)
    async with session(keys.agent) as agent:
        await implement(agent, project, story)
    async with session(keys.orchestrator) as reviewer:
        answer(await reviewer.call_tool("report_story", {"story_id": story}))
        rejected = answer(
            await reviewer.call_tool("reject_story", {"story_id": story, "reason": "no tests"})
        )
        assert (rejected["agent_status"], rejected["verified_status"]) == ("pending", "rejected")
    async with session(keys.agent) as agent:
        answer(await agent.call_tool("claim_next", {"project_id": project}))
    async with session(keys.orchestrator) as reviewer:
        taken = answer(await reviewer.call_tool("force_unclaim", {"story_id": story}))
        assert taken["agent_status"] == "pending"


async def test_verify_all_in_epic(live: Live, keys: Roles, session: Session) -> None:
    project, epic, story = plan(live, keys)
    async with session(keys.agent) as agent:
        await implement(agent, project, story)
    async with session(keys.orchestrator) as reviewer:
        answer(await reviewer.call_tool("report_story", {"story_id": story}))
        review = {"story_id": story, "review_type": "single_reviewer"}
        answer(await reviewer.call_tool("review_complete", review))
        done = answer(await reviewer.call_tool("verify_all_in_epic", {"epic_id": epic}))
        assert (done["verified_count"], done["errors"]) == (1, [])
    assert verified_over_rest(live, keys, story)


async def test_a_user_backfills_work_done_before(live: Live, keys: Roles, session: Session) -> None:
    _, _, story = plan(live, keys)
    async with session(keys.user) as human:
        bare = {"story_id": story, "reason": "shipped in 2024"}
        refused = answer(await human.call_tool("backfill_story", bare))["error"]
        assert refused["code"] == "validation_error"
        assert [e["field"] for e in refused["details"]["errors"]] == ["arguments"]
        evidence = {**bare, "evidence": "PR 7, merged", "pr_number": 7}
        done = answer(await human.call_tool("backfill_story", evidence))
        assert done.get("verified_status") == "verified", done
