"""Domain routers: declared with their full ``/api/v1`` path, served by ``DirectRoute``."""

from fastapi import APIRouter

from loopctl.kit.direct import DirectRoute

API_PREFIX = "/api/v1"


def api_router(prefix: str = "", *, tag: str) -> APIRouter:
    """A router whose routes ``api.include_api`` adds to the app as they are.

    The full path is part of each route (rather than given to ``include_router``) because
    FastAPI 0.165 serves an included router's routes through a per-inclusion context,
    matched router by router on every request; a route added directly is one regex.
    """
    return APIRouter(prefix=API_PREFIX + prefix, tags=[tag], route_class=DirectRoute)
