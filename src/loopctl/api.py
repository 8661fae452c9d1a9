"""The /api/v1 router: every domain router, behind the unknown-query-parameter check."""

from fastapi import APIRouter, Depends

from loopctl.agents.endpoints import router as agents
from loopctl.api_keys.endpoints import router as api_keys
from loopctl.dependencies.endpoints import router as dependencies
from loopctl.discovery.endpoints import api_root
from loopctl.epics.endpoints import router as epics
from loopctl.import_export.endpoints import router as import_export
from loopctl.kit.query import reject_unknown_query_params
from loopctl.projects.endpoints import router as projects
from loopctl.stories.endpoints import router as stories
from loopctl.tenants.endpoints import router as tenants

router = APIRouter(prefix="/api/v1", dependencies=[Depends(reject_unknown_query_params)])
router.include_router(api_root)
router.include_router(tenants)
router.include_router(agents)
router.include_router(api_keys)
router.include_router(projects)
router.include_router(epics)
# Before stories: /stories/ready and /stories/blocked must win over /stories/{story_id}.
router.include_router(dependencies)
router.include_router(stories)
router.include_router(import_export)
