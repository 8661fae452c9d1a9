"""The story loop's transitions: REST today, MCP and the CLI next, all call these."""

from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID

from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection
from loopctl.epics import service as epics
from loopctl.kit.ids import new_id
from loopctl.platform.errors import UnprocessableEntity
from loopctl.progress import records, repository
from loopctl.progress.engine import (
    actor_of,
    apply,
    apply_steps,
    decide,
    lock,
    rules_of,
    simple,
    state_of,
    view,
)
from loopctl.progress.errors import (
    ContractMismatch,
    NoReadyStory,
    UnknownCriterion,
    VerdictContradictsCriteria,
)
from loopctl.progress.repository import ProgressRow
from loopctl.progress.schemas import (
    ClaimedStory,
    ClaimNextIn,
    ContractIn,
    CriterionCheck,
    RejectIn,
    ReportIn,
    ReviewIn,
    StoryProgress,
    VerifyIn,
)
from loopctl.progress.status import Action, AgentStatus, Attempt
from loopctl.projects import service as projects


async def contract(
    conn: Connection, principal: Principal, story_id: UUID, body: ContractIn
) -> StoryProgress:
    locked = await lock(conn, story_id)
    rules = rules_of(locked)
    attempt = Attempt(Action.contract, actor_of(principal), locked.now)
    transition = await decide(conn, principal, locked, attempt, state_of(locked))
    if principal.role_name == "agent":
        _check_echo(locked.story, body)
    row = await apply(conn, principal, locked, Action.contract, transition, rules)
    return view(row, principal, locked.now)


def _check_echo(story: ProgressRow, body: ContractIn) -> None:
    """An agent proves it read the story: its title and how many criteria it has."""
    expected = len(story.acceptance_criteria)
    if body.story_title is None or body.story_title != story.title:
        raise ContractMismatch.for_field(
            "story_title", "must equal the story's title exactly (read the story first)"
        )
    if body.ac_count is None or body.ac_count != expected:
        error = ContractMismatch.for_field(
            "ac_count", f"expected {expected} acceptance criteria, got {body.ac_count}"
        )
        raise ContractMismatch(
            error.message, details={**(error.details or {}), "expected_ac_count": expected}
        )


async def claim(
    conn: Connection, principal: Principal, story_id: UUID, token: int | None = None
) -> StoryProgress:
    return await simple(conn, principal, story_id, Action.claim, token)


async def start(
    conn: Connection, principal: Principal, story_id: UUID, token: int | None = None
) -> StoryProgress:
    return await simple(conn, principal, story_id, Action.start, token)


async def request_review(
    conn: Connection, principal: Principal, story_id: UUID, token: int | None = None
) -> StoryProgress:
    return await simple(conn, principal, story_id, Action.request_review, token)


async def heartbeat(
    conn: Connection, principal: Principal, story_id: UUID, token: int | None = None
) -> StoryProgress:
    return await simple(conn, principal, story_id, Action.heartbeat, token)


async def unclaim(
    conn: Connection, principal: Principal, story_id: UUID, token: int | None = None
) -> StoryProgress:
    return await simple(conn, principal, story_id, Action.unclaim, token)


async def force_unclaim(conn: Connection, principal: Principal, story_id: UUID) -> StoryProgress:
    return await simple(conn, principal, story_id, Action.force_unclaim)


async def report(
    conn: Connection, principal: Principal, story_id: UUID, body: ReportIn
) -> StoryProgress:
    locked = await lock(conn, story_id)
    rules = rules_of(locked)
    attempt = Attempt(Action.report, actor_of(principal), locked.now, body.lease_token)
    transition = await decide(conn, principal, locked, attempt, state_of(locked))
    row = await apply(conn, principal, locked, Action.report, transition, rules)
    if body.artifact is not None:
        await records.insert_artifact(conn, principal, row, body.artifact)
    return view(row, principal, locked.now)


async def review_complete(
    conn: Connection, principal: Principal, story_id: UUID, body: ReviewIn
) -> repository.ReviewRow:
    locked = await lock(conn, story_id)
    rules = rules_of(locked)
    attempt = Attempt(Action.review_complete, actor_of(principal), locked.now)
    transition = await decide(conn, principal, locked, attempt, state_of(locked))
    story = locked.story
    review = await repository.insert_review(
        conn,
        {
            "tenant_id": principal.tenant,
            "id": new_id(),
            "project_id": story.project_id,
            "story_id": story.id,
            "reviewer_agent_id": principal.agent_id,
            "reviewer_key_id": principal.key_id,
            **body.model_dump(),
        },
    )
    await apply(conn, principal, locked, Action.review_complete, transition, rules)
    return review


def _criteria(story: ProgressRow, checks: Sequence[CriterionCheck]) -> list[dict[str, Any]]:
    """The verdict's per-criterion results, each naming a criterion the story has."""
    known = {str(c.get("id")) for c in story.acceptance_criteria}
    seen: set[str] = set()
    for i, item in enumerate(checks):
        if item.id not in known:
            raise UnknownCriterion.for_field(
                f"criteria[{i}].id", f"the story has no acceptance criterion {item.id!r}"
            )
        if item.id in seen:
            raise UnknownCriterion.for_field(f"criteria[{i}].id", f"{item.id!r} is given twice")
        seen.add(item.id)
    return [c.model_dump() for c in checks]


