"""/api/v1/projects/{project_id}/import and /export"""

from fastapi import APIRouter

router = APIRouter(tags=["import/export"])
