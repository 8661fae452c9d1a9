"""``loopctl mcp``: the tools on stdio, each sent through one ``AsyncClient`` (one key)."""

import os
from collections.abc import Mapping
from typing import Any

import anyio
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from loopctl.client import AsyncClient, ConfigurationError, LoopctlError
from loopctl.client.sources import KEY_VARIABLES
from loopctl.mcp.calls import INSTRUCTIONS, ToolFailure, call, listing
from loopctl.mcp.tools import Args, Tool
from loopctl.platform.config import VERSION


def build(client: AsyncClient, role: str) -> Server[Any]:
    """A server whose tools are those of ``role``, each sent through ``client``."""

    async def run(tool: Tool, args: Args) -> Any:
        try:
            return await tool.run(client, args)
        except LoopctlError as exc:
            raise ToolFailure(exc.code, exc.message, exc.details) from exc

    async def list_tools(_ctx: Any, _params: Any) -> types.ListToolsResult:
        return listing(role)

    async def call_tool(_ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        return await call(role, params.name, params.arguments, run)

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
