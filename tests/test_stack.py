"""The app's middleware stack (kit/stack.py): errors answered as FastAPI's stack answers them."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.telemetry._asgi import ExceptionTelemetryMiddleware
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from loopctl.kit.stack import ErrorBoundary, LoopctlAPI
from loopctl.platform.app import create_app
from loopctl.platform.config import Settings
from loopctl.platform.runtime import Runtime


class Teapot(Exception):
    pass


class SmallTeapot(Teapot):
    pass


async def _teapot(_request: Request, exc: Exception) -> Response:
    return JSONResponse({"handled": type(exc).__name__}, status_code=418)


async def _gone(_request: Request, _exc: Exception) -> Response:
    return PlainTextResponse("gone by status", status_code=410)


async def _server_error(_request: Request, exc: Exception) -> Response:
    calls.append(repr(exc))
    return PlainTextResponse("server error", status_code=500)


calls: list[str] = []
HANDLERS: dict[Any, Any] = {Teapot: _teapot, 410: _gone, Exception: _server_error}


def _raising(exc: Exception, *, after_start: bool = False) -> Any:
    async def app(_scope: Scope, _receive: Receive, send: Send) -> None:
        if after_start:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        raise exc

    return app


async def _get(app: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/")


async def test_an_exception_goes_to_the_handler_of_its_nearest_class() -> None:
    response = await _get(ErrorBoundary(_raising(SmallTeapot()), HANDLERS))
    assert (response.status_code, response.json()) == (418, {"handled": "SmallTeapot"})


async def test_an_http_exception_goes_to_the_handler_of_its_status_first() -> None:
    response = await _get(ErrorBoundary(_raising(HTTPException(410)), HANDLERS))
    assert (response.status_code, response.text) == (410, "gone by status")


async def test_anything_else_is_the_500_and_is_raised_again_for_the_server_to_log() -> None:
    calls.clear()
    boundary = ErrorBoundary(_raising(ValueError("a bug")), HANDLERS)
    assert (await _get(boundary)).status_code == 500
    assert calls == ["ValueError('a bug')"]
    transport = httpx.ASGITransport(app=boundary)  # raises what the app raised
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        with pytest.raises(ValueError, match="a bug"):
            await client.get("/")


async def test_after_the_response_started_nothing_more_is_sent() -> None:
    calls.clear()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    with pytest.raises(ValueError, match="late"):
        await ErrorBoundary(_raising(ValueError("late"), after_start=True), HANDLERS)(
            scope, receive, send
        )
    assert calls == ["ValueError('late')"]  # logged by the handler, not sent
    with pytest.raises(RuntimeError, match="already started"):
        await ErrorBoundary(_raising(Teapot(), after_start=True), HANDLERS)(scope, receive, send)
    assert [m["status"] for m in sent] == [200, 200]


def test_a_synchronous_handler_or_no_500_handler_is_refused() -> None:
    def sync_handler(_request: Request, _exc: Exception) -> Response:
        return PlainTextResponse("")

    with pytest.raises(RuntimeError, match="async"):
        ErrorBoundary(_raising(Teapot()), {Exception: sync_handler})
    with pytest.raises(RuntimeError, match="Exception"):
        ErrorBoundary(_raising(Teapot()), {Teapot: _teapot})


async def test_routes_declared_on_the_app_are_served_and_a_plain_api_route_is_refused(
    runtime: Runtime,
) -> None:
    app = create_app(runtime=runtime)

    @app.get("/declared-on-the-app")
    async def declared() -> dict[str, str]:
        return {"ok": "yes"}

    response = await _get_path(app, "/declared-on-the-app")
    assert (response.status_code, response.json()) == (200, {"ok": "yes"})

    plain = LoopctlAPI()
    plain.router.routes.append(APIRoute("/plain", declared))
    with pytest.raises(RuntimeError, match="/plain: declare it on a router"):
        plain.build_middleware_stack()


async def _get_path(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


async def test_with_opentelemetry_on_exceptions_are_recorded_outside_the_request_middleware(
    runtime: Runtime, settings: Settings
) -> None:
    app = create_app(settings.model_copy(update={"opentelemetry": True}), runtime=runtime)
    stack = app.build_middleware_stack()
    assert isinstance(stack, ExceptionTelemetryMiddleware)
    plain = create_app(settings, runtime=runtime).build_middleware_stack()
    assert not isinstance(plain, ExceptionTelemetryMiddleware)
    response = await _get_path(app, "/health")
    assert response.status_code == 200
    assert response.headers["x-request-id"]
