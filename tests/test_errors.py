"""The cross-cutting kit: one error envelope, validation details, request ids, access logs."""

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from loopctl.agents import errors as agent_errors
from loopctl.api_keys import errors as api_key_errors
from loopctl.database.connections import Connection
from loopctl.kit.query import guarded, reject_unknown_query_params
from loopctl.platform.app import create_app
from loopctl.platform.errors import AppError, Forbidden
from loopctl.platform.runtime import Runtime
from loopctl.progress import errors as progress_errors
from loopctl.projects import errors as project_errors
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import Key, Tenant, make_key, make_tenant
from tests.fixtures.http import (
    API,
    UNKNOWN_KEY,
    bearer,
    client_for,
    data_of,
    error_of,
    invalid,
    rollback_runtime,
)
from tests.fixtures.work import make_epic, make_project

ME = f"{API}/tenants/me"
REGISTER = f"{API}/tenants/register"
AGENTS = f"{API}/agents"


# --- unknown routes and methods -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", f"{API}/nope", f"{API}/tenants/me/extra", "/api/v2/"])
async def test_an_unknown_route_is_404_in_the_envelope(
    client: httpx.AsyncClient, path: str
) -> None:
    error = error_of(await client.get(path), 404, "not_found")
    assert "details" not in error


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", ME, {"GET", "PATCH"}),
        ("PUT", f"{API}/api_keys/0191d6a8-1c2b-7e3f-8a4b-5c6d7e8f9a0b", {"GET", "DELETE"}),
        ("POST", "/health", {"GET"}),
    ],
)
async def test_a_wrong_method_is_405_in_the_envelope_naming_every_allowed_method(
    client: httpx.AsyncClient, user_key: Key, method: str, path: str, allowed: set[str]
) -> None:
    response = await client.request(method, path, headers=user_key.headers)
    error_of(response, 405, "method_not_allowed")
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


# --- validation ---------------------------------------------------------------------------


async def test_validation_errors_list_every_field_with_its_location(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(REGISTER, json={"slug": "Bad Slug", "email": "nope"})
    errors = invalid(response, "body.name", "body.slug", "body.email")
    assert len(errors) == 3
    for item in errors:
        assert set(item) == {"field", "message", "type"}
        assert item["message"]
    by_field = {e["field"]: e["type"] for e in errors}
    assert by_field["body.name"] == "missing"
    message = response.json()["error"]["message"]
    assert message.startswith("Validation failed: ")
    assert all(field in message for field in by_field)


async def test_list_items_are_located_by_index(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, orchestrator_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    epic = await make_epic(runtime, tenant, project, 1)
    body = {
        "number": "1.1",
        "title": "Story",
        "acceptance_criteria": [{"criterion": "fine"}, {"criterion": "fine too"}, {}],
    }
    response = await client.post(
        f"{API}/epics/{epic.id}/stories", json=body, headers=orchestrator_key.headers
    )
    invalid(response, "body.acceptance_criteria[2].criterion")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "T", "slug": "ok-slug", "plan": "pro"}, "body.plan"),
        ({"name": "T", "slug": "ok-slug", "settings": {}}, "body.settings"),
    ],
)
async def test_unknown_body_fields_are_rejected_by_name(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    errors = invalid(await client.post(REGISTER, json=body), field)
    assert {e["type"] for e in errors if e["field"] == field} == {"extra_forbidden"}


async def test_unknown_nested_fields_are_rejected_by_their_path(
    client: httpx.AsyncClient, user_key: Key
) -> None:
    body = {"settings": {"api_key_rotation_grace_hours": 2, "colour": "red"}}
    errors = invalid(
        await client.patch(ME, json=body, headers=user_key.headers), "body.settings.colour"
    )
    assert [e["type"] for e in errors] == ["extra_forbidden"]


@pytest.mark.parametrize(
    "agent_id", ["not-a-uuid", "42", "0191d6a8-1c2b-7e3f-8a4b-5c6d7e8f9a0z", "%20"]
)
async def test_a_malformed_id_in_the_path_is_404_not_422(
    client: httpx.AsyncClient, orchestrator_key: Key, agent_id: str
) -> None:
    response = await client.get(f"{AGENTS}/{agent_id}", headers=orchestrator_key.headers)
    error_of(response, 404, "not_found")


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b'{"name": "T", "slug": "ok-slug"',
        b"\xff\xfe",
        b'{"name": "T",}',
        b'{"name": "\xff\xfe"}',  # not UTF-8: the decoder fails before the JSON parser
        b"[" * 100_000,  # deeper than the parser's recursion limit
    ],
)
async def test_a_body_that_is_not_json_is_422_naming_the_body(
    client: httpx.AsyncClient, content: bytes
) -> None:
    response = await client.post(
        REGISTER, content=content, headers={"content-type": "application/json"}
    )
    errors = invalid(response, "body")
    assert [e["type"] for e in errors] == ["json_invalid"]
    assert errors[0]["message"], response.text
    assert response.json()["error"]["message"].startswith("Request body is not valid JSON")


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"", "application/json"),
        (b'{"name": "T", "slug": "ok-slug"}', "text/plain"),
        (b"name=T&slug=ok-slug", "application/x-www-form-urlencoded"),
        (b"null", "application/json"),
    ],
)
async def test_a_missing_or_non_json_body_is_422_never_500(
    client: httpx.AsyncClient, content: bytes, content_type: str
) -> None:
    response = await client.post(REGISTER, content=content, headers={"content-type": content_type})
    invalid(response)


