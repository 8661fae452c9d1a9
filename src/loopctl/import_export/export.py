"""Writing a project out as a "loopctl.project.v1" document.

Deterministic: epics by number, stories by natural number order, depends_on sorted the
same way; no ids and no timestamps, so exporting an import of an export gives the same
bytes. Built as plain JSON values rather than models: an export is read back through the
import's validation anyway, and must not fail on a project whose size an import would refuse.
"""

from collections import defaultdict
from typing import Any
from uuid import UUID

from loopctl.epics.rows import EpicFields
from loopctl.import_export.schemas import FORMAT
from loopctl.projects.rows import ProjectRow
from loopctl.stories.rows import StoryFields


def natural(number: str) -> tuple[int, ...]:
    """Sort key of a story number: "2.9" before "2.10"."""
    return tuple(int(part) for part in number.split("."))


def _story(story: StoryFields, depends_on: list[str]) -> dict[str, Any]:
    hours = story.estimated_hours
    return {
        "number": story.number,
        "title": story.title,
        "description": story.description,
        "acceptance_criteria": [
            {"id": c.get("id"), "criterion": c.get("criterion")} for c in story.acceptance_criteria
        ],
        "estimated_hours": None if hours is None else float(hours),
        "metadata": story.metadata,
        "depends_on": sorted(depends_on, key=natural),
        "agent_status": story.agent_status,
        "verified_status": story.verified_status,
    }


def document(
    project: ProjectRow,
    epics: list[EpicFields],
    stories: list[StoryFields],
    story_edges: list[tuple[UUID, UUID]],
    epic_edges: list[tuple[UUID, UUID]],
) -> dict[str, Any]:
    """The document; ``stories`` must come in natural number order."""
    story_number = {s.id: s.number for s in stories}
    epic_number = {e.id: e.number for e in epics}
    story_deps: dict[UUID, list[str]] = defaultdict(list)
    for a, b in story_edges:
        story_deps[a].append(story_number[b])
    epic_deps: dict[UUID, list[int]] = defaultdict(list)
    for a, b in epic_edges:
        epic_deps[a].append(epic_number[b])
    by_epic: dict[UUID, list[dict[str, Any]]] = {e.id: [] for e in epics}
    for s in stories:
        by_epic[s.epic_id].append(_story(s, story_deps[s.id]))
    return {
        "format": FORMAT,
        "project": {
            "name": project.name,
            "description": project.description,
            "repo_url": project.repo_url,
            "tech_stack": project.tech_stack,
            "mission": project.mission,
            "metadata": project.metadata,
        },
        "epics": [
            {
                "number": e.number,
                "title": e.title,
                "description": e.description,
                "phase": e.phase,
                "position": e.position,
                "metadata": e.metadata,
                "depends_on": sorted(epic_deps[e.id]),
                "stories": by_epic[e.id],
            }
            for e in epics
        ],
    }
