"""`loopctl mcp` as a subprocess, driven over stdio by the SDK's client, one key each."""

import shutil
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.client.conftest import Live, Roles
from tests.mcp.conftest import answer

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]

LOOPCTL = shutil.which("loopctl", path=str(Path(sys.executable).parent)) or "loopctl"


def _stdio(live: Live, tmp_path: Path, **keys: str) -> StdioServerParameters:
    env = {"LOOPCTL_SERVER": live.url, "LOOPCTL_DATA_DIR": str(tmp_path), **keys}
    return StdioServerParameters(command=LOOPCTL, args=["mcp"], env=env)


async def test_stdio_agent_claims_and_cannot_verify(
    live: Live, keys: Roles, tmp_path: Path
) -> None:
    with live.client(keys.orchestrator) as orch:
        project = orch.create_project("Stdio", f"stdio-{uuid4().hex[:8]}")
        epic = orch.create_epic(project.id, 1, "Epic")
        story = orch.create_story(epic.id, "1.1", "Over stdio")
    async with Client(_stdio(live, tmp_path, LOOPCTL_AGENT_KEY=keys.agent)) as agent:
        names = {tool.name for tool in (await agent.list_tools()).tools}
        assert "claim_next" in names
        assert "verify_story" not in names
        claimed = answer(await agent.call_tool("claim_next", {"project_id": str(project.id)}))
        assert claimed["id"] == str(story.id)
        refused = await agent.call_tool("verify_story", {"story_id": str(story.id)})
        assert answer(refused)["error"]["code"] == "insufficient_role"
    async with Client(_stdio(live, tmp_path, LOOPCTL_ORCH_KEY=keys.orchestrator)) as reviewer:
        names = {tool.name for tool in (await reviewer.list_tools()).tools}
        assert "verify_story" in names
        assert "claim_next" not in names
        taken = answer(await reviewer.call_tool("force_unclaim", {"story_id": str(story.id)}))
        assert taken["agent_status"] == "pending"


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