def _unchecked(story: ProgressRow, checks: Sequence[CriterionCheck]) -> int:
    checked = {c.id for c in checks if c.result != "not_checked"}
    return sum(1 for c in story.acceptance_criteria if str(c.get("id")) not in checked)


async def verify(
    conn: Connection, principal: Principal, story_id: UUID, body: VerifyIn
) -> StoryProgress:
    locked = await lock(conn, story_id)
    rules = rules_of(locked)
    criteria = _criteria(locked.story, body.criteria)
    if body.result == "pass" and any(c.result == "failed" for c in body.criteria):
        raise VerdictContradictsCriteria.for_field(
            "result", "a verdict of pass cannot carry a failed criterion; reject, or use partial"
        )
    unchecked = _unchecked(locked.story, body.criteria) if rules.require_criteria else 0
    attempt = Attempt(Action.verify, actor_of(principal), locked.now)
    state = state_of(locked, unchecked=unchecked)
    transition = await decide(conn, principal, locked, attempt, state)
    await _insert_verdict(conn, principal, locked.story, body.result, body, criteria)
    row = await apply(conn, principal, locked, Action.verify, transition, rules)
    return view(row, principal, locked.now)


async def reject(
    conn: Connection, principal: Principal, story_id: UUID, body: RejectIn
) -> StoryProgress:
    locked = await lock(conn, story_id)
    rules = rules_of(locked)
    criteria = _criteria(locked.story, body.criteria)
    attempt = Attempt(Action.reject, actor_of(principal), locked.now, auto_reset=rules.auto_reset)
    transition = await decide(conn, principal, locked, attempt, state_of(locked))
    await _insert_verdict(conn, principal, locked.story, "fail", body, criteria)
    extra = {"rejection_reason": body.reason}
    row = await apply(conn, principal, locked, Action.reject, transition, rules, extra)
    return view(row, principal, locked.now)


async def _insert_verdict(
    conn: Connection,
    principal: Principal,
    story: ProgressRow,
    result: str,
    body: VerifyIn | RejectIn,
    criteria: list[dict[str, Any]],
) -> None:
    assert principal.agent_id is not None  # check() refused unbound keys
    summary = body.summary if isinstance(body, VerifyIn) else (body.summary or body.reason)
    await repository.insert_verification(
        conn,
        {
            "tenant_id": principal.tenant,
            "id": new_id(),
            "project_id": story.project_id,
            "story_id": story.id,
            "orchestrator_agent_id": principal.agent_id,
            "result": result,
            "summary": summary,
            "findings": body.findings,
            "review_type": body.review_type,
            "criteria": criteria,
        },
    )


async def claim_next(conn: Connection, principal: Principal, body: ClaimNextIn) -> ClaimedStory:
    """Pick the best claimable story for the caller and claim it, in one transaction.

    The candidate is locked with SKIP LOCKED in claim order (docs/progress.md), so
    concurrent callers each get a different story; a pending candidate is contracted on
    the caller's behalf first (the response carries the acceptance criteria the contract
    would have echoed), both written by one UPDATE with an audit entry each.
    """
    locked = await repository.lock_next(conn, body.project_id, body.epic_id)
    if locked is None:
        await _check_scope(conn, principal, body)
        raise NoReadyStory()
    rules = rules_of(locked)
    actor = actor_of(principal)
    steps = []
    state = locked
    if locked.story.agent_status == AgentStatus.pending.value:
        attempt = Attempt(Action.contract, actor, locked.now)
        transition = await decide(conn, principal, locked, attempt, state_of(locked))
        steps.append((Action.contract, transition))
        contracted = replace(locked.story, agent_status=transition.agent_status.value)
        state = replace(locked, story=contracted)
    attempt = Attempt(Action.claim, actor, locked.now)
    steps.append((Action.claim, await decide(conn, principal, state, attempt, state_of(state))))
    row = await apply_steps(conn, principal, locked, steps, rules)
    progress = view(row, principal, locked.now)
    return ClaimedStory.model_validate(
        {
            **progress.model_dump(),
            "description": locked.description,
            "acceptance_criteria": row.acceptance_criteria,
        }
    )


async def _check_scope(conn: Connection, principal: Principal, body: ClaimNextIn) -> None:
    """Nothing to claim: first say so if the project or epic asked for is not there (only
    looked up now: when a story is found, its project and epic exist and match)."""
    if body.project_id is not None:
        await projects.get(conn, principal, body.project_id)
    if body.epic_id is not None:
        epic = await epics.get(conn, principal, body.epic_id)
        if body.project_id is not None and epic.project_id != body.project_id:
            raise UnprocessableEntity.for_field("epic_id", "the epic is not in that project")
