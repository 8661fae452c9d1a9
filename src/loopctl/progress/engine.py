"""The one path of every progress change: lock, ask the rule table, write, audit.

The public functions of ``service``, ``bulk`` and ``records`` are built on these; none of
them decides anything itself. Each transition locks the story row, asks ``status.check``,
writes what the answer says, and appends the audit entry, all in the caller's transaction.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from loopctl.audit import service as audit
from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection
from loopctl.dependencies import graph_service as dependency_graph
from loopctl.kit.lookup import found
from loopctl.progress import repository
from loopctl.progress.errors import refused
from loopctl.progress.repository import LockedRow, ProgressRow
from loopctl.progress.schemas import (
    Lease,
    NextAction,
    StoryProgress,
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


def rules_of(locked: LockedRow) -> Rules:
    """The tenant's rules, from the settings the locked read brought along."""
    settings = tenant_settings.parse(locked.settings)
    return Rules(
        lease=timedelta(seconds=settings.lease_ttl_seconds),
        auto_reset=settings.auto_reset_on_rejection,
        require_criteria=settings.require_criteria_for_verify,
    )


def state_of(locked: LockedRow, *, unmet: int = 0, unchecked: int = 0) -> StoryState:
    """The story as the rules see it, with what only the locked read knows."""
    return replace(
        _row_state(locked.story),
        reviewed_since_report=locked.reviewed_since_report,
        unmet_dependencies=unmet,
        criteria_unchecked=unchecked,
    )


def _row_state(row: ProgressRow) -> StoryState:
    """The rules' view of what the progress row itself holds."""
    return StoryState(
        agent_status=AgentStatus(row.agent_status),
        verified_status=VerifiedStatus(row.verified_status),
        assignee=row.assigned_agent_id,
        lease_expires_at=row.lease_expires_at,
        lease_token=row.lease_token,
        handed_off=row.review_requested_at is not None,
    )


def actor_of(principal: Principal) -> Actor:
    return Actor(principal.role, principal.agent_id)


def snapshot(row: ProgressRow) -> dict[str, Any]:
    """The audit log's before/after of a story's progress."""
    return {
        "agent_status": row.agent_status,
        "verified_status": row.verified_status,
        "assigned_agent_id": None if row.assigned_agent_id is None else str(row.assigned_agent_id),
        "lease_token": row.lease_token,
        "lease_expires_at": iso(row.lease_expires_at),
        "review_requested_at": iso(row.review_requested_at),
        "reported_by_agent_id": (
            None if row.reported_by_agent_id is None else str(row.reported_by_agent_id)
        ),
    }


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def view(row: ProgressRow, principal: Principal, now: datetime) -> StoryProgress:
    state = _row_state(row)
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
        for a in next_actions(state, actor_of(principal), now)
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


async def lock(conn: Connection, story_id: UUID) -> LockedRow:
    return found(await repository.lock(conn, story_id), StoryNotFound)


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


async def decide(
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


def _reorders(locked: LockedRow, transition: Transition) -> bool:
    """Whether the transition changes the project's claim order (claim_order.py).

    Verifying a story whose prerequisites are all verified changes no other unverified
    story's chain: nothing unverified leads to it. Verifying one out of dependency order,
    or the project's last story without an estimate (the weights become hours), does;
    so does undoing a verification (the story counts again)."""
    was = locked.story.verified_status == VerifiedStatus.verified.value
    will = transition.verified_status is VerifiedStatus.verified
    if was == will:
        return False
    return was or locked.unmet > 0 or locked.last_unestimated


async def apply(
    conn: Connection,
    principal: Principal,
    locked: LockedRow,
    action: Action,
    transition: Transition,
    rules: Rules,
    extra: dict[str, Any] | None = None,
) -> ProgressRow:
    return await apply_steps(conn, principal, locked, [(action, transition)], rules, extra)


async def apply_steps(
    conn: Connection,
    principal: Principal,
    locked: LockedRow,
    steps: list[tuple[Action, Transition]],
    rules: Rules,
    extra: dict[str, Any] | None = None,
) -> ProgressRow:
    """Write one or more transitions decided in a row (claim-next: contract, then claim)
    with one UPDATE, and their audit entries in one INSERT, each entry with the before
    and after of its own step, as if each step had been written on its own."""
    rows: list[ProgressRow] = [locked.story]
    values: dict[str, Any] = {}
    for _, transition in steps:
        step = _writes(LockedRow(rows[-1], False, locked.now), transition, principal, rules)
        values |= step
        rows.append(replace(rows[-1], **step))
    values |= extra or {}
    reorders = any(_reorders(locked, t) for _, t in steps)
    if reorders:
        await dependency_graph.lock_claim_order(conn, locked.story.project_id)
    row = await repository.update(conn, locked.story.id, values) if values else locked.story
    if reorders:
        await dependency_graph.refresh_claim_order(conn, row.project_id)
    rows[-1] = row
    entries = _entries(locked.story, steps, rows)
    if len(entries) == 1:  # the plain insert: no JSON document to build and unpack
        [entry] = entries
        await audit.record(
            conn,
            principal,
            entity_type=entry.entity_type,
            entity_id=entry.entity_id,
            action=entry.action,
            before=entry.before,
            after=entry.after,
            project_id=entry.project_id,
        )
    else:
        await audit.record_many(conn, principal, entries)
    return row


def _entries(
    story: ProgressRow, steps: list[tuple[Action, Transition]], rows: list[ProgressRow]
) -> list[audit.Entry]:
    entries = []
    for i, (action, transition) in enumerate(steps):
        before, after = rows[i], rows[i + 1]
        if Effect.take_expired_lease in transition.effects:
            entries.append(
                audit.Entry(
                    entity_type="story",
                    entity_id=story.id,
                    action="lease_expired",
                    before=snapshot(before),
                    after={"expired_at": iso(before.lease_expires_at)},
                    project_id=story.project_id,
                )
            )
        entries.append(
            audit.Entry(
                entity_type="story",
                entity_id=story.id,
                action=AUDIT_ACTIONS[action],
                before=snapshot(before),
                after={**snapshot(after), "transition": action.value},
                project_id=story.project_id,
            )
        )
    return entries


async def simple(
    conn: Connection,
    principal: Principal,
    story_id: UUID,
    action: Action,
    token: int | None = None,
) -> StoryProgress:
    locked = await lock(conn, story_id)
    rules = rules_of(locked)
    unmet = locked.unmet if action is Action.claim else 0
    attempt = Attempt(action, actor_of(principal), locked.now, token, rules.auto_reset)
    transition = await decide(conn, principal, locked, attempt, state_of(locked, unmet=unmet))
    row = await apply(conn, principal, locked, action, transition, rules)
    return view(row, principal, locked.now)
