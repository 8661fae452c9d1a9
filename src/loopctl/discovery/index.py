"""What this server is and where to go next: the body of /api/v1/ and of / for API clients."""

from fastapi import Request

from loopctl.discovery.urls import base_url
from loopctl.kit.responses import JSONResponse
from loopctl.platform.config import VERSION

OPENAPI_PATH = "/api/v1/openapi.json"
DESCRIPTION = "Multi-tenant project state store for AI development loops"


def links(base: str) -> dict[str, str]:
    return {
        # With the slash: /api/v1 only redirects to /api/v1/.
        "api": f"{base}/api/v1/",
        "routes": f"{base}/api/v1/routes",
        "openapi": f"{base}{OPENAPI_PATH}",
        "swagger_ui": f"{base}/swaggerui",
        "health": f"{base}/health",
        "ready": f"{base}/ready",
        "metrics": f"{base}/metrics",
        "well_known": f"{base}/.well-known/loopctl",
    }


def index_response(request: Request) -> JSONResponse:
    base = base_url(request)
    body = {
        "data": {
            "name": "loopctl",
            "version": VERSION,
            "description": DESCRIPTION,
            "links": links(base.url),
        }
    }
    # Not worth caching; but a cache that keeps it anyway must key it by Host.
    headers = {"Vary": "Host"} if base.from_request else {}
    return JSONResponse(body, headers=headers)
