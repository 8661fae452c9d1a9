"""The loop's refusals: one class per stable code, built from the rule table's answer."""

from loopctl.platform.errors import AppError, Conflict, Forbidden, NotFound, UnprocessableEntity
from loopctl.progress.status import Refusal


class Refused(AppError):
    """A refusal of the state machine; subclasses fix the status and code for the docs.

    A blocked self-action is answered with an error and also recorded in the audit log:
    its class sets ``keeps_changes``, so the request commits the audit entry.
    """


class _Forbidden(Refused, Forbidden):
    """A refusal answered with 403."""


class _Conflict(Refused, Conflict):
    """A refusal answered with 409."""


class _Unprocessable(Refused, UnprocessableEntity):
    """A refusal answered with 422."""


class RoleRefused(_Forbidden):
    # The role guard's code, so not named after it.
    code = "insufficient_role"


AgentIdentityRequired = _Forbidden.variant("agent_identity_required")
NotAssignee = _Forbidden.variant("not_assignee")
# A blocked self-action's audit entry stays (keeps_changes).
SelfReportBlocked = _Conflict.variant("self_report_blocked", keeps_changes=True)
SelfReviewBlocked = _Conflict.variant("self_review_blocked", keeps_changes=True)
SelfVerifyBlocked = _Conflict.variant("self_verify_blocked", keeps_changes=True)
InvalidTransition = _Conflict.variant("invalid_transition")
AlreadyClaimed = _Conflict.variant("already_claimed")
AlreadyVerified = _Conflict.variant("already_verified")
DependenciesNotVerified = _Conflict.variant("dependencies_not_verified")
LeaseLost = _Conflict.variant("lease_lost")
LeaseExpired = _Conflict.variant("lease_expired")
ReviewRequired = _Conflict.variant("review_required")
CriteriaRequired = _Unprocessable.variant("criteria_required")
# Checks of a request's content, not refusals of the state machine.
ContractMismatch = UnprocessableEntity.variant("contract_mismatch")
UnknownCriterion = UnprocessableEntity.variant("unknown_criterion")
VerdictContradictsCriteria = UnprocessableEntity.variant("verdict_contradicts_criteria")


REFUSALS: dict[str, type[Refused]] = {
    cls.code: cls
    for cls in (
        RoleRefused,
        AgentIdentityRequired,
        NotAssignee,
        SelfReportBlocked,
        SelfReviewBlocked,
        SelfVerifyBlocked,
        InvalidTransition,
        AlreadyClaimed,
        AlreadyVerified,
        DependenciesNotVerified,
        LeaseLost,
        LeaseExpired,
        ReviewRequired,
        CriteriaRequired,
    )
}


def refused(refusal: Refusal) -> Refused:
    cls = REFUSALS[refusal.code]
    details: dict[str, object] = dict(refusal.details)
    if refusal.field is not None:
        details["errors"] = [{"field": refusal.field, "message": refusal.message}]
    return cls(refusal.message, details=details or None)


NoReadyStory = NotFound.variant(
    "no_ready_story",
    (
        "No story is ready to claim here: every one is verified, claimed, or waiting for an "
        "unverified prerequisite (GET /api/v1/stories/blocked shows what waits)"
    ),
)
