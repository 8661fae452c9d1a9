"""The read tools, the change feed with its cursor, and the orchestrator's checkpoints, on
both backends: the capabilities an agent or an orchestrator has besides the loop."""

import pytest

from tests.client.conftest import Live, Roles
from tests.mcp.conftest import Session
from tests.mcp.loops import answer, implement, plan

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]


async def test_project_reads_and_blocked_stories(live: Live, keys: Roles, session: Session) -> None:
    project, epic, story = plan(live, keys)
    with live.client(keys.orchestrator) as orch:
        later = orch.create_story(epic, "1.2", "Refund a card payment")
        orch.add_story_dependency(later.id, story)
    async with session(keys.agent) as agent:
        detail = answer(await agent.call_tool("get_project", {"project_id": project}))
        assert (detail["id"], detail["story_count"]) == (project, 2)
        assert "metadata" not in detail
        progress = answer(await agent.call_tool("get_progress", {"project_id": project}))
        assert progress["project_id"] == project
        blocked = answer(await agent.call_tool("list_blocked_stories", {"project_id": project}))
        assert [row["id"] for row in blocked["items"]] == [str(later.id)]
        assert [s["id"] for s in blocked["items"][0]["blocked_by"]["stories"]] == [story]
        page = {"project_id": project, "limit": 1}
        first = answer(await agent.call_tool("list_stories", page))
        assert (len(first["items"]), first["total"], first["next_offset"]) == (1, 2, 1)
        rest = answer(await agent.call_tool("list_stories", {**page, "offset": 1}))
        assert rest["next_offset"] is None


async def test_the_change_feed_resumes_from_its_cursor(
    live: Live, keys: Roles, session: Session
) -> None:
    project, _, story = plan(live, keys)
    async with session(keys.orchestrator) as reviewer:
        scope = {"project_id": project, "entity_type": "story"}
        seen = answer(await reviewer.call_tool("get_changes", scope))
        assert [(e["entity_id"], e["action"]) for e in seen["items"]] == [(story, "created")]
        cursor = seen["next_cursor"]
        quiet = answer(await reviewer.call_tool("get_changes", {**scope, "cursor": cursor}))
        assert (quiet["items"], quiet["has_more"]) == ([], False)
    async with session(keys.agent) as agent:
        await implement(agent, project, story)
    async with session(keys.orchestrator) as reviewer:
        after = answer(await reviewer.call_tool("get_changes", {**scope, "cursor": cursor}))
        actions = [e["action"] for e in after["items"]]
        assert actions[-2:] == ["lease_extended", "review_requested"], actions
        assert actions.count("status_changed") == 3, actions  # contract, claim, start
        assert all(e["entity_id"] == story for e in after["items"])


async def test_checkpoints_save_load_and_history(live: Live, keys: Roles, session: Session) -> None:
    project, _, _ = plan(live, keys)
    async with session(keys.orchestrator) as reviewer:
        missing = answer(await reviewer.call_tool("load_state", {"project_id": project}))
        assert missing["error"]["code"] == "orchestrator_state_not_found"
        first = {"project_id": project, "state_data": {"wave": 1}, "cursor": "0.0"}
        assert answer(await reviewer.call_tool("save_state", first))["version"] == 1
        stale = answer(await reviewer.call_tool("save_state", {**first, "version": 0}))
        assert stale["error"]["code"] == "version_conflict"
        second = {"project_id": project, "state_data": {"wave": 2}, "version": 1}
        assert answer(await reviewer.call_tool("save_state", second))["version"] == 2
        loaded = answer(await reviewer.call_tool("load_state", {"project_id": project}))
        assert (loaded["version"], loaded["state_data"]) == (2, {"wave": 2})
        history = answer(await reviewer.call_tool("list_state_history", {"project_id": project}))
        assert [v["version"] for v in history["items"]] == [2, 1]
        assert history["items"][1]["cursor"] == "0.0"
        event = {"event_type": "wave_done", "project_id": project, "data": {"wave": 2}}
        logged = answer(await reviewer.call_tool("record_event", event))
        assert (logged["entity_type"], logged["action"]) == ("orchestrator_event", "wave_done")
