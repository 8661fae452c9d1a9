"""The implementer's and the verifier's loop through MCP tools, shared by every transport."""

import json
from typing import Any
from uuid import uuid4

from mcp import Client

from tests.client.conftest import Live, Roles

CRITERIA = [{"criterion": "a card payment succeeds"}]


def answer(result: Any) -> Any:
    """The JSON a tool result carries (text content)."""
    return json.loads(result.content[0].text)


def plan(live: Live, keys: Roles, prefix: str = "mcp") -> tuple[str, str, str]:
    """A project with one epic and one story, planned through the typed client:
    (project id, epic id, story id)."""
    with live.client(keys.orchestrator) as orch:
        project = orch.create_project("MCP loop", f"{prefix}-{uuid4().hex[:8]}")
        epic = orch.create_epic(project.id, 1, "Checkout")
        story = orch.create_story(epic.id, "1.1", "Pay by card", acceptance_criteria=CRITERIA)
        return str(project.id), str(epic.id), str(story.id)


async def implement(agent: Client, project: str, story: str) -> None:
    """claim_next, start_story, heartbeat, request_review: the implementer's whole loop."""
    claimed = answer(await agent.call_tool("claim_next", {"project_id": project}))
    assert (claimed["id"], claimed["agent_status"]) == (story, "assigned"), claimed
    lease = {"story_id": story, "lease_token": claimed["lease_token"]}
    started = answer(await agent.call_tool("start_story", lease))
    assert started["agent_status"] == "implementing", started
    assert answer(await agent.call_tool("heartbeat", lease))["lease_expires_at"]
    reviewed = answer(await agent.call_tool("request_review", lease))
    assert reviewed["agent_status"] == "implementing", reviewed


async def verify(reviewer: Client, story: str) -> None:
    """report_story, review_complete, verify_story with evidence: the verifier's loop."""
    reported = answer(await reviewer.call_tool("report_story", {"story_id": story}))
    assert reported["agent_status"] == "reported_done", reported
    review = {"story_id": story, "review_type": "single_reviewer", "summary": "read it"}
    assert answer(await reviewer.call_tool("review_complete", review))["findings_count"] == 0
    detail = answer(await reviewer.call_tool("get_story", {"story_id": story}))
    criterion = detail["acceptance_criteria"][0]["id"]
    checks = [{"id": criterion, "result": "passed", "evidence": "pytest tests/pay -q: 3 passed"}]
    verdict = {"story_id": story, "criteria": checks, "summary": "ok"}
    verified = answer(await reviewer.call_tool("verify_story", verdict))
    assert verified.get("verified_status") == "verified", verified


def verified_over_rest(live: Live, keys: Roles, story: str) -> bool:
    """What the REST API says, read with the typed client: is the story verified?"""
    with live.client(keys.orchestrator) as orch:
        return orch.get_story(story).verified_status == "verified"
