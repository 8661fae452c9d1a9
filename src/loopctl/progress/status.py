"""The story state machine: who may do what to a story in which state, as pure data.

Nothing here touches the database. The progress service reads the story (locked), builds a
``StoryState``, asks ``check()`` and either applies the returned ``Transition`` or raises the
returned ``Refusal``. Every path that changes a story's progress (single endpoints, bulk,
verify-all, backfill, import with initial statuses, MCP, CLI) goes through ``check()``, so
the trust rules live in exactly one place.

Order of checks, the same for every action: role, bound identity, the self-action gates
(implementer reporting, reviewing, verifying or rejecting its own story), state, lease and
fencing token, then the action's own preconditions. The identity gates come before the state
so that an implementer probing its own story learns nothing from a state error and every
attempt is recorded as blocked.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from loopctl.auth.roles import Role


class AgentStatus(StrEnum):
    pending = "pending"
    contracted = "contracted"
    assigned = "assigned"
    implementing = "implementing"
    reported_done = "reported_done"


class VerifiedStatus(StrEnum):
    unverified = "unverified"
    verified = "verified"
    rejected = "rejected"


class Action(StrEnum):
    contract = "contract"
    claim = "claim"
    start = "start"
    request_review = "request_review"
    heartbeat = "heartbeat"
    unclaim = "unclaim"
    report = "report"
    review_complete = "review_complete"
    verify = "verify"
    reject = "reject"
    force_unclaim = "force_unclaim"
    backfill = "backfill"


class Effect(StrEnum):
    """What the service must write besides the two status fields."""

    take_lease = "take_lease"  # assignee := caller, new lease, fencing token + 1
    take_expired_lease = "take_expired_lease"  # as take_lease; the expiry is audited
    extend_lease = "extend_lease"
    hand_off = "hand_off"  # review requested: the lease no longer expires
    release = "release"  # assignee, lease and hand-off cleared
    record_report = "record_report"  # reported_at, reported_by := caller
    record_review = "record_review"
    record_verification = "record_verification"
    record_rejection = "record_rejection"
    record_backfill = "record_backfill"


# Exact role sets, as in the reference: an orchestrator key cannot claim, an agent key cannot
# verify. The hierarchy does not apply here: the two sides of the loop are different people.
ROLES: dict[Action, frozenset[Role]] = {
    Action.contract: frozenset({Role.agent, Role.orchestrator}),
    Action.claim: frozenset({Role.agent}),
    Action.start: frozenset({Role.agent}),
    Action.request_review: frozenset({Role.agent}),
    Action.heartbeat: frozenset({Role.agent}),
    Action.unclaim: frozenset({Role.agent}),
    Action.report: frozenset({Role.agent, Role.orchestrator}),
    Action.review_complete: frozenset({Role.orchestrator, Role.user}),
    Action.verify: frozenset({Role.orchestrator}),
    Action.reject: frozenset({Role.orchestrator}),
    Action.force_unclaim: frozenset({Role.orchestrator}),
    # Pre-existing work is vouched for by a human, never by an agent identity.
    Action.backfill: frozenset({Role.user}),
}

# The implementer acting on the other side of the loop: refused, audited, never a halt.
SELF_GATES: dict[Action, str] = {
    Action.report: "self_report_blocked",
    Action.review_complete: "self_review_blocked",
    Action.verify: "self_verify_blocked",
    Action.reject: "self_verify_blocked",
}

# The implementer's own actions: they need the live lease (and a matching fencing token
# when one is presented).
HOLDER_ACTIONS = frozenset({Action.start, Action.request_review, Action.heartbeat})

_FROM: dict[Action, frozenset[AgentStatus]] = {
    Action.contract: frozenset({AgentStatus.pending}),
    # A claimed story whose lease expired is claimable again at once (see _claim).
    Action.claim: frozenset(
        {AgentStatus.contracted, AgentStatus.assigned, AgentStatus.implementing}
    ),
    Action.start: frozenset({AgentStatus.assigned}),
    Action.request_review: frozenset({AgentStatus.implementing}),
    Action.heartbeat: frozenset({AgentStatus.assigned, AgentStatus.implementing}),
    Action.unclaim: frozenset({AgentStatus.assigned, AgentStatus.implementing}),
    Action.report: frozenset({AgentStatus.implementing}),
    Action.review_complete: frozenset({AgentStatus.reported_done}),
    Action.verify: frozenset({AgentStatus.reported_done}),
    Action.reject: frozenset({AgentStatus.reported_done}),
    Action.force_unclaim: frozenset(AgentStatus),
    Action.backfill: frozenset({AgentStatus.pending}),
}

_HINTS: dict[Action, str] = {
    Action.contract: "only a pending story can be contracted",
    Action.claim: "contract the story first (POST /stories/{id}/contract)",
    Action.start: "claim the story first (POST /stories/{id}/claim)",
    Action.request_review: "start the story first (POST /stories/{id}/start)",
    Action.heartbeat: "only a claimed story has a lease to extend",
    Action.unclaim: "only a claimed story can be released",
    Action.report: "the story must be implementing (claimed and started)",
    Action.review_complete: "the story must be reported done first",
    Action.verify: "the story must be reported done first",
    Action.reject: "the story must be reported done or verified",
    Action.force_unclaim: "",
    Action.backfill: "only a story nobody has worked on yet can be backfilled",
}


@dataclass(frozen=True, slots=True)
class StoryState:
    """What the rules need to know about one story, read under its row lock."""

    agent_status: AgentStatus
    verified_status: VerifiedStatus
    assignee: UUID | None = None
    lease_expires_at: datetime | None = None
    lease_token: int = 0
    handed_off: bool = False  # review requested: the lease no longer expires
    # A review recorded after the latest report (and after the latest rejection, if any).
    reviewed_since_report: bool = False
    unmet_dependencies: int = 0
    criteria_unchecked: int = 0  # only counted when the tenant requires every criterion


@dataclass(frozen=True, slots=True)
class Actor:
    role: Role
    agent_id: UUID | None


@dataclass(frozen=True, slots=True)
class Attempt:
    action: Action
    actor: Actor
    now: datetime
    fencing_token: int | None = None
    auto_reset: bool = True  # tenant setting: a rejected story goes back to pending


@dataclass(frozen=True, slots=True)
class Transition:
    agent_status: AgentStatus
    verified_status: VerifiedStatus
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    code: str
    message: str
    field: str | None = None
    audited: bool = False  # a blocked self-action leaves an audit entry
    details: tuple[tuple[str, object], ...] = ()


def lease_live(state: StoryState, now: datetime) -> bool:
    """Whether the assignee still holds the story: an expired lease binds nobody."""
    if state.assignee is None:
        return False
    if state.handed_off or state.lease_expires_at is None:
        return True
    return state.lease_expires_at > now


def check(state: StoryState, attempt: Attempt) -> Transition | Refusal:
    """The one rule table every progress path asks."""
    action, actor = attempt.action, attempt.actor
    if actor.role not in ROLES[action]:
        allowed = sorted(ROLES[action], key=lambda role: role.level)
        names = " or ".join(role.value for role in allowed)
        details = (
            ("required_role", allowed[0].value),
            ("role", actor.role.value),
            ("allowed_roles", [role.value for role in allowed]),
        )
        return Refusal(
            403, "insufficient_role", f"{action.value} needs a key of role {names}", details=details
        )
    if actor.role in (Role.agent, Role.orchestrator) and actor.agent_id is None:
        return Refusal(403, "agent_identity_required", "this key is not bound to an agent")
    gate = SELF_GATES.get(action)
    if gate is not None and state.assignee is not None and state.assignee == actor.agent_id:
        return Refusal(409, gate, _self_message(action), audited=True)
    if state.agent_status not in _FROM[action]:
        return _wrong_state(state, action)
    return _RULES[action](state, attempt)


def _self_message(action: Action) -> str:
    verb = {"review_complete": "review"}.get(action.value, action.value)
    return f"the story's implementer cannot {verb} it; another identity must"


def _wrong_state(state: StoryState, action: Action) -> Refusal:
    message = f"cannot {action.value} a story whose agent_status is {state.agent_status.value}"
    hint = _HINTS[action]
    return Refusal(409, "invalid_transition", f"{message}: {hint}" if hint else message)


def _holder(state: StoryState, attempt: Attempt) -> Refusal | None:
    """The implementer's checks: it is the assignee, its token is current, its lease live."""
    token = attempt.fencing_token
    if token is not None and token != state.lease_token:
        return Refusal(
            409, "lease_lost", "the lease was lost: claim the story again", "lease_token"
        )
    if state.assignee != attempt.actor.agent_id:
        return Refusal(403, "not_assignee", "the story is claimed by another agent")
    if attempt.action in HOLDER_ACTIONS and not lease_live(state, attempt.now):
        return Refusal(409, "lease_lost", "the lease expired: claim the story again")
    return None


