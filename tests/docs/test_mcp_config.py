"""The repository's `.mcp.json`, Claude Code's configuration for loopctl's MCP server.

It names no key, only the environment (one key per process: the key of whoever starts
`claude`), and, expanded the way Claude Code expands it (``${VAR}``, ``${VAR:-default}``),
starts a `loopctl mcp` serving the tools of that key's role. The HTTP alternative that
docs/mcp.md gives is checked the same way against the server's `/mcp`.
"""

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.docs.conftest import Live
from tests.docs.examples import FENCE, ROOT

CONFIG = ROOT / ".mcp.json"
MCP_PAGE = ROOT / "docs" / "mcp.md"
REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
VENV_BIN = str(Path(sys.executable).parent)


def expand(text: str, env: dict[str, str]) -> str:
    """Claude Code's expansion: ``${VAR}`` must be set; ``${VAR:-default}`` falls back."""

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if env.get(name):
            return env[name]
        if default is None:
            raise KeyError(f"{name} is not set and has no default")
        return default

    return REFERENCE.sub(value, text)


def _entry() -> dict[str, Any]:
    servers: dict[str, Any] = json.loads(CONFIG.read_text())["mcpServers"]
    assert list(servers) == ["loopctl"]
    entry: dict[str, Any] = servers["loopctl"]
    return entry


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_it_names_no_key_only_the_environment() -> None:
    config = json.loads(CONFIG.read_text())
    assert not any("lc_" in s for s in _strings(config))
    env = _entry()["env"]
    keys = {name: value for name, value in env.items() if "KEY" in name}
    assert keys == {"LOOPCTL_API_KEY": "${LOOPCTL_API_KEY:-}"}
    assert _entry()["args"] == ["mcp"]


def _server(live: Live, shell: dict[str, str]) -> StdioServerParameters:
    entry = _entry()
    command = shutil.which(expand(entry["command"], shell), path=VENV_BIN)
    assert command is not None
    env = {name: expand(value, shell) for name, value in entry["env"].items()}
    # What the process would find around it on a machine where `make serve` runs.
    env |= {
        "PATH": VENV_BIN,
        "HOME": str(live.home),
        "LOOPCTL_DATA_DIR": live.env["LOOPCTL_DATA_DIR"],
    }
    return StdioServerParameters(
        command=command, args=[expand(a, shell) for a in entry["args"]], env=env
    )


async def _tools(live: Live, shell: dict[str, str]) -> set[str]:
    async with Client(_server(live, shell)) as client:
        return {tool.name for tool in (await client.list_tools()).tools}


@pytest.mark.slow
@pytest.mark.xdist_group("docs")
async def test_claude_code_gets_the_tools_of_the_key_it_was_started_with(live: Live) -> None:
    server = {"LOOPCTL_SERVER": live.server.url}
    agent = await _tools(live, server | {"LOOPCTL_API_KEY": live.env["LOOPCTL_AGENT_KEY"]})
    assert "claim_next" in agent
    assert "verify_story" not in agent
    orchestrator = await _tools(live, server | {"LOOPCTL_API_KEY": live.env["LOOPCTL_ORCH_KEY"]})
    assert "verify_story" in orchestrator
    assert "claim_next" not in orchestrator
    # No key variable at all: the key the local server saved (a user key).
    local = await _tools(live, server)
    assert "verify_story" in local


def _http_entry() -> dict[str, Any]:
    """The ```json block of docs/mcp.md whose entry is of type http."""
    lines = MCP_PAGE.read_text().splitlines()
    blocks: list[str] = []
    inside: list[str] | None = None
    for line in lines:
        opening = FENCE.match(line)
        if inside is None and opening is not None and opening.group(2) == "json":
            inside = []
        elif inside is not None and line.strip().startswith("```"):
            blocks.append("\n".join(inside))
            inside = None
        elif inside is not None:
            inside.append(line)
    entries = [
        entry
        for block in blocks
        for entry in json.loads(block).get("mcpServers", {}).values()
        if entry.get("type") == "http"
    ]
    assert len(entries) == 1, entries
    found: dict[str, Any] = entries[0]
    return found


def test_the_http_alternative_names_no_key_either() -> None:
    entry = _http_entry()
    assert not any("lc_" in s for s in _strings(entry))
    assert entry["headers"] == {"Authorization": "Bearer ${LOOPCTL_API_KEY}"}


async def _http_tools(shell: dict[str, str]) -> set[str]:
    entry = _http_entry()
    url = expand(entry["url"], shell)
    headers = {name: expand(value, shell) for name, value in entry["headers"].items()}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        return {tool.name for tool in (await client.list_tools()).tools}


@pytest.mark.slow
@pytest.mark.xdist_group("docs")
async def test_the_http_alternative_gets_the_tools_of_its_key(live: Live) -> None:
    server = {"LOOPCTL_SERVER": live.server.url}
    agent = await _http_tools(server | {"LOOPCTL_API_KEY": live.env["LOOPCTL_AGENT_KEY"]})
    assert "claim_next" in agent
    assert "verify_story" not in agent
    orchestrator = await _http_tools(server | {"LOOPCTL_API_KEY": live.env["LOOPCTL_ORCH_KEY"]})
    assert "verify_story" in orchestrator
    assert "claim_next" not in orchestrator


def test_the_expansion_is_claude_codes() -> None:
    assert expand("${A:-x}/${B}", {"B": "b"}) == "x/b"
    assert expand("${A:-}", {}) == ""
    with pytest.raises(KeyError):
        expand("${A}", {})
