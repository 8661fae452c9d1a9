"""/api/v1/stories, /api/v1/epics/{epic_id}/stories and /api/v1/projects/{project_id}/stories"""

from fastapi import APIRouter

router = APIRouter(tags=["stories"])