def _keep(state: StoryState, *effects: Effect) -> Transition:
    return Transition(state.agent_status, state.verified_status, effects)


def _contract(state: StoryState, _: Attempt) -> Transition | Refusal:
    if state.verified_status is VerifiedStatus.verified:
        return Refusal(409, "already_verified", "the story is verified; reject it to redo it")
    return Transition(AgentStatus.contracted, state.verified_status)


def _claim(state: StoryState, attempt: Attempt) -> Transition | Refusal:
    effect = Effect.take_lease
    if state.agent_status is not AgentStatus.contracted:
        if lease_live(state, attempt.now):
            return Refusal(409, "already_claimed", "the story is claimed and its lease is live")
        effect = Effect.take_expired_lease
    if state.unmet_dependencies:
        return Refusal(
            409,
            "dependencies_not_verified",
            f"the story waits for {state.unmet_dependencies} unverified prerequisite(s)",
        )
    return Transition(AgentStatus.assigned, state.verified_status, (effect,))


def _start(state: StoryState, attempt: Attempt) -> Transition | Refusal:
    return _holder(state, attempt) or Transition(AgentStatus.implementing, state.verified_status)


def _request_review(state: StoryState, attempt: Attempt) -> Transition | Refusal:
    return _holder(state, attempt) or _keep(state, Effect.hand_off)


