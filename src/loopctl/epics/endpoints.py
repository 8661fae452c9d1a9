"""/api/v1/epics and /api/v1/projects/{project_id}/epics"""

from fastapi import APIRouter

router = APIRouter(tags=["epics"])
