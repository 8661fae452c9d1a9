"""Refusals come back as tool errors with our code, on both backends: bad arguments, another
tenant's ids, the server's own rules. Never a protocol error, never a 500."""

from typing import Any

import pytest
from mcp import Client

from tests.client.conftest import Live, Roles
from tests.mcp.conftest import Foreign, Session
from tests.mcp.loops import answer, plan

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]

NOBODY = "00000000-0000-0000-0000-000000000000"


async def _error(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert result.is_error, result
    error: dict[str, Any] = answer(result)["error"]
    assert error["message"].startswith(f"{error['code']}: "), error
    return error


def _fields(error: dict[str, Any]) -> list[str]:
    assert error["code"] == "validation_error", error
    return [e["field"] for e in error["details"]["errors"]]


async def test_bad_arguments_are_validation_errors(
    live: Live, keys: Roles, session: Session
) -> None:
    project, _, story = plan(live, keys)
    async with session(keys.agent) as agent:
        assert _fields(await _error(agent, "get_story", {})) == ["story_id"]
        assert _fields(await _error(agent, "get_story", {"story_id": "story-1"})) == ["story_id"]
        assert _fields(await _error(agent, "get_story", {"story_id": 12})) == ["story_id"]
        lease = {"story_id": story, "lease": 3}
        assert _fields(await _error(agent, "start_story", lease)) == ["lease"]
        wrong = {"project_id": project, "agent_status": "finished", "limit": 500}
        assert set(_fields(await _error(agent, "list_stories", wrong))) == {
            "agent_status",
            "limit",
        }
        far = {"offset": 10**12}
        assert _fields(await _error(agent, "list_projects", far)) == ["offset"]
        assert _fields(await _error(agent, "list_ready_stories", far)) == ["offset"]
        unanchored = {"project_id": project, "cursor": "yesterday"}
        assert _fields(await _error(agent, "get_changes", unanchored)) == ["cursor"]
    async with session(keys.orchestrator) as reviewer:
        checks = [{"id": "no spaces allowed", "result": "passed"}]
        bad = {"story_id": story, "criteria": checks}
        assert _fields(await _error(reviewer, "verify_story", bad)) == ["criteria[0].id"]
        huge = {"story_id": story, "review_type": "x" * 5000}
        assert _fields(await _error(reviewer, "review_complete", huge)) == ["review_type"]
        state = {"project_id": project, "state_data": {}, "state_key": " "}
        assert _fields(await _error(reviewer, "save_state", state)) == ["state_key"]


async def test_another_tenants_ids_are_not_found(
    keys: Roles, session: Session, foreign: Foreign
) -> None:
    async with session(keys.agent) as agent:
        for tool in ("get_story", "claim_story", "list_artifacts", "get_story_history"):
            error = await _error(agent, tool, {"story_id": foreign.story_id})
            assert error["code"] == "story_not_found", (tool, error)
        error = await _error(agent, "claim_next", {"project_id": foreign.project_id})
        assert error["code"] == "project_not_found"
        error = await _error(agent, "get_progress", {"project_id": foreign.project_id})
        assert error["code"] == "project_not_found"
        listed = answer(await agent.call_tool("list_projects", {"limit": 50}))
        assert foreign.project_id not in {p["id"] for p in listed["items"]}
    async with session(keys.orchestrator) as reviewer:
        error = await _error(reviewer, "verify_story", {"story_id": foreign.story_id})
        assert error["code"] == "story_not_found"
        error = await _error(reviewer, "verify_all_in_epic", {"epic_id": foreign.epic_id})
        assert error["code"] == "epic_not_found"
        theirs = {"project_id": foreign.project_id, "state_data": {"step": 1}}
        assert (await _error(reviewer, "save_state", theirs))["code"] == "project_not_found"


async def test_a_hidden_tool_called_by_name_is_refused(session: Session, keys: Roles) -> None:
    async with session(keys.agent) as agent:
        for tool in ("verify_story", "reject_story", "backfill_story", "save_state"):
            error = await _error(agent, tool, {"story_id": NOBODY})
            assert (error["code"], error["details"]) == ("insufficient_role", {"role": "agent"})
        assert (await _error(agent, "delete_everything", {}))["code"] == "unknown_tool"
    async with session(keys.orchestrator) as reviewer:
        for tool in ("claim_story", "claim_next", "start_story", "contract_story"):
            error = await _error(reviewer, tool, {"story_id": NOBODY})
            assert error["code"] == "insufficient_role", tool


async def test_the_servers_rules_are_tool_errors(session: Session, keys: Roles) -> None:
    async with session(keys.agent) as agent:
        assert (await _error(agent, "get_story", {"story_id": NOBODY}))["code"] == (
            "story_not_found"
        )
        assert (await _error(agent, "start_story", {"story_id": NOBODY}))["code"] == (
            "story_not_found"
        )


def _hostile(schema: dict[str, Any], story: str) -> dict[str, Any]:
    """Every argument of a tool, each at a value that passes its schema's type but no rule:
    integers past any column, strings with NUL, empty nested objects; ids that exist."""
    values: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        if prop.get("format") == "uuid":
            values[name] = story
        elif prop.get("type") == "integer":
            values[name] = 2**70
        elif prop.get("type") == "array":
            values[name] = [{"id": "\x00", "result": "passed", "evidence": "\x00"}]
        elif prop.get("type") == "object":
            values[name] = {"\x00": "\x00" * 3}
        elif "enum" in prop:
            values[name] = prop["enum"][0]
        else:
            values[name] = "\x00bad"
    return values


async def test_no_argument_value_reaches_the_database_unchecked(
    live: Live, keys: Roles, session: Session
) -> None:
    _, _, story = plan(live, keys)
    for key, role in ((keys.agent, "agent"), (keys.orchestrator, "orchestrator")):
        async with session(key) as client:
            for tool in (await client.list_tools()).tools:
                args = _hostile(tool.input_schema, story)
                result = await client.call_tool(tool.name, args)
                code = answer(result).get("error", {}).get("code") if result.is_error else None
                assert code not in ("internal_error", "query_timeout"), (role, tool.name, args)
