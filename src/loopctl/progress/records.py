"""What the loop leaves behind: artifacts, verdicts, criteria results, and backfills."""

from dataclasses import asdict
from datetime import UTC, datetime
from uuid import UUID

from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection
from loopctl.kit.ids import new_id
from loopctl.kit.lookup import found
from loopctl.progress import repository
from loopctl.progress.engine import actor_of, apply, decide, lock, rules_of, state_of, view
from loopctl.progress.schemas import ArtifactIn, BackfillIn, CriterionStatus, StoryProgress
from loopctl.progress.status import Action, Attempt
from loopctl.stories.errors import StoryNotFound


async def _existing(conn: Connection, story_id: UUID) -> repository.ProgressRow:
    return found(await repository.get(conn, story_id), StoryNotFound)


async def add_artifact(
    conn: Connection, principal: Principal, story_id: UUID, body: ArtifactIn
) -> repository.ArtifactRow:
    """Record an artifact of a story (a file, a PR, a test report), and who reported it."""
    story = await _existing(conn, story_id)
    return await insert_artifact(conn, principal, story, body)


async def insert_artifact(
    conn: Connection, principal: Principal, story: repository.ProgressRow, body: ArtifactIn
) -> repository.ArtifactRow:
    return await repository.insert_artifact(
        conn,
        {
            "tenant_id": principal.tenant,
            "id": new_id(),
            "project_id": story.project_id,
            "story_id": story.id,
            "reported_by_agent_id": principal.agent_id,
            "reported_by_key_id": principal.key_id,
            **body.model_dump(),
        },
    )


async def artifacts(conn: Connection, story_id: UUID) -> list[repository.ArtifactRow]:
    await _existing(conn, story_id)
    return await repository.artifacts(conn, story_id)


async def verifications(conn: Connection, story_id: UUID) -> list[repository.VerificationRow]:
    await _existing(conn, story_id)
    return await repository.verifications(conn, story_id)


async def acceptance_criteria(conn: Connection, story_id: UUID) -> list[CriterionStatus]:
    await _existing(conn, story_id)
    rows = await repository.criteria_status(conn, story_id)
    return [CriterionStatus.model_validate({**asdict(r), "description": r.criterion}) for r in rows]


async def backfill(
    conn: Connection, principal: Principal, story_id: UUID, body: BackfillIn
) -> StoryProgress:
    """Record work done before loopctl as done and verified, vouched for by a human key.

    Repeating the same backfill is a no-op (a retried request succeeds); a different one
    on a backfilled story is refused like any other change to a verified story.
    """
    locked = await lock(conn, story_id)
    record = body.model_dump()
    if locked.story.backfill is not None and _same(locked.story.backfill, record):
        return view(locked.story, principal, locked.now)
    rules = rules_of(locked)
    attempt = Attempt(Action.backfill, actor_of(principal), locked.now)
    transition = await decide(conn, principal, locked, attempt, state_of(locked))
    extra = {
        "backfill": {
            **record,
            "backfilled_at": datetime.now(UTC).isoformat(),
            "backfilled_by_key_id": str(principal.key_id),
            "source": "pre_loopctl",
        },
        "reported_done_at": locked.now,
        "verified_at": locked.now,
    }
    row = await apply(conn, principal, locked, Action.backfill, transition, rules, extra)
    return view(row, principal, locked.now)


def _same(stored: dict[str, object], record: dict[str, object]) -> bool:
    return all(stored.get(k) == v for k, v in record.items())
