"""The /api/v1 router: every domain router, behind the unknown-query-parameter check."""

from fastapi import APIRouter, Depends

from loopctl.agents.endpoints import router as agents
from loopctl.api_keys.endpoints import router as api_keys
from loopctl.discovery.endpoints import api_root
from loopctl.kit.query import reject_unknown_query_params
from loopctl.tenants.endpoints import router as tenants

router = APIRouter(prefix="/api/v1", dependencies=[Depends(reject_unknown_query_params)])
router.include_router(api_root)
router.include_router(tenants)
router.include_router(agents)
router.include_router(api_keys)
