"""The /api/v1 routers: every domain router; every route rejects unknown query parameters."""

from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute

from loopctl.agents.endpoints import router as agents
from loopctl.api_keys.endpoints import router as api_keys
from loopctl.dependencies.endpoints import router as dependencies
from loopctl.discovery.endpoints import api_root
from loopctl.epics.endpoints import router as epics
from loopctl.import_export.endpoints import router as import_export
from loopctl.kit.query import guarded, reject_unknown_query_params
from loopctl.projects.endpoints import router as projects
from loopctl.stories.endpoints import router as stories
from loopctl.tenants.endpoints import router as tenants

PREFIX = "/api/v1"

# In matching order.
ROUTERS: list[APIRouter] = [
    api_root,
    tenants,
    agents,
    api_keys,
    projects,
    epics,
    # Before stories: /stories/ready and /stories/blocked must win over /stories/{story_id}.
    dependencies,
    stories,
    import_export,
]


def include_api(app: FastAPI) -> None:
    """Include every domain router directly in the app, under /api/v1.

    Not through one /api/v1 router that includes the others: FastAPI matches nested
    routers level by level, twice per request, and that extra level cost about a tenth of
    an authenticated read (docs/benchmarks.md).
    """
    for router in ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute) and not guarded(route) and not _checked(route):
                # Guarded routes check unknown query parameters in their role guard, after
                # authentication; only the public ones need the check as a dependency.
                route.dependencies.append(Depends(reject_unknown_query_params))
        app.include_router(router, prefix=PREFIX)


def _checked(route: APIRoute) -> bool:
    return any(d.dependency is reject_unknown_query_params for d in route.dependencies)
