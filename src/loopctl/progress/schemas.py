"""Request and response bodies of the story loop."""

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BeforeValidator, Field, StringConstraints, model_validator

from loopctl.kit.fields import at_fields, not_bool
from loopctl.kit.schemas import Input, Metadata, Output, Timestamp

ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00]*$"),
]
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=50_000, pattern=r"^[^\x00]*$")
]
Reason = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=10_000, pattern=r"^[^\x00]*$"
    ),
]
Count = Annotated[int, BeforeValidator(not_bool), Field(ge=0, le=1_000_000)]
LeaseToken = Annotated[
    int,
    BeforeValidator(not_bool),
    Field(
        ge=0,
        le=2**63 - 1,
        description="The fencing token claim returned; a stale one is refused (409 lease_lost)",
    ),
]


class LeaseIn(Input):
    """The implementer's writes (start, heartbeat, request-review, unclaim)."""

    lease_token: LeaseToken | None = None


class ContractIn(Input):
    story_title: str | None = Field(
        default=None, max_length=500, description="Must equal the story's title (agents)"
    )
    ac_count: Annotated[int, BeforeValidator(not_bool)] | None = Field(
        default=None, ge=0, le=1000, description="Must equal the number of acceptance criteria"
    )


class ArtifactIn(Input):
    artifact_type: ShortText
    path: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=1, max_length=2000, pattern=r"^[^\x00]*$"
        ),
    ]
    exists: bool = True
    details: Metadata = Field(default_factory=dict)


class ReportIn(Input):
    artifact: ArtifactIn | None = None
    lease_token: LeaseToken | None = None


class ReviewIn(Input):
    review_type: ShortText
    findings_count: Count = 0
    fixes_count: Count = 0
    disproved_count: Count = 0
    summary: LongText | None = None

    @model_validator(mode="after")
    def _every_finding_accounted(self) -> "ReviewIn":
        missing = self.findings_count - self.fixes_count - self.disproved_count
        if missing > 0:
            raise at_fields(
                self,
                ("fixes_count", "disproved_count"),
                f"{self.findings_count} findings but only {self.fixes_count} fixed and "
                f"{self.disproved_count} disproved: every finding must be fixed or disproved "
                f"({missing} unaccounted for)",
                "findings_unaccounted",
            )
        return self


CriterionResult = Literal["passed", "failed", "not_checked"]


class CriterionCheck(Input):
    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,50}$")]
    result: CriterionResult
    evidence: LongText | None = Field(
        default=None, description="The command run and its outcome, or an artifact reference"
    )


class VerdictIn(Input):
    summary: LongText | None = None
    review_type: ShortText | None = None
    findings: Metadata = Field(default_factory=dict)
    criteria: list[CriterionCheck] = Field(default_factory=list, max_length=100)


class VerifyIn(VerdictIn):
    result: Literal["pass", "partial"] = "pass"
    commit_sha: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{7,64}$")] | None = None


class RejectIn(VerdictIn):
    reason: Reason


class Lease(Output):
    agent_id: UUID
    token: int
    expires_at: Timestamp | None = Field(description="null once review is requested")


class NextAction(Output):
    action: str
    method: Literal["POST"] = "POST"
    path: str
    required_body: dict[str, Any]


class StoryProgress(Output):
    id: UUID
    project_id: UUID
    epic_id: UUID
    number: str
    title: str
    agent_status: str
    verified_status: str
    assigned_agent_id: UUID | None
    assigned_at: Timestamp | None
    lease: Lease | None
    review_requested_at: Timestamp | None
    reported_done_at: Timestamp | None
    reported_by_agent_id: UUID | None
    verified_at: Timestamp | None
    rejected_at: Timestamp | None
    rejection_reason: str | None
    updated_at: Timestamp
    next_actions: list[NextAction]


class ReviewRecord(Output):
    id: UUID
    story_id: UUID
    reviewer_agent_id: UUID | None
    review_type: str
    findings_count: int
    fixes_count: int
    disproved_count: int
    summary: str | None
    completed_at: Timestamp


class Verification(Output):
    id: UUID
    story_id: UUID
    orchestrator_agent_id: UUID
    result: str
    summary: str | None
    findings: dict[str, Any]
    review_type: str | None
    criteria: list[dict[str, Any]]
    iteration: int
    created_at: Timestamp


class Artifact(Output):
    id: UUID
    story_id: UUID
    artifact_type: str
    path: str
    exists: bool
    details: dict[str, Any]
    reported_by_agent_id: UUID | None
    created_at: Timestamp


class ClaimNextIn(Input):
    project_id: UUID | None = Field(default=None, description="Only stories of this project")
    epic_id: UUID | None = Field(default=None, description="Only stories of this epic")


class ClaimedStory(StoryProgress):
    description: str | None
    acceptance_criteria: list[dict[str, Any]]


class CriterionStatus(Output):
    id: str
    criterion: str
    description: str = Field(description="The same text as criterion (the reference's name)")
    result: CriterionResult | None = Field(description="The latest checked result, or null")
    evidence: str | None
    iteration: int | None = Field(description="The verification iteration that checked it")
    checked_at: Timestamp | None
    checked_by_agent_id: UUID | None


HttpUrl = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=2000, pattern=r"^https?://[^/@\s\x00]+(/[^\s\x00]*)?$"
    ),
]


class BackfillIn(Input):
    reason: Reason = Field(description="Why this work predates loopctl")
    evidence: LongText | None = Field(
        default=None, description="What shows the work is done (a command and its output, ...)"
    )
    evidence_url: HttpUrl | None = Field(
        default=None, description="http(s) link to the evidence, without credentials"
    )
    pr_number: Annotated[int, BeforeValidator(not_bool), Field(ge=1, le=2**31 - 1)] | None = None

    @model_validator(mode="after")
    def _some_evidence(self) -> "BackfillIn":
        if not (self.evidence or self.evidence_url):
            raise at_fields(
                self,
                ("evidence", "evidence_url"),
                "give evidence or evidence_url: backfill records what it rests on",
                "evidence_required",
            )
        return self


BULK_MAX = 50
StoryIds = Annotated[list[UUID], Field(min_length=1, max_length=BULK_MAX)]


class BulkClaimIn(Input):
    story_ids: StoryIds


class BulkVerifyItem(VerdictIn):
    story_id: UUID
    result: Literal["pass", "partial"] = "pass"


class BulkRejectItem(VerdictIn):
    story_id: UUID
    reason: Reason


class BulkBackfillItem(BackfillIn):
    story_id: UUID


class BulkVerifyIn(Input):
    stories: Annotated[list[BulkVerifyItem], Field(min_length=1, max_length=BULK_MAX)]


class BulkRejectIn(Input):
    stories: Annotated[list[BulkRejectItem], Field(min_length=1, max_length=BULK_MAX)]


class BulkBackfillIn(Input):
    stories: Annotated[list[BulkBackfillItem], Field(min_length=1, max_length=BULK_MAX)]


class ItemError(Output):
    code: str
    message: str


class BulkResult(Output):
    story_id: UUID
    status: Literal["success", "error"]
    error: ItemError | None = None
    reason: str | None = Field(default=None, description="The error message (reference name)")


class BulkMeta(Output):
    succeeded: int
    failed: int


class BulkResults(Output):
    data: list[BulkResult]
    meta: BulkMeta


class VerifyAllIn(Input):
    summary: LongText | None = None
    review_type: ShortText | None = None
    findings: Metadata = Field(default_factory=dict)


class VerifyAllResult(Output):
    verified_count: int
    skipped_count: int
    total_eligible: int
    errors: list[BulkResult]
