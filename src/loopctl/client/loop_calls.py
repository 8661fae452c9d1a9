"""The requests of the story loop (docs/progress.md): claims, leases, reports, verdicts, records.

``lease_token`` is the fencing token a claim returned (``lease.token``); sending it makes a
stale holder's write fail with 409 ``lease_lost``.
"""

from typing import Any

from loopctl.client.core import Call, Id, item, page, present
from loopctl.kit.schemas import Page
from loopctl.progress.schemas import (
    Artifact,
    BulkResults,
    ClaimedStory,
    CriterionStatus,
    ReviewRecord,
    StoryProgress,
    Verification,
    VerifyAllResult,
)


def _step(story_id: Id, action: str, body: dict[str, Any] | None = None) -> Call[StoryProgress]:
    return Call("POST", f"/stories/{story_id}/{action}", item(StoryProgress), body=body or {})


def _lease(lease_token: int | None) -> dict[str, Any]:
    return present(lease_token=lease_token)


def contract(
    story_id: Id, *, story_title: str | None = None, ac_count: int | None = None
) -> Call[StoryProgress]:
    """Agree to a story: an agent echoes its title and criteria count."""
    return _step(story_id, "contract", present(story_title=story_title, ac_count=ac_count))


def claim(story_id: Id) -> Call[StoryProgress]:
    """Take a contracted story; the answer carries the lease."""
    return _step(story_id, "claim")


def claim_next(*, project_id: Id | None = None, epic_id: Id | None = None) -> Call[ClaimedStory]:
    """Claim the best ready story (404 ``no_ready_story`` when there is none)."""
    body = present(project_id=project_id, epic_id=epic_id)
    return Call("POST", "/stories/claim-next", item(ClaimedStory), body=body)


def start(story_id: Id, *, lease_token: int | None = None) -> Call[StoryProgress]:
    return _step(story_id, "start", _lease(lease_token))


def heartbeat(story_id: Id, *, lease_token: int | None = None) -> Call[StoryProgress]:
    """Extend the lease by the tenant's lease TTL."""
    return _step(story_id, "heartbeat", _lease(lease_token))


def request_review(story_id: Id, *, lease_token: int | None = None) -> Call[StoryProgress]:
    return _step(story_id, "request-review", _lease(lease_token))


def unclaim(story_id: Id, *, lease_token: int | None = None) -> Call[StoryProgress]:
    return _step(story_id, "unclaim", _lease(lease_token))


def report(
    story_id: Id, *, artifact: dict[str, Any] | None = None, lease_token: int | None = None
) -> Call[StoryProgress]:
    """Report the work done (by anyone but the implementer)."""
    return _step(story_id, "report", present(artifact=artifact, lease_token=lease_token))


def review_complete(story_id: Id, review_type: str, **counts: Any) -> Call[ReviewRecord]:
    """Record a review: ``findings_count``, ``fixes_count``, ``disproved_count``, ``summary``."""
    body = present(review_type=review_type, **counts)
    return Call("POST", f"/stories/{story_id}/review-complete", item(ReviewRecord), body=body)


def verify(
    story_id: Id, *, criteria: list[dict[str, Any]] | None = None, **verdict: Any
) -> Call[StoryProgress]:
    """Verify: ``criteria`` as ``[{"id", "result", "evidence"}]``, and ``summary``, ``result``…."""
    return _step(story_id, "verify", present(criteria=criteria, **verdict))


def reject(
    story_id: Id, reason: str, *, criteria: list[dict[str, Any]] | None = None, **verdict: Any
) -> Call[StoryProgress]:
    return _step(story_id, "reject", present(reason=reason, criteria=criteria, **verdict))


def force_unclaim(story_id: Id) -> Call[StoryProgress]:
    """Take a story back from its assignee (orchestrator)."""
    return _step(story_id, "force-unclaim")


def backfill(story_id: Id, reason: str, **evidence: Any) -> Call[StoryProgress]:
    """Record work done before loopctl (user key): ``evidence`` or ``evidence_url``."""
    return _step(story_id, "backfill", present(reason=reason, **evidence))


def add_artifact(story_id: Id, artifact_type: str, path: str, **extra: Any) -> Call[Artifact]:
    body = present(artifact_type=artifact_type, path=path, **extra)
    return Call("POST", f"/stories/{story_id}/artifacts", item(Artifact), body=body)


def list_artifacts(story_id: Id) -> Call[Page[Artifact]]:
    return Call("GET", f"/stories/{story_id}/artifacts", page(Artifact))


def list_verifications(story_id: Id) -> Call[Page[Verification]]:
    """Every verdict on the story, newest first."""
    return Call("GET", f"/stories/{story_id}/verifications", page(Verification))


def acceptance_criteria(story_id: Id) -> Call[Page[CriterionStatus]]:
    """Each criterion with its latest checked result and evidence."""
    return Call("GET", f"/stories/{story_id}/acceptance_criteria", page(CriterionStatus))


def _bulk(action: str, body: dict[str, Any]) -> Call[BulkResults]:
    return Call("POST", f"/stories/bulk/{action}", BulkResults.model_validate, body=body)


def bulk_claim(story_ids: list[Id]) -> Call[BulkResults]:
    return _bulk("claim", {"story_ids": [str(s) for s in story_ids]})


def bulk_verify(stories: list[dict[str, Any]]) -> Call[BulkResults]:
    """Each item: ``story_id`` plus verify's fields."""
    return _bulk("verify", {"stories": stories})


def bulk_reject(stories: list[dict[str, Any]]) -> Call[BulkResults]:
    return _bulk("reject", {"stories": stories})


def bulk_mark_complete(stories: list[dict[str, Any]]) -> Call[BulkResults]:
    """A bulk backfill (user key)."""
    return _bulk("mark-complete", {"stories": stories})


def verify_all(epic_id: Id, **verdict: Any) -> Call[VerifyAllResult]:
    """Verify every reported, unverified story of an epic; lists those refused."""
    return Call(
        "POST", f"/epics/{epic_id}/verify-all", item(VerifyAllResult), body=present(**verdict)
    )
