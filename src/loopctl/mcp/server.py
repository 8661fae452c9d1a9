"""The MCP server over one ``AsyncClient``: list and call handlers, errors as tool errors."""

import json
import os
from collections.abc import Mapping
from typing import Any

import anyio
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from loopctl.client import AsyncClient, ConfigurationError, LoopctlError
from loopctl.client.sources import KEY_VARIABLES
from loopctl.mcp.catalogue import BY_NAME, visible
from loopctl.platform.config import VERSION

INSTRUCTIONS = (
    "loopctl is the shared record of this project's stories. Implementers: claim_next, "
    "start_story, work, heartbeat, request_review. Reviewers: report_story, review_complete, "
    "verify_story or reject_story. Errors carry a stable code; read it and correct the call."
)


def _text(value: Any, *, error: bool = False) -> types.CallToolResult:
    body = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return types.CallToolResult(content=[types.TextContent(type="text", text=body)], is_error=error)


def _error(
    code: str, message: str, details: Mapping[str, Any] | None = None
) -> types.CallToolResult:
    body: dict[str, Any] = {"code": code, "message": f"{code}: {message}"}
    if details:
        body["details"] = dict(details)
    return _text({"error": body}, error=True)


def build(client: AsyncClient, role: str) -> Server[Any]:
    """A server whose tools are those of ``role``, each sent through ``client``."""
    tools = visible(role)
    names = {tool.name for tool in tools}
    listing = [
        types.Tool(name=t.name, description=t.description, input_schema=t.schema) for t in tools
    ]

    async def list_tools(_ctx: Any, _params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listing)

    async def call_tool(_ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        name = params.name
        if name not in BY_NAME:
            return _error("unknown_tool", f"there is no tool named {name!r}")
        if name not in names:
            return _error("insufficient_role", f"{name} is not available to a key of role {role}")
        try:
            return _text(await BY_NAME[name].run(client, dict(params.arguments or {})))
        except KeyError as exc:
            return _error("validation_error", f"missing argument {exc.args[0]!r}")
        except LoopctlError as exc:
            return _error(exc.code, exc.message, exc.details)

    return Server(
        "loopctl",
        version=VERSION,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def single_key(env: Mapping[str, str]) -> None:
    """Refuse two different keys: one process never holds both implementer and reviewer keys."""
    values = {env[name].strip() for name in KEY_VARIABLES if env.get(name, "").strip()}
    if len(values) > 1:
        set_names = [name for name in KEY_VARIABLES if env.get(name, "").strip()]
        raise ConfigurationError(
            "two_keys",
            f"{', '.join(set_names)} are all set: run one `loopctl mcp` per key "
            "(an implementer entry and a reviewer entry), never one holding both",
        )


async def role_of(client: AsyncClient) -> str:
    """The key's role, as the server knows it (no key: the server answers 401)."""
    return (await client.get_my_api_key()).role


async def serve_stdio(env: Mapping[str, str] | None = None) -> None:
    """``loopctl mcp``: learn the key's role, then serve its tools on stdin/stdout."""
    env = os.environ if env is None else env
    single_key(env)
    async with AsyncClient.from_env(env) as client:
        server = build(client, await role_of(client))
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())


def run_stdio() -> None:
    anyio.run(serve_stdio)
