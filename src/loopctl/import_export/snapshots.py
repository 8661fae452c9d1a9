"""Audit rows for an import: one per epic, story and edge created or changed.

Snapshots have the shape of the entities' API views (GET /epics/{id}, GET /stories/{id},
the dependency views),
built as plain dicts (ids left as UUIDs and timestamps formatted once, for the JSON encoder):
at 40,000 rows, a response model per row would cost more than the insert itself.
"""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from loopctl.audit.service import Entry
from loopctl.epics.rows import EpicValues
from loopctl.import_export.plan import Plan
from loopctl.stories.rows import StoryValues


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def epic(project_id: UUID, row: EpicValues, created: str, updated: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "project_id": project_id,
        "number": row.number,
        "title": row.title,
        "description": row.description,
        "phase": row.phase,
        "position": row.position,
        "metadata": row.metadata,
        "created_at": created,
        "updated_at": updated,
    }


def story(
    project_id: UUID,
    row: StoryValues,
    epic_number: int,
    created: str,
    updated: str,
) -> dict[str, Any]:
    return {
        "id": row.id,
        "project_id": project_id,
        "epic_id": row.epic_id,
        "epic_number": epic_number,
        "number": row.number,
        "title": row.title,
        "description": row.description,
        "acceptance_criteria": row.acceptance_criteria,
        "estimated_hours": None if row.estimated_hours is None else float(row.estimated_hours),
        "metadata": row.metadata,
        "agent_status": row.agent_status,
        "verified_status": row.verified_status,
        "created_at": created,
        "updated_at": updated,
    }


def entries(project_id: UUID, plan: Plan, at: datetime) -> list[Entry]:
    """Rows for everything the plan creates or changes, parents first."""
    number = plan.epic_numbers
    now = _stamp(at)
    out: list[Entry] = []

    def add(kind: str, entity_id: UUID, action: str, before: Any, after: Any) -> None:
        out.append(Entry(kind, entity_id, action, before, after, project_id))

    for e in plan.new_epics:
        add("epic", e.id, "created", None, epic(project_id, e, now, now))
    for old, e in plan.changed_epics:
        created = _stamp(old.created_at)
        before = epic(project_id, old, created, _stamp(old.updated_at))
        add("epic", e.id, "updated", before, epic(project_id, e, created, now))
    for s in plan.new_stories:
        add("story", s.id, "created", None, story(project_id, s, number[s.epic_id], now, now))
        if (s.agent_status, s.verified_status) != ("pending", "unverified"):
            # Progress brought by a document is pre-existing work, done before this server
            # saw the story: recorded as a backfill by the (user) key that imported it.
            backfill = {
                "agent_status": s.agent_status,
                "verified_status": s.verified_status,
                "source": "pre_loopctl",
                "via": "import",
            }
            add("story", s.id, "backfilled", None, backfill)
    for old_story, s in plan.changed_stories:
        created = _stamp(old_story.created_at)
        updated = _stamp(old_story.updated_at)
        before = story(project_id, old_story, number[old_story.epic_id], created, updated)
        add("story", s.id, "updated", before, story(project_id, s, number[s.epic_id], created, now))
    # Edges in the shape of GET /story_dependencies and /epic_dependencies, as the
    # dependencies service records them.
    stories = plan.story_numbers
    for d in plan.new_story_edges:
        edge = {
            "id": d.id,
            "project_id": project_id,
            "story_id": d.story_id,
            "story_number": stories[d.story_id],
            "story_epic_id": d.story_epic_id,
            "depends_on_story_id": d.depends_on_story_id,
            "depends_on_story_number": stories[d.depends_on_story_id],
            "depends_on_epic_id": d.depends_on_epic_id,
            "created_at": now,
        }
        add("story_dependency", d.id, "created", None, edge)
    for g in plan.new_epic_edges:
        edge = {
            "id": g.id,
            "project_id": project_id,
            "epic_id": g.epic_id,
            "epic_number": number[g.epic_id],
            "depends_on_epic_id": g.depends_on_epic_id,
            "depends_on_epic_number": number[g.depends_on_epic_id],
            "created_at": now,
        }
        add("epic_dependency", g.id, "created", None, edge)
    return out
