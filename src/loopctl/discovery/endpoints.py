"""Public discovery: health, readiness, the API root, the well-known document, metrics."""

import hashlib
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from loopctl.database import schema
from loopctl.discovery.index import OPENAPI_PATH, index_response, links
from loopctl.discovery.urls import base_url
from loopctl.kit.direct import DirectRoute
from loopctl.kit.openapi import errors
from loopctl.kit.query import reject_unknown_query_params
from loopctl.kit.responses import JSONResponse, dumps
from loopctl.kit.routers import api_router
from loopctl.platform.config import VERSION
from loopctl.platform.errors import ServiceUnavailable
from loopctl.platform.runtime import RuntimeDep

router = APIRouter(tags=["discovery"], route_class=DirectRoute)
api_root = api_router(tag="discovery")


class NotReady(ServiceUnavailable):
    code = "not_ready"
    default_message = "Not ready"


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process is up (no database check; see /ready)."""
    return {"status": "ok", "version": VERSION}


@router.get("/ready", responses=errors(NotReady))
async def ready(rt: RuntimeDep) -> dict[str, Any]:
    """Readiness: the database answers and its schema is the one this server needs."""
    try:
        status = await schema.current_status(rt.connections)
    except Exception as exc:
        raise NotReady(
            "The database is not reachable",
            details={
                "checks": {"database": "error", "schema": "unknown"},
                "error": type(exc).__name__,
            },
        ) from exc
    problem = status.problem()
    if problem is not None:
        raise NotReady(
            problem, details={"checks": {"database": "ok", "schema": status.state.value}}
        )
    return {"status": "ready", "version": VERSION, "checks": {"database": "ok", "schema": "ok"}}


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.scrape_registry()
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/.well-known/loopctl")
async def well_known(request: Request, rt: RuntimeDep) -> Response:
    """What this server is and how to talk to it (RFC 8615 discovery document)."""
    base = base_url(request)
    document = {
        "name": "loopctl",
        "version": VERSION,
        "api_base": f"{base.url}/api/v1",
        "auth": {
            "scheme": "bearer",
            "header": "Authorization",
            "format": "Authorization: Bearer lc_<43+ URL-safe base64 characters>",
            "roles": ["superadmin", "user", "orchestrator", "agent"],
            "client_env": [
                "LOOPCTL_SERVER",
                "LOOPCTL_API_KEY",
                "LOOPCTL_AGENT_KEY",
                "LOOPCTL_ORCH_KEY",
                "LOOPCTL_USER_KEY",
            ],
            "signup": {
                "enabled": rt.settings.allow_signup,
                "url": f"{base.url}/api/v1/tenants/register",
            },
        },
        "docs": {"openapi": f"{base.url}{OPENAPI_PATH}", "swagger_ui": f"{base.url}/swaggerui"},
        "links": links(base.url),
    }
    body = dumps(document)
    etag = 'W/"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    headers = {**base.cache_headers(max_age=300), "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@api_root.get("/", dependencies=[Depends(reject_unknown_query_params)])
async def api_index(request: Request) -> JSONResponse:
    """What this server is, and where to go next (no key needed)."""
    return index_response(request)
