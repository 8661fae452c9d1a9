"""Roll-ups of stories by both status tiers, for project and epic progress."""

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from pydantic import Field

from loopctl.kit.schemas import Output

if TYPE_CHECKING:
    # Only a type here: the models above must import without the database (loopctl.client).
    from loopctl.stories.repository import StatusTotalRow


class AgentStatusCounts(Output):
    pending: int
    contracted: int
    assigned: int
    implementing: int
    reported_done: int


class VerifiedStatusCounts(Output):
    unverified: int
    verified: int
    rejected: int


class Progress(Output):
    """Stories counted by both status tiers; every status is present, zeros included."""

    total_stories: int
    stories_by_agent_status: AgentStatusCounts
    stories_by_verified_status: VerifiedStatusCounts
    verified_percentage: float = Field(
        description="Verified stories as a percentage of all stories, 1 decimal; 0.0 if none"
    )
    reported_unverified: int = Field(
        description="Stories their agent reported done that nobody has verified yet"
    )
    estimated_hours_total: float = Field(description="Sum of the estimates that are set")
    estimated_hours_verified: float = Field(description="Sum of the estimates of verified stories")


def percentage(part: int, whole: int) -> float:
    """``part`` of ``whole`` in percent, rounded half up to 1 decimal; 0.0 for nothing."""
    if whole == 0:
        return 0.0
    return float((Decimal(part * 100) / whole).quantize(Decimal("0.1"), ROUND_HALF_UP))


def fold(rows: "Sequence[StatusTotalRow]") -> Progress:
    """One roll-up from the per-(agent_status, verified_status) totals."""
    by_agent = dict.fromkeys(AgentStatusCounts.model_fields, 0)
    by_verified = dict.fromkeys(VerifiedStatusCounts.model_fields, 0)
    hours_total = hours_verified = Decimal(0)
    reported_unverified = 0
    for row in rows:
        by_agent[row.agent_status] += row.stories
        by_verified[row.verified_status] += row.stories
        hours_total += row.hours
        if row.verified_status == "verified":
            hours_verified += row.hours
        if (row.agent_status, row.verified_status) == ("reported_done", "unverified"):
            reported_unverified += row.stories
    total = sum(by_agent.values())
    return Progress(
        total_stories=total,
        stories_by_agent_status=AgentStatusCounts(**by_agent),
        stories_by_verified_status=VerifiedStatusCounts(**by_verified),
        verified_percentage=percentage(by_verified["verified"], total),
        reported_unverified=reported_unverified,
        estimated_hours_total=float(hours_total),
        estimated_hours_verified=float(hours_verified),
    )
