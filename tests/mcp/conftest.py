"""A live `loopctl serve` (the client tests' fixture) and MCP sessions on it, one key each.

``session`` is parametrized over the two backends: ``client`` is the stdio server's object
(its tools call the REST API through the Python client), connected in memory; ``http`` is
the server's own ``/mcp`` over streamable HTTP (its tools call the services directly).
test_stdio.py drives the real ``loopctl mcp`` subprocess.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from uuid import uuid4

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from loopctl.client import AsyncClient
from loopctl.mcp.server import build, role_of
from tests.cli.conftest import silent  # noqa: F401 - the client fixture needs it
from tests.client.conftest import QUICK, Live, Roles, keys, live  # noqa: F401 - shared fixtures

Session = Callable[[str], AbstractAsyncContextManager[Client]]


@asynccontextmanager
async def http_client(live: Live, key: str) -> AsyncIterator[Client]:  # noqa: F811 - the fixture's name
    """An SDK client on the server's /mcp, sending ``key`` as the bearer key."""
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(f"{live.url}/mcp", http_client=http)
        async with Client(transport) as client:
            yield client


@pytest.fixture(params=["client", "http"])
def session(request: pytest.FixtureRequest, live: Live) -> Session:  # noqa: F811
    """An MCP session for a key, on the backend the parameter names."""

    @asynccontextmanager
    async def over_client(key: str) -> AsyncIterator[Client]:
        async with AsyncClient(live.url, key, retry=QUICK) as http:
            server = build(http, await role_of(http))
            async with Client(server) as client:
                yield client

    @asynccontextmanager
    async def over_http(key: str) -> AsyncIterator[Client]:
        async with http_client(live, key) as client:
            yield client

    return over_http if request.param == "http" else over_client


@dataclass(frozen=True)
class Foreign:
    """Another tenant's project and story, for the isolation tests."""

    project_id: str
    epic_id: str
    story_id: str


@pytest.fixture(scope="package")
def foreign(live: Live) -> Foreign:  # noqa: F811
    with live.client(None) as anonymous:
        signed = anonymous.register_tenant("Elsewhere", f"else-{uuid4().hex[:8]}")
    with live.client(signed.api_key.raw_key) as owner:
        project = owner.create_project("Theirs", f"theirs-{uuid4().hex[:8]}")
        epic = owner.create_epic(project.id, 1, "Theirs")
        story = owner.create_story(epic.id, "1.1", "Not yours")
    return Foreign(str(project.id), str(epic.id), str(story.id))
