"""/mcp as HTTP: the API's authentication, limits and middleware hold for it.

In process, on the test's rolled-back connection, with the app's lifespan running (it runs
the MCP session manager); JSON-RPC is sent by hand to see the HTTP answers themselves.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import httpx
import orjson
import pytest

from loopctl.api_keys import service as api_keys
from loopctl.database.connections import Connection, tenant_transaction
from loopctl.platform.app import create_app
from loopctl.platform.errors import InvalidApiKey
from loopctl.platform.runtime import Runtime
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import make_key, make_tenant
from tests.fixtures.http import UNKNOWN_KEY, audit_rows, bearer, error_of, rollback_runtime

LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
# What the SDK's client sends on every request (JSON answers, or a stream).
ACCEPT = {"Accept": "application/json, text/event-stream"}


def _call(tool: str, args: dict[str, Any]) -> dict[str, Any]:
    params = {"name": tool, "arguments": args}
    return {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": params}


@asynccontextmanager
async def serving(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a new app on ``runtime``, its lifespan (and so /mcp's sessions) running."""
    app = create_app(runtime=runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def _tools(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {tool["name"] for tool in response.json()["result"]["tools"]}


async def test_no_key_or_a_bad_key_is_401(
    session_db: Urls, cluster: Cluster, conn: Connection
) -> None:
    runtime = rollback_runtime(session_db, cluster, conn)
    async with serving(runtime) as client:
        missing = await client.post("/mcp", json=LIST, headers=ACCEPT)
        error_of(missing, 401, "unauthorized")
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert missing.headers["x-request-id"]
        unknown = await client.post("/mcp", json=LIST, headers={**ACCEPT, **bearer(UNKNOWN_KEY)})
        error_of(unknown, 401, "invalid_api_key")
        other = await client.post("/mcp", json=LIST, headers={**ACCEPT, **bearer("lc_short")})
        error_of(other, 401, "invalid_api_key")


async def test_each_role_lists_its_tools_over_http(
    session_db: Urls, cluster: Cluster, conn: Connection
) -> None:
    runtime = rollback_runtime(session_db, cluster, conn)
    tenant = await make_tenant(runtime)
    agent = await make_key(runtime, tenant, "agent", agent_name="impl")
    orch = await make_key(runtime, tenant, "orchestrator", agent_name="rev")
    async with serving(runtime) as client:
        implementer = _tools(
            await client.post("/mcp", json=LIST, headers={**ACCEPT, **agent.headers})
        )
        reviewer = _tools(await client.post("/mcp", json=LIST, headers={**ACCEPT, **orch.headers}))
    assert {"claim_next", "start_story"} <= implementer
    assert not implementer & {"verify_story", "reject_story", "verify_all_in_epic"}
    assert {"verify_story", "reject_story", "save_state"} <= reviewer
    assert not reviewer & {"claim_next", "claim_story", "start_story"}


async def test_key_and_failure_rate_limits_apply(
    session_db: Urls, cluster: Cluster, conn: Connection
) -> None:
    runtime = rollback_runtime(
        session_db, cluster, conn, rate_limit_per_minute=2, auth_failures_per_ip_per_minute=2
    )
    tenant = await make_tenant(runtime)
    agent = await make_key(runtime, tenant, "agent", agent_name="busy")
    headers = {**ACCEPT, **agent.headers}
    async with serving(runtime) as client:
        for _ in range(2):
            assert _tools(await client.post("/mcp", json=LIST, headers=headers))
        limited = await client.post("/mcp", json=LIST, headers=headers)
        assert error_of(limited, 429, "rate_limited")["details"]["scope"] == "API key"
        assert int(limited.headers["retry-after"]) >= 1
        wrong = {**ACCEPT, **bearer(UNKNOWN_KEY)}
        for _ in range(2):
            error_of(await client.post("/mcp", json=LIST, headers=wrong), 401, "invalid_api_key")
        error_of(await client.post("/mcp", json=LIST, headers=wrong), 429, "rate_limited")


async def test_a_tool_call_is_a_request_in_the_audit_log(
    session_db: Urls, cluster: Cluster, conn: Connection
) -> None:
    runtime = rollback_runtime(session_db, cluster, conn)
    tenant = await make_tenant(runtime)
    orch = await make_key(runtime, tenant, "orchestrator", agent_name="observer")
    headers = {**ACCEPT, **orch.headers, "x-request-id": "mcp-call-1"}
    event = _call("record_event", {"event_type": "session_started", "summary": "hello"})
    async with serving(runtime) as client:
        response = await client.post("/mcp", json=event, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == "mcp-call-1"
    result = response.json()["result"]
    assert result.get("isError") is not True, result
    recorded = orjson.loads(result["content"][0]["text"])
    rows = await audit_rows(conn, tenant.id, entity_type="orchestrator_event")
    assert [(r.id, r.request_id, r.actor_key_id) for r in rows] == [
        (UUID(recorded["id"]), "mcp-call-1", orch.id)
    ]


async def test_body_limit_methods_and_malformed_json(
    session_db: Urls, cluster: Cluster, conn: Connection
) -> None:
    runtime = rollback_runtime(session_db, cluster, conn, max_body_bytes=2048)
    tenant = await make_tenant(runtime)
    agent = await make_key(runtime, tenant, "agent", agent_name="sloppy")
    headers = {**ACCEPT, **agent.headers}
    async with serving(runtime) as client:
        big = _call("get_story", {"story_id": "x" * 4096})
        error_of(await client.post("/mcp", json=big, headers=headers), 413, "payload_too_large")
        for method in ("GET", "DELETE", "PUT"):
            refused = await client.request(method, "/mcp", headers=headers)
            error_of(refused, 405, "method_not_allowed")
            assert refused.headers["allow"] == "POST"
        garbled = await client.post(
            "/mcp", content=b"{not json", headers={**headers, "content-type": "application/json"}
        )
        assert garbled.status_code == 400
        assert garbled.json()["error"]["code"] == -32700  # JSON-RPC's parse error


async def test_a_tool_calls_transaction_resolves_the_key_again(
    session_db: Urls, cluster: Cluster, conn: Connection
) -> None:
    runtime = rollback_runtime(session_db, cluster, conn)
    tenant = await make_tenant(runtime)
    agent = await make_key(runtime, tenant, "agent", agent_name="leaving")
    header = agent.headers["Authorization"]
    async with tenant_transaction(runtime.connections, None) as tx:
        principal = await runtime.authenticator.authenticate(tx, header, "127.0.0.1", None)
    async with tenant_transaction(runtime.connections, None) as tx:
        await runtime.authenticator.confirm(tx, header, principal)
        cursor = await tx.execute("SELECT current_setting('app.tenant_id')")
        assert await cursor.fetchone() == (str(tenant.id),)
    async with tenant_transaction(runtime.connections, tenant.id) as tx:
        await api_keys.revoke(tx, tenant.principal(), agent.id)
    other = await make_key(runtime, tenant, "agent", agent_name="other")
    async with tenant_transaction(runtime.connections, None) as tx:
        with pytest.raises(InvalidApiKey):
            await runtime.authenticator.confirm(tx, header, principal)
        with pytest.raises(InvalidApiKey):
            await runtime.authenticator.confirm(tx, other.headers["Authorization"], principal)