def _heartbeat(state: StoryState, attempt: Attempt) -> Transition | Refusal:
    return _holder(state, attempt) or _keep(state, Effect.extend_lease)


def _unclaim(state: StoryState, attempt: Attempt) -> Transition | Refusal:
    refusal = _holder(state, attempt)
    if refusal is not None:
        return refusal
    return Transition(AgentStatus.pending, state.verified_status, (Effect.release,))


def _report(state: StoryState, attempt: Attempt) -> Transition | Refusal:
    # A reporter that names the lease it saw is refused if the story changed hands since.
    token = attempt.fencing_token
    if token is not None and token != state.lease_token:
        return Refusal(409, "lease_lost", "the story was claimed again since", "lease_token")
    if not lease_live(state, attempt.now):
        return Refusal(
            409, "lease_expired", "the implementer's lease expired; the story is up for claim"
        )
    return Transition(AgentStatus.reported_done, state.verified_status, (Effect.record_report,))


def _review_complete(state: StoryState, _: Attempt) -> Transition | Refusal:
    return _keep(state, Effect.record_review)


def _verify(state: StoryState, _: Attempt) -> Transition | Refusal:
    if state.verified_status is VerifiedStatus.verified:
        return Refusal(409, "already_verified", "the story is already verified")
    if not state.reviewed_since_report:
        return Refusal(
            409,
            "review_required",
            "record a review after the report first (POST /stories/{id}/review-complete)",
        )
    if state.criteria_unchecked:
        return Refusal(
            422,
            "criteria_required",
            f"{state.criteria_unchecked} acceptance criteria have no result; "
            "this tenant requires every criterion checked before verify",
            "criteria",
        )
    return Transition(
        AgentStatus.reported_done, VerifiedStatus.verified, (Effect.record_verification,)
    )


def _reject(state: StoryState, attempt: Attempt) -> Transition | Refusal:
    if attempt.auto_reset:
        return Transition(
            AgentStatus.pending,
            VerifiedStatus.rejected,
            (Effect.record_rejection, Effect.release),
        )
    return Transition(state.agent_status, VerifiedStatus.rejected, (Effect.record_rejection,))


def _force_unclaim(state: StoryState, _: Attempt) -> Transition | Refusal:
    if state.verified_status is VerifiedStatus.verified:
        return Refusal(409, "already_verified", "the story is verified; reject it to redo it")
    if state.agent_status is AgentStatus.pending:
        return _keep(state)
    return Transition(AgentStatus.pending, state.verified_status, (Effect.release,))


def _backfill(state: StoryState, _: Attempt) -> Transition | Refusal:
    # Only work loopctl never saw: a story claimed even once (its fencing token moved) goes
    # through the loop, so that force-unclaim then backfill cannot launder it.
    if state.verified_status is not VerifiedStatus.unverified or state.lease_token != 0:
        return Refusal(409, "invalid_transition", _HINTS[Action.backfill])
    return Transition(AgentStatus.reported_done, VerifiedStatus.verified, (Effect.record_backfill,))


_RULES = {
    Action.contract: _contract,
    Action.claim: _claim,
    Action.start: _start,
    Action.request_review: _request_review,
    Action.heartbeat: _heartbeat,
    Action.unclaim: _unclaim,
    Action.report: _report,
    Action.review_complete: _review_complete,
    Action.verify: _verify,
    Action.reject: _reject,
    Action.force_unclaim: _force_unclaim,
    Action.backfill: _backfill,
}


def next_actions(state: StoryState, actor: Actor, now: datetime) -> list[Action]:
    """The actions this caller could take next on this story, in loop order.

    Derived from ``check()`` itself, so a suggested action is never refused for a rule the
    suggestion did not know about (the lease, the self gates, the review gate).
    """
    attempt_of = {action: Attempt(action, actor, now) for action in _LOOP_ORDER}
    return [a for a in _LOOP_ORDER if isinstance(check(state, attempt_of[a]), Transition)]


# heartbeat and force_unclaim are maintenance, backfill is for work done before loopctl:
# none of them is a next step of the loop.
_LOOP_ORDER = (
    Action.contract,
    Action.claim,
    Action.start,
    Action.request_review,
    Action.report,
    Action.review_complete,
    Action.verify,
    Action.reject,
)
