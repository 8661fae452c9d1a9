"""Each key sees its role's tools only, and a hidden tool called by name is refused."""

import pytest

from tests.client.conftest import Roles
from tests.mcp.conftest import Session
from tests.mcp.loops import answer

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]

SHARED = {
    "list_projects", "get_project", "get_progress", "list_stories", "list_ready_stories",
    "list_blocked_stories", "get_story", "get_story_history", "list_artifacts",
    "get_acceptance_criteria", "get_changes", "report_story",
}  # fmt: skip
IMPLEMENTER = SHARED | {
    "claim_next", "contract_story", "claim_story", "start_story", "heartbeat", "request_review",
    "unclaim_story", "add_artifact",
}  # fmt: skip
REVIEWER = SHARED | {
    "review_complete", "verify_story", "reject_story", "force_unclaim", "verify_all_in_epic",
    "list_verifications", "save_state", "load_state", "list_state_history", "record_event",
}  # fmt: skip
HUMAN = REVIEWER | {"backfill_story"}


async def _names(session: Session, key: str) -> set[str]:
    async with session(key) as client:
        return {tool.name for tool in (await client.list_tools()).tools}


async def test_an_agent_key_sees_the_implementer_tools(session: Session, keys: Roles) -> None:
    names = await _names(session, keys.agent)
    assert names == IMPLEMENTER
    assert not names & {"verify_story", "reject_story", "force_unclaim", "verify_all_in_epic"}


async def test_an_orchestrator_key_sees_the_reviewer_tools(session: Session, keys: Roles) -> None:
    names = await _names(session, keys.orchestrator)
    assert names == REVIEWER
    assert not names & {"claim_story", "claim_next", "start_story", "contract_story"}


async def test_a_user_key_also_sees_backfill(session: Session, keys: Roles) -> None:
    assert await _names(session, keys.user) == HUMAN


async def test_every_tool_says_when_to_use_it(session: Session, keys: Roles) -> None:
    async with session(keys.orchestrator) as client:
        for tool in (await client.list_tools()).tools:
            assert tool.description is not None
            assert len(tool.description) > 20, tool.name
            assert tool.input_schema["type"] == "object"


async def test_a_hidden_tool_called_by_name_is_refused(session: Session, keys: Roles) -> None:
    story = "00000000-0000-0000-0000-000000000000"
    async with session(keys.agent) as client:
        result = await client.call_tool("verify_story", {"story_id": story})
        assert result.is_error
        assert answer(result)["error"]["code"] == "insufficient_role"
        unknown = await client.call_tool("delete_everything", {})
        assert (unknown.is_error, answer(unknown)["error"]["code"]) == (True, "unknown_tool")
    async with session(keys.orchestrator) as client:
        result = await client.call_tool("claim_story", {"story_id": story})
        assert answer(result)["error"]["code"] == "insufficient_role"


async def test_a_server_error_is_a_tool_error_with_our_code(session: Session, keys: Roles) -> None:
    async with session(keys.agent) as client:
        missing = await client.call_tool(
            "get_story", {"story_id": "00000000-0000-0000-0000-000000000000"}
        )
        assert missing.is_error
        assert answer(missing)["error"]["code"] == "story_not_found"
        absent = await client.call_tool("get_story", {})
        assert answer(absent)["error"]["code"] == "validation_error"
