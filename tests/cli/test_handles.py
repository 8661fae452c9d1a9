"""Human handles in commands: `story show shop 1.2`, `claim shop/1.2`, `claim 1.2` with a
default project, `--epic 1`, and what a wrong handle exits with."""

import json
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import pytest

from loopctl.cli.exit_codes import ExitCode
from loopctl.client import Client
from tests.cli.conftest import Live, Outcome

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cli")]

Run = Any


@dataclass(frozen=True)
class Plan:
    slug: str
    project: str
    epic: str
    first: str
    second: str


@pytest.fixture
def plan(live: Live) -> Plan:
    """Project ``h-…`` with epic 1 holding stories 1.1 and 1.2, and epic 2 with 2.1."""
    slug = f"h-{uuid4().hex[:8]}"
    with Client(live.url, live.user_key) as user:
        project = user.create_project("Handles", slug)
        epic = user.create_epic(project.id, 1, "Checkout")
        first = user.create_story(epic.id, "1.1", "Pay", acceptance_criteria=[{"criterion": "x"}])
        second = user.create_story(epic.id, "1.2", "Refund")
        other = user.create_epic(project.id, 2, "Later")
        user.create_story(other.id, "2.1", "Ship")
    return Plan(slug, str(project.id), str(epic.id), str(first.id), str(second.id))


def as_key(run: Run, live: Live, key: str, *args: str, **env: str) -> Outcome:
    done: Outcome = run(*args, env={"LOOPCTL_SERVER": live.url, "LOOPCTL_API_KEY": key, **env})
    return done


def shown_id(outcome: Outcome) -> str:
    assert outcome.exit_code == 0, outcome.stderr
    found: str = json.loads(outcome.stdout)["id"]
    return found


def test_a_story_by_words_slash_default_project_profile_or_id(
    live: Live, run: Run, plan: Plan
) -> None:
    key = live.user_key
    assert shown_id(as_key(run, live, key, "story", "show", plan.slug, "1.2")) == plan.second
    assert shown_id(as_key(run, live, key, "story", "show", f"{plan.slug}/1.2")) == plan.second
    by_default = as_key(run, live, key, "story", "show", "1.2", LOOPCTL_PROJECT=plan.slug)
    assert shown_id(by_default) == plan.second
    by_project_id = as_key(run, live, key, "story", "show", "1.1", LOOPCTL_PROJECT=plan.project)
    assert shown_id(by_project_id) == plan.first
    assert shown_id(as_key(run, live, key, "story", "show", plan.second)) == plan.second
    assert run("config", "set", "project", plan.slug).exit_code == 0
    assert shown_id(as_key(run, live, key, "story", "show", "1.1")) == plan.first


def test_a_project_by_slug_id_or_default(live: Live, run: Run, plan: Plan) -> None:
    key = live.user_key
    assert shown_id(as_key(run, live, key, "project", "show", plan.slug)) == plan.project
    assert shown_id(as_key(run, live, key, "project", "show", plan.project)) == plan.project
    default = as_key(run, live, key, "project", "show", LOOPCTL_PROJECT=plan.slug)
    assert shown_id(default) == plan.project


def test_epic_handles_filter_lists_and_verify_all(live: Live, run: Run, plan: Plan) -> None:
    key = live.user_key

    def listed(*args: str, **env: str) -> list[str]:
        done = as_key(run, live, key, *args, **env)
        assert done.exit_code == 0, done.stderr
        return [s["number"] for s in json.loads(done.stdout)["data"]]

    assert listed("story", "list", "--project", plan.slug, "--epic", "2") == ["2.1"]
    assert listed("story", "list", "--epic", f"{plan.slug}/1") == ["1.1", "1.2"]
    assert listed("story", "list", "--epic", "1", LOOPCTL_PROJECT=plan.slug) == ["1.1", "1.2"]
    assert listed("ready", "--project", plan.slug, "--epic", "1") == ["1.1", "1.2"]
    assert listed("blocked", "--epic", f"{plan.slug}/2") == []
    orchestrator = live.new_key("orchestrator")["raw_key"]
    verified = as_key(run, live, orchestrator, "verify-all", f"{plan.slug}/1")
    assert verified.exit_code == 0, verified.stderr


def test_the_implementer_loop_by_handles(live: Live, run: Run, plan: Plan) -> None:
    agent = live.new_key("agent")["raw_key"]
    handle = f"{plan.slug}/1.1"
    contract = as_key(
        run, live, agent, "contract", handle, "--story-title", "Pay", "--ac-count", "1"
    )
    assert contract.exit_code == 0, contract.stderr
    claimed = as_key(run, live, agent, "claim", handle)
    assert claimed.exit_code == 0, claimed.stderr
    started = as_key(run, live, agent, "start", "1.1", LOOPCTL_PROJECT=plan.slug)
    assert json.loads(started.stdout)["agent_status"] == "implementing"
    history = as_key(run, live, agent, "history", plan.slug, "1.1")
    assert {e["entity_id"] for e in json.loads(history.stdout)["data"]} == {plan.first}
    artifacts = as_key(run, live, agent, "artifact", "list", handle)
    assert artifacts.exit_code == 0, artifacts.stderr
    claim_next = as_key(run, live, agent, "claim-next", "--project", plan.slug, "--epic", "2")
    assert json.loads(claim_next.stdout)["number"] == "2.1"


@pytest.mark.parametrize(
    ("args", "env", "exit_code", "code"),
    [
        (("story", "show", "{slug}/9.9"), {}, ExitCode.NOT_FOUND, "story_not_found"),
        (("story", "show", "no-such-project", "1.1"), {}, ExitCode.NOT_FOUND, "project_not_found"),
        (("project", "show", "no-such-project"), {}, ExitCode.NOT_FOUND, "project_not_found"),
        (("story", "list", "--project", "{slug}", "--epic", "9"), {}, 5, "epic_not_found"),
        (("verify-all", "{slug}/9"), {}, ExitCode.NOT_FOUND, "epic_not_found"),
        (("story", "show", "Shop/1.1"), {}, ExitCode.USAGE, "bad_handle"),
        (("story", "show", "{slug}/1..2"), {}, ExitCode.USAGE, "bad_handle"),
        (("story", "show", "a", "b", "c"), {}, ExitCode.USAGE, "bad_handle"),
        (("story", "show", "other", "{slug}/1.1"), {}, ExitCode.USAGE, "bad_handle"),
        (("story", "show", "1.1"), {}, ExitCode.USAGE, "no_project"),
        (("project", "show"), {}, ExitCode.USAGE, "no_project"),
        (("story", "list", "--epic", "1"), {}, ExitCode.USAGE, "no_project"),
        (("claim", "x/y/1.1"), {}, ExitCode.USAGE, "bad_handle"),
    ],
)
def test_a_wrong_handle_exits_with_its_code(
    live: Live,
    run: Run,
    plan: Plan,
    args: tuple[str, ...],
    env: dict[str, str],
    exit_code: int,
    code: str,
) -> None:
    filled = [arg.format(slug=plan.slug) for arg in args]
    outcome = as_key(run, live, live.user_key, *filled, **env)
    assert outcome.exit_code == exit_code, outcome.stderr
    assert outcome.stderr.startswith(f"loopctl: {code}: "), outcome.stderr
    assert outcome.stdout == ""
