"""The story loop and its reads through `loopctl` commands, against a live server."""

import csv
import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from loopctl.client import Client
from tests.cli.conftest import Live, Outcome, unused_port

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cli")]

CRITERIA = [{"criterion": "a card payment succeeds"}, {"criterion": "a declined card errors"}]


class Keys:
    """A key of each role and a command runner for each."""

    def __init__(self, live: Live, run: Any) -> None:
        self.live, self.run = live, run
        self.raw = {role: live.new_key(role)["raw_key"] for role in ("user", "orchestrator")}
        self.agent = live.new_key("agent")
        self.raw["agent"] = self.agent["raw_key"]

    def as_(self, role: str, *args: str) -> Outcome:
        env = {"LOOPCTL_SERVER": self.live.url, "LOOPCTL_API_KEY": self.raw[role]}
        done: Outcome = self.run(*args, env=env)
        return done

    def json(self, role: str, *args: str) -> Any:
        done = self.as_(role, *args)
        assert done.exit_code == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def keys(live: Live, run: Any) -> Keys:
    return Keys(live, run)


def _plan(keys: Keys) -> tuple[str, str, str, str]:
    """A project, one epic, stories 1.1 and 1.2 (1.2 waits on 1.1): their ids."""
    with Client(keys.live.url, keys.raw["orchestrator"]) as orch:
        project = orch.create_project("CLI loop", f"cli-{uuid4().hex[:8]}")
        epic = orch.create_epic(project.id, 1, "Checkout")
        first = orch.create_story(epic.id, "1.1", "Pay by card", acceptance_criteria=CRITERIA)
        second = orch.create_story(epic.id, "1.2", "Refund")
    with Client(keys.live.url, keys.raw["user"]) as user:
        user.add_story_dependency(second.id, first.id)
    return str(project.id), str(epic.id), str(first.id), str(second.id)


def test_the_reads_print_json_when_piped_and_tables_or_csv_when_asked(keys: Keys) -> None:
    project, epic, first, second = _plan(keys)
    listed = keys.json("agent", "story", "list", "--project", project)
    assert ([s["number"] for s in listed["data"]], listed["meta"]["total"]) == (["1.1", "1.2"], 2)
    only = keys.json(
        "agent",
        "story",
        "list",
        "--project",
        project,
        "--agent-status",
        "pending",
        "--epic",
        epic,
        "--verified-status",
        "unverified",
        "--limit",
        "1",
    )
    assert [s["id"] for s in only["data"]] == [first]
    assert keys.json("agent", "story", "show", first)["title"] == "Pay by card"
    shown = keys.json("agent", "project", "show", project, "--json")
    assert shown["id"] == project
    everywhere = keys.json("agent", "ready")
    assert first in [s["id"] for s in everywhere["data"]]
    assert [s["id"] for s in keys.json("agent", "ready", "--project", project)["data"]] == [first]
    assert [s["id"] for s in keys.json("agent", "blocked", "--project", project)["data"]] == [
        second
    ]
    table = keys.as_("agent", "story", "list", "--project", project, "--format", "table")
    assert table.exit_code == 0
    assert "Pay by card" in table.stdout
    assert "agent_status" in table.stdout
    assert "\x1b[" not in table.stdout  # no colour off a terminal
    assert "Pay by card" in keys.as_("agent", "story", "show", first, "-f", "table").stdout
    rows = list(
        csv.DictReader(
            io.StringIO(keys.as_("agent", "ready", "-f", "csv", "--project", project).stdout)
        )
    )
    assert [(r["id"], r["number"]) for r in rows] == [(first, "1.1")]
    projects = keys.json("user", "project", "list", "--limit", "500")
    assert project in [p["id"] for p in projects["data"]]


def test_the_implementer_and_verifier_loop_end_to_end(keys: Keys) -> None:
    project, epic, first, second = _plan(keys)
    claimed = keys.json("agent", "claim-next", "--project", project)
    assert claimed["id"] == first
    assert claimed["agent_status"] == "assigned"
    token = str(claimed["lease"]["token"])
    held = keys.json(
        "agent", "story", "list", "--project", project, "--assignee", keys.agent["agent_id"]
    )
    assert [s["id"] for s in held["data"]] == [first]
    started = keys.json("agent", "start", first, "--lease-token", token)
    assert started["agent_status"] == "implementing"
    assert keys.json("agent", "heartbeat", first, "--lease-token", token)["lease"] is not None
    handed = keys.json("agent", "request-review", first, "--lease-token", token)
    assert handed["review_requested_at"] is not None
    # The implementer cannot report its own work: a 409, exit 6, one line.
    refused = keys.as_("agent", "report", first)
    assert refused.exit_code == 6
    assert refused.lines[0].startswith("loopctl: self_report_blocked: ")
    assert len(refused.lines) == 1
    assert refused.stdout == ""
    reported = keys.json(
        "orchestrator", "report", first, "--artifact-type", "commit", "--artifact-path", "abc1234"
    )
    assert reported["agent_status"] == "reported_done"
    review = keys.json(
        "orchestrator",
        "review-complete",
        first,
        "--type",
        "code",
        "--findings",
        "2",
        "--fixes",
        "1",
        "--disproved",
        "1",
        "--summary",
        "ok",
    )
    assert (review["findings_count"], review["fixes_count"], review["disproved_count"]) == (2, 1, 1)
    verified = keys.json(
        "orchestrator",
        "verify",
        first,
        "--summary",
        "both hold",
        "--criterion",
        "AC-1=passed:pytest -k card: 4 passed",
        "--criterion",
        "AC-2=passed",
    )
    assert verified["verified_status"] == "verified"
    keys.json("agent", "artifact", "add", first, "--type", "test_report", "--path", "r.xml")
    paths = [a["path"] for a in keys.json("agent", "artifact", "list", first)["data"]]
    assert sorted(paths) == ["abc1234", "r.xml"]
    actions = [e["action"] for e in keys.json("agent", "history", first)["data"]]
    assert actions[0] == "created"
    assert "status_changed" in actions
    audited = keys.json(
        "user",
        "audit",
        "--project",
        project,
        "--entity-type",
        "story",
        "--entity-id",
        first,
        "--action",
        "created",
        "--from",
        "2020-01-01T00:00:00Z",
    )
    assert [e["entity_id"] for e in audited["data"]] == [first]
    # The second story, now ready: contract, claim, unclaim, then next and force-unclaim.
    keys.json("agent", "contract", second, "--story-title", "Refund", "--ac-count", "0")
    lease = keys.json("agent", "claim", second)["lease"]["token"]
    assert keys.json("agent", "unclaim", second, "--lease-token", str(lease))["agent_status"] == (
        "pending"
    )
    assert keys.json("agent", "next", "--epic", epic)["id"] == second
    assert keys.json("orchestrator", "force-unclaim", second)["agent_status"] == "pending"


