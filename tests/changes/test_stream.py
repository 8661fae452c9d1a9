"""GET /changes/stream: live events across two server processes, resume, tenants, errors."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from loopctl.changes import stream as stream_module
from loopctl.platform.app import create_app
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import Key, Tenant, make_key, make_tenant
from tests.fixtures.http import committed_runtime
from tests.fixtures.server import Server, external_env, free_port, start

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serve"), pytest.mark.realdb]
WAIT = 20.0


class Stream:
    """A Server-Sent Events reader over an open streaming response."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def next_event(self) -> dict[str, str]:
        event: dict[str, str] = {}
        async with asyncio.timeout(WAIT):
            async for line in self.lines:
                if not line:
                    if "data" in event:
                        return event
                    event = {}
                    continue
                name, _, value = line.partition(":")
                if name:  # a line starting with ":" is a comment (the heartbeat)
                    event[name] = value.removeprefix(" ")
        raise AssertionError("the stream ended")

    async def changes(self, count: int) -> list[dict[str, Any]]:
        out = []
        for _ in range(count):
            event = await self.next_event()
            assert event["event"] == "change"
            data = json.loads(event["data"])
            assert data["cursor"] == event["id"]
            out.append(data)
        return out


@asynccontextmanager
async def _stream(
    server: Server, key: Key, query: str = "", headers: dict[str, str] | None = None
) -> AsyncIterator[Stream]:
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=WAIT) as client,
        client.stream(
            "GET",
            f"/api/v1/changes/stream?{query}",
            headers={**key.headers, **(headers or {})},
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Stream(response)


async def _project(server: Server, key: Key, slug: str) -> str:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post(
            "/api/v1/projects", json={"name": slug, "slug": slug}, headers=key.headers
        )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def _keys(fresh_db: Urls, cluster: Cluster) -> tuple[Tenant, Key, Tenant, Key]:
    async with committed_runtime(fresh_db, cluster) as runtime:
        mine, theirs = await make_tenant(runtime), await make_tenant(runtime)
        return (
            mine,
            await make_key(runtime, mine, "orchestrator"),
            theirs,
            await make_key(runtime, theirs, "orchestrator"),
        )


async def test_a_stream_follows_commits_of_another_process_and_resumes_where_it_stopped(
    tmp_path: Path, cluster: Cluster, fresh_db: Urls, servers: list[Server]
) -> None:
    env = external_env(fresh_db, cluster)
    a = start(tmp_path / "a", env)
    servers.append(a)
    b = start(tmp_path / "b", env)
    servers.append(b)
    _mine, key, _theirs, their_key = await _keys(fresh_db, cluster)

    async with _stream(a, key, "entity_type=project") as stream:
        # Written through the other process: its commit's notification wakes this one.
        first = await _project(b, key, "first")
        await _project(b, their_key, "theirs")
        second = await _project(a, key, "second")
        seen = await stream.changes(2)
    assert [e["entity_id"] for e in seen] == [first, second]

    # Disconnected: what commits now is read on reconnecting with the last event's id,
    # from the other process, and nothing before it is sent again.
    missed = [await _project(b, key, f"missed-{n}") for n in range(3)]
    resumed = {"Last-Event-ID": seen[-1]["cursor"]}
    # The URL still carries the cursor it first connected with: Last-Event-ID wins over it.
    query = f"entity_type=project&cursor={seen[0]['cursor']}"
    async with _stream(b, key, query, resumed) as stream:
        again = await stream.changes(3)
        assert [e["entity_id"] for e in again] == missed
        later = await _project(a, key, "later")
        assert [e["entity_id"] for e in await stream.changes(1)] == [later]

    # A cursor in the URL alone resumes the same way.
    async with _stream(a, key, f"entity_type=project&cursor={again[0]['cursor']}") as stream:
        assert [e["entity_id"] for e in await stream.changes(3)] == [*missed[1:], later]


async def test_another_tenants_stream_gets_none_of_my_events(
    tmp_path: Path, cluster: Cluster, fresh_db: Urls, servers: list[Server]
) -> None:
    env = external_env(fresh_db, cluster)
    a = start(tmp_path / "a", env)
    servers.append(a)
    _mine, key, _theirs, their_key = await _keys(fresh_db, cluster)
    async with _stream(a, their_key) as theirs:
        # Their own setup (tenant, key) comes first; then only what they do.
        backlog: list[dict[str, Any]] = []
        mine = await _project(a, key, "mine")
        marker = await _project(a, their_key, "marker")
        while not backlog or backlog[-1]["entity_id"] != marker:
            backlog += await theirs.changes(1)
        assert mine not in {e["entity_id"] for e in backlog}
        assert {e["project_id"] for e in backlog} <= {None, marker}


async def test_bad_stream_requests_are_refused_before_streaming(
    tmp_path: Path, cluster: Cluster, fresh_db: Urls, servers: list[Server]
) -> None:
    env = external_env(fresh_db, cluster)
    a = start(tmp_path / "a", env)
    servers.append(a)
    _mine, key, _theirs, _their_key = await _keys(fresh_db, cluster)
    cases = [
        ({}, "", 401, "unauthorized"),
        (key.headers, "cursor=nope", 422, "validation_error"),
        (key.headers, "colour=red", 422, "validation_error"),
        ({**key.headers, "Last-Event-ID": "x"}, "", 422, "validation_error"),
        (key.headers, f"cursor=1.{'0' * 32}&since=2026-01-01T00:00:00Z", 422, "validation_error"),
    ]
    async with httpx.AsyncClient(base_url=a.url) as client:
        for headers, query, status, code in cases:
            response = await client.get(f"/api/v1/changes/stream?{query}", headers=headers)
            assert response.status_code == status, response.text
            assert response.json()["error"]["code"] == code


async def test_an_idle_stream_sends_heartbeats(
    cluster: Cluster, fresh_db: Urls, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In process, so the interval can be short: the app on a real server, real sockets.
    monkeypatch.setattr(stream_module, "HEARTBEAT_SECONDS", 0.2)
    _mine, key, _theirs, _their_key = await _keys(fresh_db, cluster)
    async with committed_runtime(fresh_db, cluster) as runtime:
        app = create_app(runtime=runtime)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:  # noqa: ASYNC110 (uvicorn has no "started" event)
                await asyncio.sleep(0.01)
            url = f"http://127.0.0.1:{port}"
            async with (
                httpx.AsyncClient(base_url=url, timeout=WAIT) as client,
                client.stream(
                    "GET", "/api/v1/changes/stream?entity_type=none", headers=key.headers
                ) as response,
            ):
                comments = 0
                async with asyncio.timeout(WAIT):
                    async for line in response.aiter_lines():
                        assert not line.startswith("data"), line  # nothing matches the filter
                        comments += line.startswith(":")
                        if comments == 3:
                            break
        finally:
            server.should_exit = True
            await serving
            await app.state.change_streams.close()
