"""The live streams' fan-out (changes/fanout.py): one reader per tenant in a process, many
streams with their own filters and positions, slow clients, reconnection mid-way."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from socket import SO_RCVBUF, SOL_SOCKET
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from loopctl.changes import fanout
from loopctl.changes.fanout import ChangeStreams
from loopctl.database.connections import tenant_transaction
from loopctl.platform.app import create_app
from loopctl.platform.runtime import Runtime
from tests.changes.test_stream import WAIT, Stream
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import Key, Tenant, make_key, make_tenant
from tests.fixtures.http import committed_runtime
from tests.fixtures.server import free_port

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serve"), pytest.mark.realdb]

# One transaction writes these rows: (entity type, action, project) each.
INSERT = """
    INSERT INTO audit_log (tenant_id, id, project_id, entity_type, entity_id, action,
                           actor_role, actor_label, after)
    SELECT %(tenant)s, gen_random_uuid(), (%(projects)s::uuid[])[g], (%(types)s::text[])[g],
           gen_random_uuid(), (%(actions)s::text[])[g], 'orchestrator', 'tests',
           jsonb_build_object('n', g, 'padding', repeat('x', %(padding)s))
      FROM generate_series(1, cardinality(%(types)s::text[])) AS g
"""


@dataclass
class Served:
    url: str
    app: FastAPI
    runtime: Runtime

    @property
    def streams(self) -> ChangeStreams:
        streams: ChangeStreams = self.app.state.change_streams
        return streams


@asynccontextmanager
async def _serving(fresh_db: Urls, cluster: Cluster) -> AsyncIterator[Served]:
    """The app on a real uvicorn server in this process, so its fan-out can be looked at."""
    async with committed_runtime(fresh_db, cluster) as runtime:
        app = create_app(runtime=runtime)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:  # noqa: ASYNC110 (uvicorn has no "started" event)
                await asyncio.sleep(0.01)
            yield Served(f"http://127.0.0.1:{port}", app, runtime)
        finally:
            server.should_exit = True
            await serving
            await app.state.change_streams.close()


async def _write(
    runtime: Runtime, tenant: Tenant, rows: Sequence[tuple[str, str, UUID | None]], padding: int = 0
) -> None:
    """Commit ``rows`` as audit entries of ``tenant``, in one transaction (as the app role)."""
    async with tenant_transaction(runtime.connections, tenant.id) as conn:
        await conn.execute(
            INSERT,
            {
                "tenant": tenant.id,
                "types": [r[0] for r in rows],
                "actions": [r[1] for r in rows],
                "projects": [r[2] for r in rows],
                "padding": padding,
            },
        )


async def _polled(served: Served, key: Key, query: str, cursor: str | None = None) -> list[str]:
    """The ids the polled feed gives with the same filters: what a stream must send."""
    ids: list[str] = []
    async with httpx.AsyncClient(base_url=served.url, headers=key.headers) as client:
        while True:
            at = f"&cursor={cursor}" if cursor else ""
            page = (await client.get(f"/api/v1/changes?limit=1000&{query}{at}")).json()
            ids += [e["id"] for e in page["data"]]
            cursor = page["meta"]["next_cursor"]
            if not page["meta"]["has_more"]:
                return ids


def _ids(events: list[dict[str, Any]]) -> list[str]:
    return [e["id"] for e in events]


@asynccontextmanager
async def _open(
    served: Served,
    key: Key,
    query: str = "",
    headers: dict[str, str] | None = None,
    *,
    receive_buffer: int | None = None,
) -> AsyncIterator[Stream]:
    """A stream; ``receive_buffer`` shrinks its socket's, for a client that lags."""
    options = [] if receive_buffer is None else [(SOL_SOCKET, SO_RCVBUF, receive_buffer)]
    transport = httpx.AsyncHTTPTransport(socket_options=options)
    async with (
        httpx.AsyncClient(base_url=served.url, timeout=WAIT, transport=transport) as client,
        client.stream(
            "GET", f"/api/v1/changes/stream?{query}", headers={**key.headers, **(headers or {})}
        ) as response,
    ):
        assert response.status_code == 200
        yield Stream(response)


async def _tenants(served: Served, count: int) -> list[tuple[Tenant, Key]]:
    out = []
    for _ in range(count):
        tenant = await make_tenant(served.runtime)
        out.append((tenant, await make_key(served.runtime, tenant, "agent")))
    return out


async def _wait_for(condition: Any) -> None:
    async with asyncio.timeout(WAIT):
        while not condition():  # noqa: ASYNC110 (what is awaited is the server's own state)
            await asyncio.sleep(0.01)


FILTERS = (
    "",
    "entity_type=story",
    "action=updated",
    "project_id={p1}",
    "entity_type=story&project_id={p2}",
)
TYPES = ("story", "epic", "project")
BULK_WRITES = 16
BULK_ROWS = 500
ACTIONS = ("created", "updated", "claimed")


