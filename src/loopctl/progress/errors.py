"""The loop's refusals: one class per stable code, built from the rule table's answer."""

from loopctl.platform.errors import AppError, Conflict, Forbidden, NotFound, UnprocessableEntity
from loopctl.progress.status import Refusal


class Refused(AppError):
    """A refusal of the state machine; subclasses fix the status and code for the docs.

    A blocked self-action is answered with an error and also recorded in the audit log:
    its class sets ``keeps_changes``, so the request commits the audit entry.
    """


class RoleRefused(Refused, Forbidden):
    code = "insufficient_role"


class AgentIdentityRequired(Refused, Forbidden):
    code = "agent_identity_required"


class NotAssignee(Refused, Forbidden):
    code = "not_assignee"


class SelfReportBlocked(Refused, Conflict):
    code = "self_report_blocked"
    keeps_changes = True


class SelfReviewBlocked(Refused, Conflict):
    code = "self_review_blocked"
    keeps_changes = True


class SelfVerifyBlocked(Refused, Conflict):
    code = "self_verify_blocked"
    keeps_changes = True


class InvalidTransition(Refused, Conflict):
    code = "invalid_transition"


class AlreadyClaimed(Refused, Conflict):
    code = "already_claimed"


class AlreadyVerified(Refused, Conflict):
    code = "already_verified"


class DependenciesNotVerified(Refused, Conflict):
    code = "dependencies_not_verified"


class LeaseLost(Refused, Conflict):
    code = "lease_lost"


class LeaseExpired(Refused, Conflict):
    code = "lease_expired"


class ReviewRequired(Refused, Conflict):
    code = "review_required"


class CriteriaRequired(Refused, UnprocessableEntity):
    code = "criteria_required"


class ContractMismatch(UnprocessableEntity):
    code = "contract_mismatch"


class UnknownCriterion(UnprocessableEntity):
    code = "unknown_criterion"


class VerdictContradictsCriteria(UnprocessableEntity):
    code = "verdict_contradicts_criteria"


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
