"""The implementer loop and the verifier loop through MCP: two sessions, one key each."""

from uuid import uuid4

import pytest

from tests.client.conftest import Live, Roles
from tests.mcp.conftest import Session, answer

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]

CRITERIA = [{"criterion": "a card payment succeeds"}]


def _plan(live: Live, keys: Roles) -> tuple[str, str]:
    """A project with one story, planned through the typed client: (project id, story id)."""
    with live.client(keys.orchestrator) as orch:
        project = orch.create_project("MCP loop", f"mcp-{uuid4().hex[:8]}")
        epic = orch.create_epic(project.id, 1, "Checkout")
        story = orch.create_story(epic.id, "1.1", "Pay by card", acceptance_criteria=CRITERIA)
        return str(project.id), str(story.id)


async def test_implementer_then_verifier_loop(live: Live, keys: Roles, session: Session) -> None:
    project, story = _plan(live, keys)
    async with session(keys.agent) as agent:
        ready = answer(await agent.call_tool("list_ready_stories", {"project_id": project}))
        assert [row["id"] for row in ready["items"]] == [story]
        claimed = answer(await agent.call_tool("claim_next", {"project_id": project}))
        assert (claimed["id"], claimed["agent_status"]) == (story, "assigned")
        lease = {"story_id": story, "lease_token": claimed["lease_token"]}
        started = answer(await agent.call_tool("start_story", lease))
        assert started["agent_status"] == "implementing"
        answer(await agent.call_tool("heartbeat", lease))
        reviewed = answer(await agent.call_tool("request_review", lease))
        assert reviewed["agent_status"] == "implementing"
        own = await agent.call_tool("report_story", {"story_id": story})
        assert own.is_error
        error = answer(own)["error"]
        assert error["code"] == "self_report_blocked"
        assert error["message"].startswith("self_report_blocked: ")
    async with session(keys.orchestrator) as reviewer:
        reported = answer(await reviewer.call_tool("report_story", {"story_id": story}))
        assert reported["agent_status"] == "reported_done"
        review = {"story_id": story, "review_type": "single_reviewer", "summary": "read it"}
        assert answer(await reviewer.call_tool("review_complete", review))["findings_count"] == 0
        detail = answer(await reviewer.call_tool("get_story", {"story_id": story}))
        criterion = detail["acceptance_criteria"][0]["id"]
        checks = [
            {"id": criterion, "result": "passed", "evidence": "pytest tests/pay -q: 3 passed"}
        ]
        verified = answer(
            await reviewer.call_tool(
                "verify_story", {"story_id": story, "criteria": checks, "summary": "ok"}
            )
        )
        assert verified.get("verified_status") == "verified", verified
        history = answer(await reviewer.call_tool("list_verifications", {"story_id": story}))
        assert [v["result"] for v in history] == ["pass"]
        criteria = answer(await reviewer.call_tool("get_acceptance_criteria", {"story_id": story}))
        assert [(c["id"], c["result"]) for c in criteria] == [(criterion, "passed")]


async def test_contract_claim_and_unclaim(live: Live, keys: Roles, session: Session) -> None:
    _, story = _plan(live, keys)
    async with session(keys.agent) as agent:
        bad = await agent.call_tool(
            "contract_story", {"story_id": story, "story_title": "Pay by card", "ac_count": 5}
        )
        assert bad.is_error
        good = {"story_id": story, "story_title": "Pay by card", "ac_count": 1}
        assert answer(await agent.call_tool("contract_story", good))["agent_status"] == (
            "contracted"
        )
        claimed = answer(await agent.call_tool("claim_story", {"story_id": story}))
        assert claimed["lease_token"] >= 1
        back = answer(await agent.call_tool("unclaim_story", {"story_id": story}))
        assert back["agent_status"] != "assigned"
