"""The ASGI application: ``create_app()`` builds it; uvicorn runs it as a factory."""

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.telemetry import TelemetryConfig

from loopctl.database import schema
from loopctl.database.connections import create_pool
from loopctl.discovery.endpoints import router as discovery_router
from loopctl.discovery.index import OPENAPI_PATH
from loopctl.discovery.swagger import mount_assets
from loopctl.discovery.swagger import router as swagger_router
from loopctl.discovery.urls import SlashRedirect
from loopctl.kit.stack import LoopctlAPI
from loopctl.mcp import http as mcp_http
from loopctl.platform.api import add_routes, include_api
from loopctl.platform.background import maintain
from loopctl.platform.config import VERSION, Settings
from loopctl.platform.errors import install_error_handlers
from loopctl.platform.heap import freeze_startup_objects
from loopctl.platform.middleware import RequestMiddleware
from loopctl.platform.observability import AccessLog, Metrics, configure_logging
from loopctl.platform.openapi import complete_schema
from loopctl.platform.runtime import Runtime

logger = logging.getLogger("loopctl.platform.app")
IMPORT_PATH = re.compile(r"^/api/v1/projects/[^/]+/import$")
_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}

DESCRIPTION = """\
loopctl is the shared, trustworthy record of a software project for AI coding agents and
their orchestrators: epics and stories, who claimed what, what each agent says it
finished, what an independent party verified, and an audit trail nobody can rewrite.

**Authentication.** Send `Authorization: Bearer <key>`; keys start with `lc_`. Roles, from
most to least powerful: `superadmin`, `user`, `orchestrator`, `agent`. Each operation
states the role it needs; the story loop's transitions also name the exact roles that may
make them (docs/progress.md).

**Envelopes.** A resource is `{"data": {...}}`; a list is `{"data": [...], "meta":
{"total", "total_count", "limit", "offset"}}`; an error is `{"error": {"status", "code", "message",
"details"?}}`. Match on `error.code`.
"""


def _secret(settings: Settings) -> bytes:
    if settings.secret_key is None:
        raise RuntimeError(
            "LOOPCTL_SECRET_KEY is not set; `loopctl serve` sets it for the embedded database, "
            "and `loopctl db init` prints one for an external database"
        )
    return settings.secret_key.get_secret_value().encode()


@asynccontextmanager
async def _serve_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the pool, refuse a schema this code does not match, run upkeep, then drain."""
    settings: Settings = app.state.settings
    configure_logging(settings.log_level)  # again: worker processes start fresh
    assert settings.database_url is not None, "LOOPCTL_DATABASE_URL (the app role) is not set"
    pool = create_pool(
        settings.database_url.get_secret_value(),
        name="loopctl-app",
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        statement_timeout_ms=settings.statement_timeout_ms,
    )
    await pool.open(wait=True)
    runtime = Runtime.build(settings, pool, _secret(settings))
    problem = (await schema.current_status(pool)).problem()
    if problem is not None:
        await pool.close()
        raise RuntimeError(f"refusing to serve: {problem}")
    app.state.runtime = runtime
    upkeep = asyncio.create_task(maintain(runtime, app.state.metrics, pool.get_stats))
    frozen = freeze_startup_objects()  # platform/heap.py: no 100 ms full collections
    logger.debug("froze %d start-up objects", frozen)
    try:
        yield
    finally:
        upkeep.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await upkeep
        # The change streams' listener and readers (changes/fanout.py), if a stream began.
        streams = getattr(app.state, "change_streams", None)
        if streams is not None:
            await streams.close()
        with contextlib.suppress(Exception):
            await runtime.limiter.sync(pool)
        await runtime.usage.flush(pool)
        await pool.close()


@asynccontextmanager
async def _no_lifespan(_app: FastAPI) -> AsyncIterator[None]:
    yield


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the app. Given a ``runtime`` (tests), it uses that and opens nothing itself."""
    settings = settings or (runtime.settings if runtime else Settings())
    app = LoopctlAPI(
        title="loopctl",
        version=VERSION,
        description=DESCRIPTION,
        openapi_url=OPENAPI_PATH,
        docs_url=None,  # discovery/swagger.py serves it, with packaged assets
        redoc_url=None,
        # The MCP session manager runs in the app's lifespan (mcp/http.py).
        lifespan=mcp_http.with_sessions(_no_lifespan if runtime is not None else _serve_lifespan),
        telemetry=None if settings.opentelemetry else _NO_TELEMETRY,
        opentelemetry=settings.opentelemetry,
        serve_directly=settings.direct_routes,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.access_log = AccessLog() if settings.access_log else None
    if runtime is not None:
        app.state.runtime = runtime
    install_error_handlers(app)
    include_api(app)
    add_routes(app, discovery_router)
    add_routes(app, swagger_router)
    mcp_http.mount(app)
    mount_assets(app)
    # Starlette's own trailing-slash redirect names the request's Host in its Location.
    app.router.redirect_slashes = False
    app.router.default = SlashRedirect(app.router, settings.public_url)
    templates = {
        id(route.original_route): route.path_format or ""
        for route in iter_route_contexts(app.routes)
    }
    app.add_middleware(
        RequestMiddleware,
        metrics=app.state.metrics,
        max_body_bytes=settings.max_body_bytes,
        access_log=app.state.access_log,
        templates=templates,
        larger_bodies=[(IMPORT_PATH, settings.max_import_bytes)],
    )
    cached: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not cached:
            cached.append(
                complete_schema(app, title="loopctl", version=VERSION, description=DESCRIPTION)
            )
        return cached[0]

    app.openapi = openapi  # type: ignore[method-assign]
    return app
