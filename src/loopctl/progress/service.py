"""The story loop: every progress change goes through ``_advance`` and the rule table.

REST today (and MCP and the CLI next) call these functions; none of them decides anything
itself. Each one locks the story row, asks ``status.check``, writes what the answer says,
and appends the audit entry, all in the caller's transaction.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from loopctl.audit import service as audit
from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection
from loopctl.dependencies import graph_service as dependency_graph
from loopctl.epics import service as epics
from loopctl.kit.ids import new_id
from loopctl.platform.errors import UnprocessableEntity
from loopctl.progress import repository
from loopctl.progress.errors import ContractMismatch, NoReadyStory, UnknownCriterion, refused
from loopctl.progress.repository import LockedRow, ProgressRow
from loopctl.progress.schemas import (
    ArtifactIn,
    ClaimedStory,
    ClaimNextIn,
    ContractIn,
    CriterionCheck,
    Lease,
    NextAction,
    RejectIn,
    ReportIn,
    ReviewIn,
    StoryProgress,
    VerifyIn,
)
from loopctl.progress.status import (
    Action,
    Actor,
    AgentStatus,
    Attempt,
    Effect,
    Refusal,
    StoryState,
    Transition,
    VerifiedStatus,
    check,
    next_actions,
)
from loopctl.projects import service as projects
from loopctl.stories.errors import StoryNotFound
from loopctl.tenants import settings as tenant_settings

# The audit action of each transition: the reference's names where it has one, so that
# history readers written for it keep working.
AUDIT_ACTIONS = {
    Action.contract: "status_changed",
    Action.claim: "status_changed",
    Action.start: "status_changed",
    Action.request_review: "review_requested",
    Action.heartbeat: "lease_extended",
    Action.unclaim: "status_changed",
    Action.report: "status_changed",
    Action.review_complete: "review_completed",
    Action.verify: "verified",
    Action.reject: "rejected",
    Action.force_unclaim: "force_unclaimed",
    Action.backfill: "backfilled",
}

_PATHS: dict[Action, tuple[str, dict[str, Any]]] = {
    Action.contract: ("contract", {"story_title": "<the story's title>", "ac_count": 0}),
    Action.claim: ("claim", {}),
    Action.start: ("start", {"lease_token": 0}),
    Action.request_review: ("request-review", {"lease_token": 0}),
    Action.report: ("report", {}),
    Action.review_complete: ("review-complete", {"review_type": "<kind of review>"}),
    Action.verify: ("verify", {"summary": "<what was checked>"}),
    Action.reject: ("reject", {"reason": "<why>"}),
}


@dataclass(frozen=True, slots=True)
class Rules:
    lease: timedelta
    auto_reset: bool
    require_criteria: bool


async def _rules(conn: Connection, principal: Principal) -> Rules:
    settings = await tenant_settings.load(conn, principal.tenant)
    return Rules(
        lease=timedelta(seconds=settings.lease_ttl_seconds),
        auto_reset=settings.auto_reset_on_rejection,
        require_criteria=settings.require_criteria_for_verify,
    )


def _state(locked: LockedRow, *, unmet: int = 0, unchecked: int = 0) -> StoryState:
    s = locked.story
    return StoryState(
        agent_status=AgentStatus(s.agent_status),
        verified_status=VerifiedStatus(s.verified_status),
        assignee=s.assigned_agent_id,
        lease_expires_at=s.lease_expires_at,
        lease_token=s.lease_token,
        handed_off=s.review_requested_at is not None,
        reviewed_since_report=locked.reviewed_since_report,
        unmet_dependencies=unmet,
        criteria_unchecked=unchecked,
    )


def _actor(principal: Principal) -> Actor:
    return Actor(principal.role, principal.agent_id)


def snapshot(row: ProgressRow) -> dict[str, Any]:
    """The audit log's before/after of a story's progress."""
    return {
        "agent_status": row.agent_status,
        "verified_status": row.verified_status,
        "assigned_agent_id": None if row.assigned_agent_id is None else str(row.assigned_agent_id),
        "lease_token": row.lease_token,
        "lease_expires_at": _iso(row.lease_expires_at),
        "review_requested_at": _iso(row.review_requested_at),
        "reported_by_agent_id": (
            None if row.reported_by_agent_id is None else str(row.reported_by_agent_id)
        ),
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def view(row: ProgressRow, principal: Principal, now: datetime) -> StoryProgress:
    state = StoryState(
        agent_status=AgentStatus(row.agent_status),
        verified_status=VerifiedStatus(row.verified_status),
        assignee=row.assigned_agent_id,
        lease_expires_at=row.lease_expires_at,
        lease_token=row.lease_token,
        handed_off=row.review_requested_at is not None,
    )
    lease = None
    if row.assigned_agent_id is not None and row.agent_status in ("assigned", "implementing"):
        expires = None if row.review_requested_at is not None else row.lease_expires_at
        lease = Lease(agent_id=row.assigned_agent_id, token=row.lease_token, expires_at=expires)
    actions = [
        NextAction(
            action=a.value,
            path=f"/api/v1/stories/{row.id}/{_PATHS[a][0]}",
            required_body=_body_hint(a, row),
        )
        for a in next_actions(state, _actor(principal), now)
    ]
    return StoryProgress.model_validate(
        {**{f: getattr(row, f) for f in _VIEW_FIELDS}, "lease": lease, "next_actions": actions}
    )


_VIEW_FIELDS = tuple(f for f in StoryProgress.model_fields if f not in ("lease", "next_actions"))


def _body_hint(action: Action, row: ProgressRow) -> dict[str, Any]:
    if action is Action.contract:
        return {"story_title": row.title, "ac_count": len(row.acceptance_criteria)}
    if action in (Action.start, Action.request_review):
        return {"lease_token": row.lease_token}
    return dict(_PATHS[action][1])


async def _lock(conn: Connection, story_id: UUID) -> LockedRow:
    locked = await repository.lock(conn, story_id)
    if locked is None:
        raise StoryNotFound()
    return locked


async def _refuse(
    conn: Connection, principal: Principal, locked: LockedRow, action: Action, refusal: Refusal
) -> None:
    if refusal.audited:
        await audit.record(
            conn,
            principal,
            entity_type="story",
            entity_id=locked.story.id,
            action=refusal.code,
            before=snapshot(locked.story),
            after={"attempted": action.value, "refused": refusal.code},
            project_id=locked.story.project_id,
        )
    raise refused(refusal)


async def _decide(
    conn: Connection,
    principal: Principal,
    locked: LockedRow,
    attempt: Attempt,
    state: StoryState,
) -> Transition:
    result = check(state, attempt)
    if isinstance(result, Refusal):
        await _refuse(conn, principal, locked, attempt.action, result)
        raise AssertionError("unreachable")  # _refuse always raises
    return result


def _writes(
    locked: LockedRow, transition: Transition, principal: Principal, rules: Rules
) -> dict[str, Any]:
    """The columns a transition sets, from its status pair and its effects."""
    now, story = locked.now, locked.story
    values: dict[str, Any] = {}
    if transition.agent_status.value != story.agent_status:
        values["agent_status"] = transition.agent_status.value
    if transition.verified_status.value != story.verified_status:
        values["verified_status"] = transition.verified_status.value
    for effect in transition.effects:
        if effect in (Effect.take_lease, Effect.take_expired_lease):
            values |= {
                "assigned_agent_id": principal.agent_id,
                "assigned_at": now,
                "lease_expires_at": now + rules.lease,
                "lease_token": story.lease_token + 1,
                "review_requested_at": None,
            }
        elif effect is Effect.extend_lease:
            values["lease_expires_at"] = now + rules.lease
        elif effect is Effect.hand_off:
            values["review_requested_at"] = story.review_requested_at or now
        elif effect is Effect.release:
            values |= dict.fromkeys(
                (
                    "assigned_agent_id",
                    "assigned_at",
                    "lease_expires_at",
                    "review_requested_at",
                    "reported_done_at",
                    "reported_by_agent_id",
                )
            )
        elif effect is Effect.record_report:
            values |= {"reported_done_at": now, "reported_by_agent_id": principal.agent_id}
        elif effect is Effect.record_verification:
            values |= {"verified_at": now, "rejected_at": None, "rejection_reason": None}
        elif effect is Effect.record_rejection:
            values |= {"rejected_at": now, "verified_at": None}
    return values


async def _apply(
    conn: Connection,
    principal: Principal,
    locked: LockedRow,
    action: Action,
    transition: Transition,
    rules: Rules,
    extra: dict[str, Any] | None = None,
) -> ProgressRow:
    values = _writes(locked, transition, principal, rules) | (extra or {})
    row = await repository.update(conn, locked.story.id, values) if values else locked.story
    if Effect.take_expired_lease in transition.effects:
        await audit.record(
            conn,
            principal,
            entity_type="story",
            entity_id=row.id,
            action="lease_expired",
            before=snapshot(locked.story),
            after={"expired_at": _iso(locked.story.lease_expires_at)},
            project_id=row.project_id,
        )
    await audit.record(
        conn,
        principal,
        entity_type="story",
        entity_id=row.id,
        action=AUDIT_ACTIONS[action],
        before=snapshot(locked.story),
        after={**snapshot(row), "transition": action.value},
        project_id=row.project_id,
    )
    return row


async def _simple(
    conn: Connection,
    principal: Principal,
    story_id: UUID,
    action: Action,
    token: int | None = None,
) -> StoryProgress:
    locked = await _lock(conn, story_id)
    rules = await _rules(conn, principal)
    unmet = 0
    if action is Action.claim:
        unmet = await dependency_graph.unmet_prerequisites(
            conn, locked.story.id, locked.story.epic_id
        )
    attempt = Attempt(action, _actor(principal), locked.now, token, rules.auto_reset)
    transition = await _decide(conn, principal, locked, attempt, _state(locked, unmet=unmet))
    row = await _apply(conn, principal, locked, action, transition, rules)
    return view(row, principal, locked.now)


async def contract(
    conn: Connection, principal: Principal, story_id: UUID, body: ContractIn
) -> StoryProgress:
    locked = await _lock(conn, story_id)
    rules = await _rules(conn, principal)
    attempt = Attempt(Action.contract, _actor(principal), locked.now)
    transition = await _decide(conn, principal, locked, attempt, _state(locked))
    if principal.role_name == "agent":
        _check_echo(locked.story, body)
    row = await _apply(conn, principal, locked, Action.contract, transition, rules)
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
    return await _simple(conn, principal, story_id, Action.claim, token)


async def start(
    conn: Connection, principal: Principal, story_id: UUID, token: int | None = None
) -> StoryProgress:
    return await _simple(conn, principal, story_id, Action.start, token)


async def request_review(
    conn: Connection, principal: Principal, story_id: UUID, token: int | None = None
) -> StoryProgress:
    return await _simple(conn, principal, story_id, Action.request_review, token)


async def heartbeat(
    conn: Connection, principal: Principal, story_id: UUID, token: int | None = None
) -> StoryProgress:
    return await _simple(conn, principal, story_id, Action.heartbeat, token)


async def unclaim(
    conn: Connection, principal: Principal, story_id: UUID, token: int | None = None
) -> StoryProgress:
    return await _simple(conn, principal, story_id, Action.unclaim, token)


async def force_unclaim(conn: Connection, principal: Principal, story_id: UUID) -> StoryProgress:
    return await _simple(conn, principal, story_id, Action.force_unclaim)


async def report(
    conn: Connection, principal: Principal, story_id: UUID, body: ReportIn
) -> StoryProgress:
    locked = await _lock(conn, story_id)
    rules = await _rules(conn, principal)
    attempt = Attempt(Action.report, _actor(principal), locked.now, body.lease_token)
    transition = await _decide(conn, principal, locked, attempt, _state(locked))
    row = await _apply(conn, principal, locked, Action.report, transition, rules)
    if body.artifact is not None:
        await _insert_artifact(conn, principal, row, body.artifact)
    return view(row, principal, locked.now)


async def review_complete(
    conn: Connection, principal: Principal, story_id: UUID, body: ReviewIn
) -> repository.ReviewRow:
    locked = await _lock(conn, story_id)
    rules = await _rules(conn, principal)
    attempt = Attempt(Action.review_complete, _actor(principal), locked.now)
    transition = await _decide(conn, principal, locked, attempt, _state(locked))
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
    await _apply(conn, principal, locked, Action.review_complete, transition, rules)
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
    locked = await _lock(conn, story_id)
    rules = await _rules(conn, principal)
    criteria = _criteria(locked.story, body.criteria)
    if body.result == "pass" and any(c.result == "failed" for c in body.criteria):
        raise UnknownCriterion.for_field(
            "result", "a verdict of pass cannot carry a failed criterion; reject, or use partial"
        )
    unchecked = _unchecked(locked.story, body.criteria) if rules.require_criteria else 0
    attempt = Attempt(Action.verify, _actor(principal), locked.now)
    state = _state(locked, unchecked=unchecked)
    transition = await _decide(conn, principal, locked, attempt, state)
    await _insert_verdict(conn, principal, locked.story, body.result, body, criteria)
    row = await _apply(conn, principal, locked, Action.verify, transition, rules)
    return view(row, principal, locked.now)


async def reject(
    conn: Connection, principal: Principal, story_id: UUID, body: RejectIn
) -> StoryProgress:
    locked = await _lock(conn, story_id)
    rules = await _rules(conn, principal)
    criteria = _criteria(locked.story, body.criteria)
    attempt = Attempt(Action.reject, _actor(principal), locked.now, auto_reset=rules.auto_reset)
    transition = await _decide(conn, principal, locked, attempt, _state(locked))
    await _insert_verdict(conn, principal, locked.story, "fail", body, criteria)
    extra = {"rejection_reason": body.reason}
    row = await _apply(conn, principal, locked, Action.reject, transition, rules, extra)
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


async def _insert_artifact(
    conn: Connection, principal: Principal, story: ProgressRow, body: ArtifactIn
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


async def verifications(conn: Connection, story_id: UUID) -> list[repository.VerificationRow]:
    if await repository.get(conn, story_id) is None:
        raise StoryNotFound()
    return await repository.verifications(conn, story_id)


async def claim_next(conn: Connection, principal: Principal, body: ClaimNextIn) -> ClaimedStory:
    """Pick the best claimable story for the caller and claim it, in one transaction.

    The candidate is locked with SKIP LOCKED, so concurrent callers each get a different
    story; a pending candidate is contracted on the caller's behalf first (the response
    carries the acceptance criteria the contract would have echoed).
    """
    if body.project_id is not None:
        await projects.get(conn, principal, body.project_id)
    if body.epic_id is not None:
        epic = await epics.get(conn, principal, body.epic_id)
        if body.project_id is not None and epic.project_id != body.project_id:
            raise UnprocessableEntity.for_field("epic_id", "the epic is not in that project")
    story_id = await dependency_graph.lock_next_claimable(conn, body.project_id, body.epic_id)
    if story_id is None:
        raise NoReadyStory()
    locked = await _lock(conn, story_id)
    rules = await _rules(conn, principal)
    actor = _actor(principal)
    if locked.story.agent_status == AgentStatus.pending.value:
        attempt = Attempt(Action.contract, actor, locked.now)
        transition = await _decide(conn, principal, locked, attempt, _state(locked))
        row = await _apply(conn, principal, locked, Action.contract, transition, rules)
        locked = LockedRow(row, locked.reviewed_since_report, locked.now)
    attempt = Attempt(Action.claim, actor, locked.now)
    transition = await _decide(conn, principal, locked, attempt, _state(locked))
    row = await _apply(conn, principal, locked, Action.claim, transition, rules)
    progress = view(row, principal, locked.now)
    return ClaimedStory.model_validate(
        {
            **progress.model_dump(),
            "description": await repository.description(conn, row.id),
            "acceptance_criteria": row.acceptance_criteria,
        }
    )
