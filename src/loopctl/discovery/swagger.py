"""Swagger UI from files shipped in a package (no CDN), and the entry points that lead to it."""

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from loopctl.discovery.index import OPENAPI_PATH, index_response
from loopctl.discovery.urls import base_url
from loopctl.kit.direct import DirectRoute

SWAGGER_PATH = "/swaggerui"
ASSETS_PATH = "/swaggerui/assets"
# fastapi-offline ships Swagger UI's dist files (swagger-ui-bundle.js, swagger-ui.css) and a
# favicon; only the files are used, not its app factory.
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
ASSETS = {
    "js": "swagger-ui-bundle.js",
    "css": "swagger-ui.css",
    "favicon": "favicon.png",
}

router = APIRouter(tags=["discovery"], route_class=DirectRoute)


def mount_assets(app: FastAPI) -> None:
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="swagger-ui-assets")


def _local(request: Request, path: str) -> str:
    """A link to this server: under LOOPCTL_PUBLIC_URL when set, else relative to the host
    the client used (never built from the Host header)."""
    base = base_url(request)
    return path if base.from_request else base.url + path


@router.get(SWAGGER_PATH, include_in_schema=False)
async def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=_local(request, OPENAPI_PATH),
        title="loopctl API",
        swagger_js_url=_local(request, f"{ASSETS_PATH}/{ASSETS['js']}"),
        swagger_css_url=_local(request, f"{ASSETS_PATH}/{ASSETS['css']}"),
        swagger_favicon_url=_local(request, f"{ASSETS_PATH}/{ASSETS['favicon']}"),
        # No calls to the public validator service; keys survive a page reload.
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
    )


@router.get("/swagger", include_in_schema=False)
async def swagger_alias(request: Request) -> RedirectResponse:
    return RedirectResponse(_local(request, SWAGGER_PATH), status_code=302)


@router.get("/docs", include_in_schema=False)
async def docs_alias(request: Request) -> RedirectResponse:
    return RedirectResponse(_local(request, SWAGGER_PATH), status_code=302)


@router.get("/", include_in_schema=False)
async def landing(request: Request) -> Response:
    # A browser goes to the API reference; any other client gets what /api/v1/ says.
    if "text/html" in request.headers.get("accept", ""):
        response: Response = RedirectResponse(_local(request, SWAGGER_PATH), status_code=302)
    else:
        response = index_response(request)
    response.headers["Vary"] = ", ".join(v for v in (response.headers.get("vary"), "Accept") if v)
    return response
