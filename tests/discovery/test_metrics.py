"""Prometheus metrics: requests and latency by route template and status, pool usage."""

import asyncio
import contextlib

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from psycopg_pool import AsyncConnectionPool

from loopctl.platform.app import create_app
from loopctl.platform.background import maintain
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import Key, make_tenant
from tests.fixtures.http import API, UNKNOWN_KEY, bearer, committed_runtime, data_of

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> tuple[str, Samples]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return response.text, samples


def labels(**values: str) -> frozenset[tuple[str, str]]:
    return frozenset(values.items())


async def test_requests_are_counted_by_route_template_and_status(
    client: httpx.AsyncClient, orchestrator_key: Key
) -> None:
    agent_id = str(orchestrator_key.agent_id)
    path = f"{API}/agents/{agent_id}"
    for _ in range(2):
        data_of(await client.get(path, headers=orchestrator_key.headers))
    await client.get(path, headers=bearer(UNKNOWN_KEY))
    await client.get("/no/such/route/1234")
    text, samples = await scrape(client)

    route = f"{API}/agents/{{agent_id}}"
    count = "loopctl_http_requests_total"
    assert samples[(count, labels(method="GET", route=route, status="200"))] == 2
    assert samples[(count, labels(method="GET", route=route, status="401"))] == 1
    assert samples[(count, labels(method="GET", route="<unmatched>", status="404"))] == 1
    latency = "loopctl_http_request_duration_seconds_count"
    assert samples[(latency, labels(method="GET", route=route))] == 3
    bucket = "loopctl_http_request_duration_seconds_bucket"
    assert samples[(bucket, labels(method="GET", route=route, le="+Inf"))] == 3
    # Route templates only: raw paths would make one series per id.
    assert agent_id not in text
    assert "/no/such/route" not in text


async def test_pool_gauges_are_exposed(client: httpx.AsyncClient) -> None:
    _, samples = await scrape(client)
    for name in (
        "loopctl_db_pool_connections",
        "loopctl_db_pool_available",
        "loopctl_db_pool_waiting",
    ):
        assert (name, frozenset()) in samples, name


@pytest.mark.realdb
async def test_upkeep_reports_the_pool_in_the_gauges(fresh_db: Urls, cluster: Cluster) -> None:
    async with committed_runtime(fresh_db, cluster, rate_limit_sync_seconds=0.05) as runtime:
        pool = runtime.connections
        assert isinstance(pool, AsyncConnectionPool)
        tenant = await make_tenant(runtime)
        app: FastAPI = create_app(runtime=runtime)
        upkeep = asyncio.create_task(maintain(runtime, app.state.metrics, pool.get_stats))
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                data_of(await client.get(f"{API}/tenants/me", headers=tenant.user.headers))
                samples: Samples = {}
                for _ in range(100):
                    await asyncio.sleep(0.05)
                    _, samples = await scrape(client)
                    if samples[("loopctl_db_pool_connections", frozenset())] > 0:
                        break
        finally:
            upkeep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await upkeep
        stats = pool.get_stats()
        assert samples[("loopctl_db_pool_connections", frozenset())] == stats["pool_size"]
        assert 0 <= samples[("loopctl_db_pool_available", frozenset())] <= stats["pool_size"]
        assert samples[("loopctl_db_pool_waiting", frozenset())] == 0
