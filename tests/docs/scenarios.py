"""The state each skill starts from: what its reader would find when told to use it.

A skill is a playbook for one agent in one role, so its scenario gives it exactly one key
(in the variable that role's process would have) and the inputs its dispatcher would hand
over (``PROJECT``, ``STORY``), after building, through the typed client and the API, the
project it works on: a plan imported, stories claimed, handed over, reviewed, a checkpoint
saved. Each scenario has its own project, so the skills run in any order.
"""

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopctl.client import Client
from tests.docs.conftest import Live, new_key


@dataclass
class Scenario:
    key_variable: str  # LOOPCTL_AGENT_KEY for an implementer, LOOPCTL_ORCH_KEY otherwise
    key: str
    variables: dict[str, str] = field(default_factory=dict)


@dataclass
class Cast:
    """One key per identity, made once per server: an agent may hold only one live key."""

    live: Live
    keys: dict[str, str] = field(default_factory=dict)

    def key(self, role: str, agent: str) -> str:
        if agent not in self.keys:
            self.keys[agent] = new_key(self.live.server.url, self.live.user_key, role, agent)
        return self.keys[agent]

    def client(self, role: str, agent: str) -> Client:
        return Client(self.live.server.url, self.key(role, agent))

    def planner(self) -> Client:
        return self.client("orchestrator", "skills-planner")

    def implementer(self) -> Client:
        return self.client("agent", "skills-implementer")

    def reviewer(self) -> Client:
        return self.client("orchestrator", "skills-reviewer")


def _criteria(*texts: str) -> list[dict[str, str]]:
    return [{"criterion": text} for text in texts]


STORIES: list[dict[str, Any]] = [
    {
        "number": "1.1",
        "title": "Card payments",
        "acceptance_criteria": _criteria("A test card is charged", "A declined card is refused"),
    },
    {"number": "1.2", "title": "Refunds", "acceptance_criteria": _criteria("A refund is paid")},
    {"number": "1.3", "title": "Receipts", "depends_on": ["1.1"]},
]


def _project(cast: Cast, slug: str) -> tuple[str, str]:
    """A project named ``slug`` with the plan above; its handle (the slug), and its id."""
    with cast.planner() as planner:
        project = planner.create_project(slug.replace("-", " ").title(), slug)
        planner.import_project(
            project.id,
            {
                "format": "loopctl.project.v1",
                "epics": [{"number": 1, "title": "Payments", "stories": STORIES}],
            },
        )
    return slug, str(project.id)


def _handed_over(cast: Cast, project_id: str) -> Any:
    """The implementer claims the next story, works on it and asks for review."""
    with cast.implementer() as agent:
        claimed = agent.claim_next(project_id=project_id)
        assert claimed.lease is not None
        agent.start(claimed.id, lease_token=claimed.lease.token)
        agent.add_artifact(claimed.id, "commit", "4f2a9c1")
        agent.request_review(claimed.id, lease_token=claimed.lease.token)
    return claimed


def plan(cast: Cast, _work: Path) -> Scenario:
    # The slug the orchestrator is asked to plan under; the skill creates the project.
    return Scenario(
        "LOOPCTL_ORCH_KEY", cast.key("orchestrator", "skills-planner"), {"PROJECT": "plan-demo"}
    )


def implement(cast: Cast, work: Path) -> Scenario:
    project, _ = _project(cast, "implement-demo")
    # The agent's checkout, with the commit it will name as its artifact.
    git = ["git", "-c", "user.name=impl", "-c", "user.email=impl@example.com"]
    subprocess.run([*git, "init", "-q", str(work)], check=True)
    (work / "pay.py").write_text("def charge(card): ...\n")
    subprocess.run([*git, "-C", str(work), "add", "pay.py"], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-qm", "Card payments"], check=True)
    return Scenario(
        "LOOPCTL_AGENT_KEY", cast.key("agent", "skills-implementer"), {"PROJECT": project}
    )


def review(cast: Cast, _work: Path) -> Scenario:
    project, project_id = _project(cast, "review-demo")
    story = _handed_over(cast, project_id)
    return Scenario(
        "LOOPCTL_ORCH_KEY",
        cast.key("orchestrator", "skills-reviewer"),
        {"PROJECT": project, "STORY": f"{project}/{story.number}"},
    )


def verify(cast: Cast, _work: Path) -> Scenario:
    project, project_id = _project(cast, "verify-demo")
    handed = [_handed_over(cast, project_id), _handed_over(cast, project_id)]
    with cast.reviewer() as reviewer:
        for story in handed:
            reviewer.report(story.id, artifact={"artifact_type": "commit", "path": "4f2a9c1"})
            reviewer.review_complete(story.id, "code", findings_count=1, fixes_count=1)
    first = handed[0]
    return Scenario(
        "LOOPCTL_ORCH_KEY",
        cast.key("orchestrator", "skills-verifier"),
        {"PROJECT": project, "STORY": f"{project}/{first.number}"},
    )


def resume(cast: Cast, _work: Path) -> Scenario:
    project, project_id = _project(cast, "resume-demo")
    with cast.planner() as planner:
        feed = planner.changes(project_id=project_id)
        planner.save_state(
            project_id,
            {"phase": "implement", "verified": [], "awaiting_review": []},
            cursor=feed.meta.next_cursor,
        )
    # What happened while the orchestrator was down: a story handed over for review.
    _handed_over(cast, project_id)
    return Scenario(
        "LOOPCTL_ORCH_KEY", cast.key("orchestrator", "skills-planner"), {"PROJECT": project}
    )


def status(cast: Cast, _work: Path) -> Scenario:
    project, project_id = _project(cast, "status-demo")
    story = _handed_over(cast, project_id)
    return Scenario(
        "LOOPCTL_ORCH_KEY",
        cast.key("orchestrator", "skills-planner"),
        {"PROJECT": project, "STORY": f"{project}/{story.number}"},
    )


SCENARIOS: dict[str, Callable[[Cast, Path], Scenario]] = {
    "loopctl-plan": plan,
    "loopctl-implement": implement,
    "loopctl-review": review,
    "loopctl-verify": verify,
    "loopctl-resume": resume,
    "loopctl-status": status,
}
