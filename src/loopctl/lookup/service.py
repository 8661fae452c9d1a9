"""Resolving handles: each domain's service finds its own rows (RLS scopes every read)."""

from uuid import UUID

from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection
from loopctl.epics import service as epics
from loopctl.epics.errors import EpicNotFound
from loopctl.kit.lookup import found
from loopctl.lookup.schemas import EpicFound, Lookup, ProjectFound, StoryFound
from loopctl.projects import service as projects
from loopctl.stories import service as stories
from loopctl.stories.errors import StoryNotFound


async def resolve(
    conn: Connection,
    principal: Principal,
    project: str,
    *,
    epic: int | None = None,
    story: str | None = None,
) -> Lookup:
    """The project (by id or slug), and its epic and story by number when asked for.

    With both, the story must be in that epic (else ``story_not_found``).
    """
    row = await projects.by_handle(conn, principal, project)
    found_epic = await _epic(conn, row.id, epic) if epic is not None else None
    found_story = None
    if story is not None:
        story_row = await stories.by_number(conn, principal, row.id, story)
        if found_epic is not None and story_row.epic_id != found_epic.id:
            raise StoryNotFound(f"Story {story} is not in epic {epic}")
        found_story = StoryFound.model_validate(story_row, from_attributes=True)
    return Lookup(
        project=ProjectFound.model_validate(row, from_attributes=True),
        epic=found_epic,
        story=found_story,
    )


async def _epic(conn: Connection, project_id: UUID, number: int) -> EpicFound:
    row = found(await epics.by_number(conn, project_id, number), EpicNotFound)
    return EpicFound.model_validate(row, from_attributes=True)
