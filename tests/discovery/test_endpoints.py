"""Public discovery: /health, /ready, the API root, the well-known document, Swagger UI."""

from collections.abc import Callable

import httpx
import psycopg
import pytest

from loopctl.database import schema
from loopctl.database.connections import SingleConnection
from loopctl.platform.config import VERSION
from loopctl.platform.runtime import Runtime
from tests.fixtures.app import SECRET
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.http import (
    API,
    UNKNOWN_KEY,
    bearer,
    client_for,
    committed_runtime,
    data_of,
    error_of,
)

BASE = "http://testserver"
LINKS = {"api", "routes", "openapi", "swagger_ui", "health", "ready", "metrics", "well_known"}


# --- liveness and readiness ---------------------------------------------------------------


async def test_health_needs_no_key_and_ignores_a_bad_one(client: httpx.AsyncClient) -> None:
    for headers in ({}, bearer(UNKNOWN_KEY), {"Authorization": "Basic eDp5"}):
        response = await client.get("/health", headers=headers)
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "version": VERSION}


async def test_ready_when_the_database_answers_and_the_schema_is_current(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "version": VERSION,
        "checks": {"database": "ok", "schema": "ok"},
    }


async def test_not_ready_when_the_database_does_not_answer(
    runtime: Runtime, session_db: Urls
) -> None:
    # A real connection that has gone away, as after a database restart.
    gone = await psycopg.AsyncConnection.connect(session_db.app)
    await gone.close()
    broken = Runtime.build(runtime.settings, SingleConnection(gone), SECRET.encode())
    async with client_for(broken) as client:
        response = await client.get("/ready")
    error = error_of(response, 503, "not_ready")
    assert error["details"]["checks"] == {"database": "error", "schema": "unknown"}
    assert session_db.app not in response.text  # no connection string, no password


def _previous_revision() -> str:
    script = schema._scripts().get_revision(schema.head())
    assert script is not None
    down = script.down_revision
    assert isinstance(down, str), "needs a linear history with at least two revisions"
    return down


def _set_version(value: str) -> Callable[[psycopg.Connection[tuple[object, ...]]], None]:
    def change(conn: psycopg.Connection[tuple[object, ...]]) -> None:
        conn.execute("UPDATE alembic_version SET version_num = %s", [value])

    return change


def _drop_version(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    conn.execute("DROP TABLE alembic_version")


@pytest.mark.realdb
@pytest.mark.parametrize(
    ("change", "state", "hint"),
    [
        (_set_version(_previous_revision()), "behind", "loopctl db migrate"),
        (_set_version("f00dfeedbeef"), "ahead", "upgrade loopctl"),
        (_drop_version, "empty", "loopctl db migrate"),
    ],
    ids=["behind", "ahead", "empty"],
)
async def test_not_ready_when_the_schema_is_not_the_one_this_server_needs(
    fresh_db: Urls,
    cluster: Cluster,
    change: Callable[[psycopg.Connection[tuple[object, ...]]], None],
    state: str,
    hint: str,
) -> None:
    async with committed_runtime(fresh_db, cluster) as runtime, client_for(runtime) as client:
        assert (await client.get("/ready")).status_code == 200
        with psycopg.connect(fresh_db.superuser, autocommit=True) as superuser:
            change(superuser)
        response = await client.get("/ready")
        # Liveness is not readiness: the process still answers.
        assert (await client.get("/health")).status_code == 200
    error = error_of(response, 503, "not_ready")
    assert error["details"] == {"checks": {"database": "ok", "schema": state}}
    assert hint in error["message"]


# --- what this server is ------------------------------------------------------------------


async def test_the_api_root_describes_the_server_and_links_onwards(
    client: httpx.AsyncClient,
) -> None:
    root = data_of(await client.get(f"{API}/"))
    assert (root["name"], root["version"]) == ("loopctl", VERSION)
    assert root["description"]
    links = root["links"]
    assert set(links) == LINKS
    for name, url in links.items():
        assert url.startswith(BASE + "/"), (name, url)
        response = await client.get(url.removeprefix(BASE))
        assert response.status_code == 200, (name, url, response.status_code)


async def test_the_api_root_needs_no_key_and_rejects_unknown_parameters(
    client: httpx.AsyncClient,
) -> None:
    data_of(await client.get(f"{API}/", headers=bearer(UNKNOWN_KEY)))
    error = error_of(await client.get(f"{API}/", params={"x": "1"}), 422, "validation_error")
    assert [e["field"] for e in error["details"]["errors"]] == ["query.x"]


async def test_the_well_known_document(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/loopctl")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    doc = response.json()
    assert (doc["name"], doc["version"]) == ("loopctl", VERSION)
    assert doc["api_base"] == f"{BASE}/api/v1"
    auth = doc["auth"]
    assert (auth["scheme"], auth["header"]) == ("bearer", "Authorization")
    assert auth["roles"] == ["superadmin", "user", "orchestrator", "agent"]
    assert auth["signup"] == {"enabled": True, "url": f"{BASE}/api/v1/tenants/register"}
    assert doc["docs"] == {
        "openapi": f"{BASE}/api/v1/openapi.json",
        "swagger_ui": f"{BASE}/swaggerui",
    }
    assert set(doc["links"]) == LINKS
    for url in doc["docs"].values():
        assert (await client.get(url.removeprefix(BASE))).status_code == 200


async def test_the_well_known_document_is_cacheable(client: httpx.AsyncClient) -> None:
    first = await client.get("/.well-known/loopctl")
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    again = await client.get("/.well-known/loopctl", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    stale = await client.get("/.well-known/loopctl", headers={"If-None-Match": 'W/"other"'})
    assert stale.status_code == 200
    assert stale.json() == first.json()
