"""A live `loopctl serve` (the client tests' fixture) and MCP sessions on it, one key each."""

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from mcp import Client

from loopctl.client import AsyncClient
from loopctl.mcp.server import build, role_of
from tests.cli.conftest import silent  # noqa: F401 - the client fixture needs it
from tests.client.conftest import QUICK, Live, Roles, keys, live  # noqa: F401 - shared fixtures

Session = Callable[[str], AbstractAsyncContextManager[Client]]


@pytest.fixture
def session(live: Live) -> Session:  # noqa: F811 - the imported fixture
    """An in-memory MCP session on our server object, with a real HTTP client underneath."""

    @asynccontextmanager
    async def connect(key: str) -> AsyncIterator[Client]:
        async with AsyncClient(live.url, key, retry=QUICK) as http:
            server = build(http, await role_of(http))
            async with Client(server) as client:
                yield client

    return connect


def answer(result: Any) -> Any:
    """The JSON a tool result carries (text content)."""
    return json.loads(result.content[0].text)
