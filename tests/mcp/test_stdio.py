"""`loopctl mcp` as a subprocess, driven over stdio by the SDK's client, one key each."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.client.conftest import Live, Roles
from tests.mcp.loops import answer, implement, plan, verified_over_rest, verify

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]

LOOPCTL = shutil.which("loopctl", path=str(Path(sys.executable).parent)) or "loopctl"


def _stdio(live: Live, tmp_path: Path, **keys: str) -> StdioServerParameters:
    env = {"LOOPCTL_SERVER": live.url, "LOOPCTL_DATA_DIR": str(tmp_path), **keys}
    return StdioServerParameters(command=LOOPCTL, args=["mcp"], env=env)


async def test_both_loops_over_stdio(live: Live, keys: Roles, tmp_path: Path) -> None:
    project, _, story = plan(live, keys, "stdio")
    async with Client(_stdio(live, tmp_path, LOOPCTL_AGENT_KEY=keys.agent)) as agent:
        names = {tool.name for tool in (await agent.list_tools()).tools}
        assert {"claim_next", "start_story", "request_review"} <= names
        assert not names & {"verify_story", "reject_story", "backfill_story"}
        await implement(agent, project, story)
        refused = await agent.call_tool("verify_story", {"story_id": story})
        assert answer(refused)["error"]["code"] == "insufficient_role"
    async with Client(_stdio(live, tmp_path, LOOPCTL_ORCH_KEY=keys.orchestrator)) as reviewer:
        names = {tool.name for tool in (await reviewer.list_tools()).tools}
        assert {"report_story", "review_complete", "verify_story"} <= names
        assert not names & {"claim_next", "claim_story", "start_story"}
        await verify(reviewer, story)
    assert verified_over_rest(live, keys, story)


def test_two_keys_are_refused(live: Live, keys: Roles) -> None:
    env = {
        "PATH": str(Path(sys.executable).parent),
        "LOOPCTL_SERVER": live.url,
        "LOOPCTL_AGENT_KEY": keys.agent,
        "LOOPCTL_ORCH_KEY": keys.orchestrator,
    }
    done = subprocess.run(
        [LOOPCTL, "mcp"], env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert b"two_keys" in done.stderr
    assert keys.agent.encode() not in done.stderr + done.stdout


def test_no_key_is_refused(live: Live, tmp_path: Path) -> None:
    env = {"LOOPCTL_SERVER": live.url, "LOOPCTL_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [LOOPCTL, "mcp"], env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60
    )
    assert done.returncode == 3, done.stderr