def test_reject_backfill_and_verify_all(keys: Keys) -> None:
    project, epic, first, second = _plan(keys)
    keys.json("agent", "claim-next", "--project", project)
    keys.json("agent", "start", first)
    none_left = keys.as_("agent", "next", "--project", project)
    assert none_left.exit_code == 5
    assert none_left.lines[0].startswith("loopctl: no_ready_story: ")
    half = keys.as_("orchestrator", "report", first, "--artifact-type", "commit")
    assert half.exit_code == 2
    assert half.lines[0].startswith("loopctl: bad_artifact: ")
    keys.json("orchestrator", "report", first)
    rejected = keys.json(
        "orchestrator",
        "reject",
        first,
        "--reason",
        "AC-2 fails",
        "--criterion",
        "AC-2=failed:declined card accepted",
    )
    assert (rejected["verified_status"], rejected["agent_status"]) == ("rejected", "pending")
    backfilled = keys.json(
        "user",
        "backfill",
        second,
        "--reason",
        "done before loopctl",
        "--evidence-url",
        "https://example.com/pr/12",
    )
    assert backfilled["verified_status"] == "verified"
    result = keys.json("orchestrator", "verify-all", epic, "--summary", "sweep")
    assert (result["verified_count"], result["total_eligible"]) == (0, 0)


def test_errors_are_one_line_with_their_exit_codes(keys: Keys) -> None:
    _, _, first, _ = _plan(keys)
    missing = keys.as_("agent", "story", "show", str(uuid4()))
    assert (missing.exit_code, missing.lines[0].split(":")[1].strip()) == (5, "story_not_found")
    invalid = keys.as_("orchestrator", "review-complete", first, "--type", "x" * 300)
    assert invalid.exit_code == 7
    assert invalid.lines[0].startswith("loopctl: validation_error: ")
    forbidden = keys.as_("agent", "verify", first)
    assert forbidden.exit_code == 4
    assert len(forbidden.lines) == 1
    usage = keys.as_("orchestrator", "verify", first, "--criterion", "AC-1=maybe")
    assert usage.exit_code == 2
    assert usage.lines == [
        "loopctl: bad_criterion: --criterion 'AC-1=maybe': expected ID=RESULT[:EVIDENCE], "
        "RESULT one of passed, failed, not_checked"
    ]
    nothing = keys.as_("agent", "next", "--project", str(uuid4()))
    assert nothing.exit_code == 5
    assert nothing.lines == ["loopctl: project_not_found: Project not found"]


def test_a_refused_key_and_an_absent_server_have_their_exit_codes(live: Live, run: Any) -> None:
    refused = run("ready", env={"LOOPCTL_SERVER": live.url, "LOOPCTL_API_KEY": "lc_" + "x" * 40})
    assert refused.exit_code == 3
    assert refused.lines[0].startswith("loopctl: ")
    assert "(the key from LOOPCTL_API_KEY; server " in refused.lines[0]
    assert "x" * 40 not in refused.stderr
    gone = run(
        "story",
        "show",
        str(uuid4()),
        "--server",
        f"http://127.0.0.1:{unused_port()}",
        env={"LOOPCTL_API_KEY": "lc_" + "y" * 40},
    )
    assert gone.exit_code == 10
    assert gone.lines[0].startswith("loopctl: connection_refused: ")


def test_on_a_terminal_the_default_is_a_coloured_table(keys: Keys) -> None:
    project, _, first, _ = _plan(keys)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LOOPCTL_") and k != "NO_COLOR"},
        "LOOPCTL_SERVER": keys.live.url,
        "LOOPCTL_API_KEY": keys.raw["agent"],
        "TERM": "xterm-256color",
        "COLUMNS": "200",
    }
    loopctl = str(Path(sys.executable).parent / "loopctl")
    main, secondary = pty.openpty()
    with subprocess.Popen(
        [loopctl, "story", "list", "--project", project],
        stdout=secondary,
        stderr=subprocess.PIPE,
        env=env,
    ) as process:
        os.close(secondary)
        printed = _read_all(main)
        assert process.wait(timeout=60) == 0
    os.close(main)
    assert "Pay by card" in printed
    assert first in printed
    assert "┃" in printed  # a Rich table, not JSON
    assert "\x1b[" in printed  # with colour, on a terminal
    assert not printed.lstrip().startswith("{")


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")
