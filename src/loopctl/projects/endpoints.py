"""/api/v1/projects"""

from fastapi import APIRouter

router = APIRouter(prefix="/projects", tags=["projects"])
