"""Dependencies and graph queries: /api/v1/story_dependencies, /epic_dependencies,
/stories/ready, /stories/blocked, /projects/{id}/dependency_graph, /critical_path."""

from fastapi import APIRouter

router = APIRouter(tags=["dependencies"])
