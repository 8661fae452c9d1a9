"""The story state machine, checked over every state x action x role x identity.

The rule module is pure, so the whole space (about 150,000 combinations) is enumerated and
each trust rule is asserted as a property over all of it, beside an explicit table of the
happy-path transitions.
"""

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from loopctl.auth.roles import Role
from loopctl.progress.status import (
    ROLES,
    SELF_GATES,
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
    lease_live,
    next_actions,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
A = UUID("00000000-0000-7000-8000-00000000000a")
B = UUID("00000000-0000-7000-8000-00000000000b")
LEASES = {
    "live": (NOW + timedelta(minutes=5), False),
    "expired": (NOW - timedelta(seconds=1), False),
    "handed_off": (NOW - timedelta(minutes=5), True),
}


def states() -> Iterator[StoryState]:
    # "released": nobody holds the story now, but it was claimed before (force-unclaim,
    # unclaim, a rejection's reset): its fencing token has moved.
    for agent, verified, holder, lease, reviewed, unmet, unchecked in itertools.product(
        AgentStatus, VerifiedStatus, (None, "released", A, B), LEASES, (False, True), (0, 1), (0, 2)
    ):
        assignee = holder if isinstance(holder, UUID) else None
        if assignee is None and lease != "live":
            continue  # without a holder the lease's state means nothing
        expires, handed_off = LEASES[lease]
        yield StoryState(
            agent_status=agent,
            verified_status=verified,
            assignee=assignee,
            lease_expires_at=expires if assignee else None,
            lease_token=0 if holder is None else 3,
            handed_off=handed_off and assignee is not None,
            reviewed_since_report=reviewed,
            unmet_dependencies=unmet,
            criteria_unchecked=unchecked,
        )


ACTORS = [Actor(role, agent) for role in Role for agent in (None, A, B)]
TOKENS = (None, 3, 2)


def outcomes() -> Iterator[tuple[StoryState, Attempt, Transition | Refusal]]:
    for state in states():
        for action, actor, token in itertools.product(Action, ACTORS, TOKENS):
            attempt = Attempt(action, actor, NOW, fencing_token=token)
            yield state, attempt, check(state, attempt)


ALL = list(outcomes())


def successes() -> Iterator[tuple[StoryState, Attempt, Transition]]:
    for state, attempt, result in ALL:
        if isinstance(result, Transition):
            yield state, attempt, result


def test_the_space_is_large_and_both_outcomes_occur() -> None:
    assert len(ALL) > 100_000
    assert any(isinstance(r, Transition) for _, _, r in ALL)
    assert any(isinstance(r, Refusal) for _, _, r in ALL)


def test_only_the_actions_roles_succeed() -> None:
    for _, attempt, result in ALL:
        if attempt.actor.role not in ROLES[attempt.action]:
            assert isinstance(result, Refusal)
            assert (result.status, result.code) == (403, "insufficient_role")


def test_a_key_without_an_agent_never_passes_an_identity_check() -> None:
    for _, attempt, _result in successes():
        if attempt.actor.role in (Role.agent, Role.orchestrator):
            assert attempt.actor.agent_id is not None


# Written out here rather than read from the module, so that a gate removed there fails here.
GATES = {
    Action.report: "self_report_blocked",
    Action.review_complete: "self_review_blocked",
    Action.verify: "self_verify_blocked",
    Action.reject: "self_verify_blocked",
}


def test_the_implementer_never_reports_reviews_verifies_or_rejects_its_story() -> None:
    assert SELF_GATES == GATES
    checked = 0
    for state, attempt, result in ALL:
        if attempt.action not in GATES or attempt.actor.role not in ROLES[attempt.action]:
            continue
        if state.assignee is not None and state.assignee == attempt.actor.agent_id:
            checked += 1
            assert isinstance(result, Refusal)
            assert result.status == 409
            assert result.code == GATES[attempt.action]
            assert result.audited
    assert checked > 1000


def test_only_blocked_self_actions_are_audited_refusals() -> None:
    for _, _, result in ALL:
        if isinstance(result, Refusal):
            assert result.status in (403, 409, 422)
            assert result.code
            assert result.message
            assert result.audited == result.code.startswith("self_")


def test_verified_needs_a_review_after_the_report_or_a_human_backfill() -> None:
    for state, attempt, result in successes():
        if result.verified_status is VerifiedStatus.verified and (
            state.verified_status is not VerifiedStatus.verified
        ):
            if attempt.action is Action.backfill:
                assert attempt.actor.role is Role.user
                assert state.assignee is None
                assert state.lease_token == 0
                assert state.agent_status is AgentStatus.pending
            else:
                assert attempt.action is Action.verify
                assert attempt.actor.role is Role.orchestrator
                assert state.agent_status is AgentStatus.reported_done
                assert state.reviewed_since_report
                assert state.criteria_unchecked == 0


def test_agents_never_change_the_verified_status() -> None:
    for state, attempt, result in successes():
        if attempt.actor.role is Role.agent:
            assert result.verified_status is state.verified_status


def test_holder_actions_need_the_assignee_a_live_lease_and_a_current_token() -> None:
    for state, attempt, _result in successes():
        if attempt.action in (Action.start, Action.request_review, Action.heartbeat):
            assert state.assignee == attempt.actor.agent_id
            assert lease_live(state, NOW)
            assert attempt.fencing_token in (None, state.lease_token)
        if attempt.action is Action.unclaim:
            assert state.assignee == attempt.actor.agent_id
            assert attempt.fencing_token in (None, state.lease_token)


def test_a_stale_fencing_token_is_lease_lost() -> None:
    for state, attempt, result in ALL:
        if (
            attempt.action in (Action.start, Action.heartbeat, Action.unclaim)
            and attempt.actor.role is Role.agent
            and attempt.actor.agent_id is not None
            and state.agent_status in (AgentStatus.assigned, AgentStatus.implementing)
            and attempt.fencing_token == 2
        ):
            if attempt.action is Action.start and state.agent_status is not AgentStatus.assigned:
                continue
            assert isinstance(result, Refusal)
            assert result.code == "lease_lost"


def test_claims_respect_live_leases_and_dependencies() -> None:
    for state, _, result in successes():
        if Effect.take_lease in result.effects:
            assert state.agent_status is AgentStatus.contracted
        if Effect.take_expired_lease in result.effects:
            assert state.agent_status in (AgentStatus.assigned, AgentStatus.implementing)
            assert not lease_live(state, NOW)
        if result.effects and result.effects[0] in (Effect.take_lease, Effect.take_expired_lease):
            assert state.unmet_dependencies == 0
            assert result.agent_status is AgentStatus.assigned


def test_an_expired_lease_never_blocks_another_agent() -> None:
    state = StoryState(
        AgentStatus.implementing, VerifiedStatus.unverified, A, NOW - timedelta(seconds=1), 3
    )
    result = check(state, Attempt(Action.claim, Actor(Role.agent, B), NOW))
    assert result == Transition(
        AgentStatus.assigned, VerifiedStatus.unverified, (Effect.take_expired_lease,)
    )
    for action in (Action.start, Action.heartbeat, Action.request_review):
        refused = check(state, Attempt(action, Actor(Role.agent, A), NOW))
        assert isinstance(refused, Refusal)
        assert refused.code in ("lease_lost", "invalid_transition")


def test_a_review_request_hands_the_story_off() -> None:
    state = StoryState(
        AgentStatus.implementing, VerifiedStatus.unverified, A, NOW - timedelta(hours=1), 3, True
    )
    assert lease_live(state, NOW)
    claimed = check(state, Attempt(Action.claim, Actor(Role.agent, B), NOW))
    assert isinstance(claimed, Refusal)
    assert claimed.code == "already_claimed"
    reported = check(state, Attempt(Action.report, Actor(Role.orchestrator, B), NOW))
    assert isinstance(reported, Transition)


def test_check_is_total_and_deterministic() -> None:
    sample = ALL[:: len(ALL) // 500]
    for state, attempt, result in sample:
        assert check(state, attempt) == result


HAPPY = [
    (AgentStatus.pending, Action.contract, Role.agent, A, AgentStatus.contracted),
    (AgentStatus.contracted, Action.claim, Role.agent, A, AgentStatus.assigned),
    (AgentStatus.assigned, Action.start, Role.agent, A, AgentStatus.implementing),
    (AgentStatus.implementing, Action.request_review, Role.agent, A, AgentStatus.implementing),
    (AgentStatus.implementing, Action.report, Role.orchestrator, B, AgentStatus.reported_done),
    (AgentStatus.implementing, Action.report, Role.agent, B, AgentStatus.reported_done),
    (AgentStatus.reported_done, Action.review_complete, Role.orchestrator, B, None),
    (AgentStatus.reported_done, Action.review_complete, Role.user, None, None),
    (AgentStatus.reported_done, Action.verify, Role.orchestrator, B, None),
    (AgentStatus.assigned, Action.unclaim, Role.agent, A, AgentStatus.pending),
    (AgentStatus.implementing, Action.force_unclaim, Role.orchestrator, B, AgentStatus.pending),
    (AgentStatus.reported_done, Action.reject, Role.orchestrator, B, AgentStatus.pending),
]


@pytest.mark.parametrize(("start", "action", "role", "agent", "end"), HAPPY)
def test_the_transition_table(
    start: AgentStatus, action: Action, role: Role, agent: UUID | None, end: AgentStatus | None
) -> None:
    assignee = None if start in (AgentStatus.pending, AgentStatus.contracted) else A
    state = StoryState(
        start,
        VerifiedStatus.unverified,
        assignee,
        NOW + timedelta(minutes=5) if assignee else None,
        1,
        reviewed_since_report=True,
    )
    result = check(state, Attempt(action, Actor(role, agent), NOW))
    assert isinstance(result, Transition), result
    assert result.agent_status is (end or start)


def test_reject_without_auto_reset_keeps_the_report() -> None:
    state = StoryState(AgentStatus.reported_done, VerifiedStatus.unverified, A)
    attempt = Attempt(Action.reject, Actor(Role.orchestrator, B), NOW, auto_reset=False)
    result = check(state, attempt)
    assert result == Transition(
        AgentStatus.reported_done, VerifiedStatus.rejected, (Effect.record_rejection,)
    )


def test_next_actions_are_exactly_the_loop_actions_that_check_accepts() -> None:
    for state in list(states())[::7]:
        for actor in ACTORS:
            suggested = next_actions(state, actor, NOW)
            for action in suggested:
                assert isinstance(check(state, Attempt(action, actor, NOW)), Transition)
            for action in (Action.contract, Action.claim, Action.verify):
                if isinstance(check(state, Attempt(action, actor, NOW)), Transition):
                    assert action in suggested


def test_a_report_naming_a_stale_lease_is_lease_lost() -> None:
    state = StoryState(
        AgentStatus.implementing, VerifiedStatus.unverified, A, NOW + timedelta(minutes=5), 3
    )
    stale = check(state, Attempt(Action.report, Actor(Role.orchestrator, B), NOW, 2))
    assert isinstance(stale, Refusal)
    assert stale.code == "lease_lost"
    current = check(state, Attempt(Action.report, Actor(Role.orchestrator, B), NOW, 3))
    assert isinstance(current, Transition)