# --- body size ----------------------------------------------------------------------------


@pytest.fixture
async def small_client(
    session_db: Urls, cluster: Cluster, conn: Connection
) -> AsyncIterator[httpx.AsyncClient]:
    runtime = rollback_runtime(session_db, cluster, conn, max_body_bytes=1024)
    async with client_for(runtime) as client:
        yield client


async def test_a_body_over_the_limit_is_413_in_the_envelope(
    small_client: httpx.AsyncClient,
) -> None:
    body = json.dumps({"name": "x" * 2000, "slug": "big-body"}).encode()
    response = await small_client.post(
        REGISTER, content=body, headers={"content-type": "application/json"}
    )
    error = error_of(response, 413, "payload_too_large")
    assert error["details"] == {"limit_bytes": 1024}
    assert response.headers["x-request-id"]


async def test_a_streamed_body_over_the_limit_is_413_too(
    small_client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(10):
            yield b"x" * 200
        yield b'", "slug": "streamed"}'

    response = await small_client.post(
        REGISTER, content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    error = error_of(response, 413, "payload_too_large")
    # The same answer as a declared length over the limit, on either serving path.
    assert error["details"] == {"limit_bytes": 1024}
    assert error["message"] == "Request body exceeds 1024 bytes"


async def test_a_body_at_the_limit_is_read(small_client: httpx.AsyncClient) -> None:
    body = json.dumps({"name": "x", "slug": "at-limit"}).encode()
    body = body[:-1] + b" " * (1024 - len(body)) + b"}"
    assert len(body) == 1024
    response = await small_client.post(
        REGISTER, content=body, headers={"content-type": "application/json"}
    )
    data_of(response, 201)


# --- request ids --------------------------------------------------------------------------


async def test_a_request_id_is_made_when_none_is_sent(client: httpx.AsyncClient) -> None:
    first = (await client.get("/health")).headers["x-request-id"]
    second = (await client.get("/nope")).headers["x-request-id"]
    assert first != second
    for request_id in (first, second):
        assert len(request_id) == 32
        int(request_id, 16)


@pytest.mark.parametrize("request_id", ["abc", "trace-1.2:3_x", "A" * 128])
async def test_a_well_formed_request_id_is_echoed(
    client: httpx.AsyncClient, request_id: str
) -> None:
    for path in ("/health", "/nope", ME):
        response = await client.get(path, headers={"x-request-id": request_id})
        assert response.headers["x-request-id"] == request_id


@pytest.mark.parametrize("request_id", ["A" * 129, "has space", "semi;colon", "é", "a\tb"])
async def test_a_malformed_request_id_is_replaced(
    client: httpx.AsyncClient, request_id: str
) -> None:
    response = await client.get("/health", headers={b"x-request-id": request_id.encode()})
    echoed = response.headers["x-request-id"]
    assert echoed != request_id
    assert len(echoed) == 32


async def test_an_unexpected_error_is_500_in_the_envelope_with_the_request_id(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(runtime=runtime)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        with caplog.at_level(logging.ERROR, logger="loopctl.platform.errors"):
            response = await client.get("/boom", headers={"x-request-id": "boom-1"})
    error = error_of(response, 500, "internal_error")
    assert error["details"] == {"request_id": "boom-1"}
    assert "a bug" not in response.text
    assert response.headers["x-request-id"] == "boom-1"
    logged = [r for r in caplog.records if r.name == "loopctl.platform.errors"]
    assert [getattr(r, "request_id", None) for r in logged] == ["boom-1"]
    assert logged[0].exc_info is not None
    assert repr(logged[0].exc_info[1]) == "RuntimeError('a bug')"


# --- the access log -----------------------------------------------------------------------


@pytest.fixture
def logged_app(session_db: Urls, cluster: Cluster, conn: Connection) -> Iterator[FastAPI]:
    app = create_app(runtime=rollback_runtime(session_db, cluster, conn, access_log=True))
    app.state.access_log.stream = io.StringIO()
    # As `loopctl serve` configures it (LOOPCTL_LOG_LEVEL=INFO); the test root logger may
    # sit higher.
    logger = logging.getLogger("loopctl.access")
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield app
    logger.setLevel(previous)


def access_lines(app: FastAPI) -> list[dict[str, Any]]:
    """The JSON lines the server wrote to its access log."""
    stream: io.StringIO = app.state.access_log.stream
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_the_access_log_has_one_json_line_per_request(logged_app: FastAPI) -> None:
    tenant = await make_tenant(logged_app.state.runtime)
    agent = await make_key(logged_app.state.runtime, tenant, "agent")
    transport = httpx.ASGITransport(app=logged_app, client=("203.0.113.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        ok = await client.get(
            f"{AGENTS}/{agent.agent_id}",
            headers={**tenant.user.headers, "x-request-id": "log-1"},
        )
        denied = await client.get(ME, headers=bearer(UNKNOWN_KEY))
        lost = await client.get("/nowhere/123")
    assert ok.status_code == 200
    first, second, third = access_lines(logged_app)

    assert (first["level"], first["logger"], first["message"]) == (
        "info",
        "loopctl.access",
        "request",
    )
    assert first["time"].endswith("Z")
    assert first["request_id"] == "log-1"
    assert first["method"] == "GET"
    assert first["path"] == f"{AGENTS}/{agent.agent_id}"
    assert first["route"] == f"{AGENTS}/{{agent_id}}"
    assert first["status"] == 200
    assert first["tenant_id"] == str(tenant.id)
    assert first["key_prefix"] == tenant.user.raw[:11]
    assert first["client"] == "203.0.113.9"
    assert isinstance(first["latency_ms"], float)
    assert first["latency_ms"] >= 0
    assert tenant.user.raw not in json.dumps(first)

    assert (second["status"], second["tenant_id"], second["key_prefix"]) == (401, None, None)
    assert second["request_id"] == denied.headers["x-request-id"]
    assert UNKNOWN_KEY not in json.dumps(second)
    assert (third["status"], third["route"], third["path"]) == (404, "<unmatched>", "/nowhere/123")
    assert third["request_id"] == lost.headers["x-request-id"]


async def test_the_access_log_can_be_turned_off(app: FastAPI, client: httpx.AsyncClient) -> None:
    assert app.state.access_log is None  # the test app runs with LOOPCTL_ACCESS_LOG=false
    assert (await client.get("/health")).status_code == 200


async def test_a_log_level_above_info_silences_the_access_log(logged_app: FastAPI) -> None:
    logging.getLogger("loopctl.access").setLevel(logging.WARNING)  # the fixture restores it
    transport = httpx.ASGITransport(app=logged_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/health")).status_code == 200
    assert access_lines(logged_app) == []


def test_every_api_route_checks_unknown_query_parameters(app: FastAPI) -> None:
    # Guarded routes check in their role guard (after authentication); the public ones
    # through a dependency. A new public route without either would silently accept typos.
    contexts = [c for c in iter_route_contexts(app.routes) if (c.path_format or "").startswith(API)]
    routes = [c.original_route for c in contexts if isinstance(c.original_route, APIRoute)]
    assert len(routes) > 40
    for route in routes:
        checked = any(d.dependency is reject_unknown_query_params for d in route.dependencies)
        assert guarded(route) or checked, route.path


def test_an_error_variant_is_a_class_named_after_its_code_in_its_module() -> None:
    """A domain declares a refusal in one line; it must still read as a class of its own."""
    for module in (agent_errors, api_key_errors, project_errors, progress_errors):
        declared = [
            (name, value)
            for name, value in vars(module).items()
            if isinstance(value, type)
            and issubclass(value, AppError)
            and value.__module__ == module.__name__
        ]
        assert declared
        for name, cls in declared:
            assert cls.__name__ == cls.__qualname__ == name, f"{module.__name__}.{name}"
    assert issubclass(api_key_errors.KeyInGracePeriod, Forbidden)
    error = api_key_errors.ApiKeyNotFound()
    assert (error.status, error.code, error.message) == (
        404,
        "api_key_not_found",
        "API key not found",
    )
    assert api_key_errors.ApiKeyNotFound is not agent_errors.AgentNotFound
    assert not issubclass(agent_errors.AgentNotFound, project_errors.ProjectNotFound)
    blocked = progress_errors.SelfReportBlocked
    assert issubclass(blocked, progress_errors.Refused)
    assert blocked.status == 409
    assert blocked.keeps_changes
    assert not progress_errors.LeaseLost.keeps_changes