async def test_streams_of_two_tenants_each_get_exactly_their_events_once_in_order(
    fresh_db: Urls, cluster: Cluster
) -> None:
    async with _serving(fresh_db, cluster) as served, AsyncExitStack() as stack:
        pairs = await _tenants(served, 2)
        projects = {tenant.id: (uuid4(), uuid4()) for tenant, _ in pairs}
        streams: list[tuple[Tenant, Key, str, Stream]] = []
        for tenant, key in pairs:
            p1, p2 = projects[tenant.id]
            for template in FILTERS:
                query = template.format(p1=p1, p2=p2)
                for _ in range(2):
                    stream = await stack.enter_async_context(_open(served, key, query))
                    streams.append((tenant, key, query, stream))
        # Every stream follows its tenant's reader: one reader per tenant, not per stream.
        await _wait_for(lambda: served.streams.following() == len(streams))
        assert served.streams.readers() == 2

        async def writer(tenant: Tenant) -> None:
            p1, p2 = projects[tenant.id]
            for n in range(20):
                rows = [
                    (TYPES[(n + i) % 3], ACTIONS[(n * i) % 3], (p1, p2, None)[(n + 2 * i) % 3])
                    for i in range(1 + n % 4)
                ]
                await _write(served.runtime, tenant, rows)

        await asyncio.gather(*(writer(tenant) for tenant, _ in pairs))
        sent: list[int] = []
        for _tenant, key, query, stream in streams:
            expected = await _polled(served, key, query)
            assert _ids(await stream.changes(len(expected))) == expected
            sent.append(len(expected))
        # Nothing extra came, nothing twice: what each stream gets next is the next event
        # its filters match.
        for tenant, _ in pairs:
            p1, p2 = projects[tenant.id]
            await _write(
                served.runtime, tenant, [("story", "updated", p1), ("story", "updated", p2)]
            )
        for (_tenant, key, query, stream), before in zip(streams, sent, strict=True):
            expected = await _polled(served, key, query)
            assert len(expected) > before
            assert _ids(await stream.changes(len(expected) - before)) == expected[before:]
        # Once their streams end, the readers stop.
        await stack.aclose()
        await _wait_for(lambda: served.streams.readers() == 0)


async def test_a_stream_whose_client_does_not_read_holds_up_no_other(
    fresh_db: Urls, cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fanout, "BACKLOG_EVENTS", 1000)
    count = BULK_WRITES * BULK_ROWS
    async with _serving(fresh_db, cluster) as served:
        [(tenant, key)] = await _tenants(served, 1)
        async with _open(served, key, "entity_type=bulk", receive_buffer=65536) as slow:
            async with _open(served, key, "entity_type=bulk") as fast:
                await _wait_for(lambda: served.streams.following(tenant.id) == 2)
                reading = asyncio.create_task(fast.changes(count))
                # About 27 MB: far more than the slow client's socket buffers and the
                # server's hold while that client reads nothing.
                for _ in range(BULK_WRITES):
                    rows: list[tuple[str, str, UUID | None]] = [("bulk", "created", None)]
                    await _write(served.runtime, tenant, rows * BULK_ROWS, 3000)
                expected = await _polled(served, key, "entity_type=bulk")
                assert len(expected) == count
                assert _ids(await reading) == expected
                # The reader dropped the stream that fell behind; the other follows it.
                await _wait_for(lambda: served.streams.following(tenant.id) == 1)
            # Read at last, the slow stream has read the rest itself: all once, in order.
            assert _ids(await slow.changes(count)) == expected
            await _wait_for(lambda: served.streams.following(tenant.id) == 1)
            await _write(served.runtime, tenant, [("bulk", "updated", None)])
            [last] = await slow.changes(1)
            assert [last["id"]] == (await _polled(served, key, "entity_type=bulk"))[count:]


async def test_a_stream_reconnecting_behind_the_reader_misses_nothing(
    fresh_db: Urls, cluster: Cluster
) -> None:
    async with _serving(fresh_db, cluster) as served:
        [(tenant, key)] = await _tenants(served, 1)
        project = uuid4()
        async with _open(served, key) as keeper:
            async with _open(served, key, "entity_type=story") as first:
                await _wait_for(lambda: served.streams.following(tenant.id) == 2)
                await _write(served.runtime, tenant, [("story", "created", project)])
                seen = await first.changes(1)
            # Disconnected; the reader moves on with the other stream.
            missed = [("story", "updated", project), ("epic", "created", project)] * 2
            await _write(served.runtime, tenant, missed)
            everything = await _polled(served, key, "")
            assert _ids(await keeper.changes(len(everything)))[-4:] == everything[-4:]
            resume = {"Last-Event-ID": seen[-1]["cursor"]}
            async with _open(served, key, "entity_type=story", resume) as again:
                expected = await _polled(served, key, "entity_type=story", seen[-1]["cursor"])
                assert len(expected) == 2
                assert _ids(await again.changes(2)) == expected
                await _wait_for(lambda: served.streams.following(tenant.id) == 2)
                await _write(served.runtime, tenant, [("story", "verified", project)])
                later = await _polled(served, key, "entity_type=story")
                assert _ids(await again.changes(1)) == later[-1:]
