"""`changes` (a page, and `--follow` live), `state save|load|history` and `audit event`."""

import csv
import io
import json
import select
import signal
import subprocess
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from tests.cli.conftest import Live
from tests.cli.roles import Roles

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cli")]
MISSING = "00000000-0000-4000-8000-000000000000"
WAIT = 30.0


@pytest.fixture
def roles(live: Live, run: Any) -> Roles:
    return Roles(live, run)


def _project(roles: Roles) -> str:
    slug = f"feed-{uuid4().hex[:8]}"
    roles.json("orchestrator", "project", "create", "Feed", "--slug", slug)
    return slug


def _line(process: "subprocess.Popen[str]") -> Any:
    """The next line the process prints, as JSON; fails after WAIT seconds of silence."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], WAIT)
    assert ready, "no event within the wait"
    return json.loads(process.stdout.readline())


def test_a_page_of_changes_and_the_next_one(roles: Roles) -> None:
    project = _project(roles)
    roles.json("orchestrator", "epic", "create", "1", "One", "-p", project)
    roles.json("orchestrator", "epic", "create", "2", "Two", "-p", project)
    page = roles.json("agent", "changes", "-p", project, "--entity-type", "epic", "--limit", "1")
    assert [e["after"]["number"] for e in page["data"]] == [1]
    assert page["meta"]["has_more"] is True
    after = roles.json(
        "agent",
        "changes",
        "-p",
        project,
        "--entity-type",
        "epic",
        "--cursor",
        page["meta"]["next_cursor"],
    )
    assert [e["after"]["number"] for e in after["data"]] == [2]
    naive = roles.json("agent", "changes", "-p", project, "--since", "2020-01-01T00:00:00")
    assert len(naive["data"]) == 3  # a time without an offset is read as UTC
    table = roles.as_("agent", "changes", "-p", project, "-f", "table")
    assert "next cursor:" in table.stdout
    assert "epic" in table.stdout
    rows = list(
        csv.DictReader(
            io.StringIO(
                roles.as_(
                    "agent", "changes", "-p", project, "--action", "created", "-f", "csv"
                ).stdout
            )
        )
    )
    assert {r["entity_type"] for r in rows} == {"project", "epic"}
    roles.fails("agent", 7, "validation_error", "changes", "--cursor", "not-a-cursor")
    roles.fails(
        "agent",
        7,
        "validation_error",
        "changes",
        "--cursor",
        page["meta"]["next_cursor"],
        "--since",
        "2026-01-01T00:00:00Z",
    )


def test_follow_prints_events_made_after_it_started_and_stops(roles: Roles) -> None:
    project = _project(roles)
    cursor = roles.json("agent", "changes", "-p", project)["meta"]["next_cursor"]
    follower = roles.process(
        "agent", "changes", "--follow", "--cursor", cursor, "-p", project, "--max-events", "2"
    )
    try:
        roles.json("orchestrator", "epic", "create", "1", "Live one", "-p", project)
        first = _line(follower)
        assert (first["entity_type"], first["after"]["title"]) == ("epic", "Live one")
        # Made only after the follower printed the first: it came over the open stream.
        roles.json("orchestrator", "epic", "create", "2", "Live two", "-p", project)
        second = _line(follower)
        assert second["after"]["title"] == "Live two"
        assert second["cursor"] != first["cursor"]
        assert follower.wait(timeout=WAIT) == 0
    finally:
        if follower.poll() is None:
            follower.kill()
        follower.communicate()


def test_follow_from_a_time_as_text_lines(roles: Roles) -> None:
    project = _project(roles)
    since = datetime.now(UTC).isoformat()
    follower = roles.process(
        "agent",
        "changes",
        "-F",
        "--since",
        since,
        "-p",
        project,
        "--max-events",
        "1",
        "-f",
        "table",
    )
    try:
        roles.json("orchestrator", "epic", "create", "7", "Seven", "-p", project)
        assert follower.stdout is not None
        ready, _, _ = select.select([follower.stdout], [], [], WAIT)
        assert ready
        assert "created" in follower.stdout.readline()
        assert follower.wait(timeout=WAIT) == 0
    finally:
        if follower.poll() is None:
            follower.kill()
        follower.communicate()


def test_ctrl_c_stops_following_with_exit_130(roles: Roles) -> None:
    project = _project(roles)
    cursor = roles.json("agent", "changes", "-p", project)["meta"]["next_cursor"]
    follower = roles.process("agent", "changes", "--follow", "--cursor", cursor, "-p", project)
    try:
        roles.json("orchestrator", "epic", "create", "1", "One", "-p", project)
        assert _line(follower)["entity_type"] == "epic"  # following, past start-up
        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=WAIT) == 130
    finally:
        if follower.poll() is None:
            follower.kill()
        _, stderr = follower.communicate()
    assert "Traceback" not in stderr


def test_follow_with_a_refused_key_exits_3(roles: Roles) -> None:
    done = roles.run(
        "changes",
        "--follow",
        env={"LOOPCTL_SERVER": roles.live.url, "LOOPCTL_API_KEY": "lc_" + "x" * 40},
    )
    assert done.exit_code == 3
    assert done.lines[0].startswith("loopctl: invalid_api_key: ")


def test_state_save_load_history_and_a_version_conflict(roles: Roles, tmp_path: Any) -> None:
    project = _project(roles)
    roles.fails("orchestrator", 5, "orchestrator_state_not_found", "state", "load", project)
    first = roles.json("orchestrator", "state", "save", project, "--data", '{"phase": "plan"}')
    assert (first["version"], first["state_data"]) == (1, {"phase": "plan"})
    saved = tmp_path / "state.json"
    saved.write_text('{"phase": "build", "done": ["1.1"]}')
    second = roles.json(
        "orchestrator",
        "state",
        "save",
        project,
        "-d",
        f"@{saved}",
        "--version",
        "1",
        "--cursor",
        "abc",
    )
    assert (second["version"], second["cursor"]) == (2, "abc")
    # A writer that read version 1 loses to the one that saved version 2: exit 6.
    roles.fails(
        "orchestrator",
        6,
        "version_conflict",
        "state",
        "save",
        project,
        "-d",
        "{}",
        "--version",
        "1",
    )
    from_stdin = roles.json(
        "orchestrator",
        "state",
        "save",
        project,
        "--name",
        "other",
        stdin='{"k": 1}',
    )
    assert (from_stdin["state_key"], from_stdin["version"]) == ("other", 1)
    loaded = roles.json("orchestrator", "state", "load", project)
    assert loaded["state_data"] == {"phase": "build", "done": ["1.1"]}
    data = roles.json("orchestrator", "state", "load", project, "--data-only", "-f", "table")
    assert data == {"phase": "build", "done": ["1.1"]}
    history = roles.json("orchestrator", "state", "history", project)
    assert [v["version"] for v in history["data"]] == [2, 1]
    table = roles.as_("orchestrator", "state", "history", project, "--name", "other", "-f", "table")
    assert "saved_by" in table.stdout
    roles.fails("agent", 4, "insufficient_role", "state", "load", project)
    roles.fails("orchestrator", 2, "bad_json", "state", "save", project, "-d", "[1]")
    roles.fails(
        "orchestrator", 7, "validation_error", "state", "save", project, "-d", "{}", "--name", " "
    )
    roles.fails("orchestrator", 5, "project_not_found", "state", "history", MISSING)


def test_audit_event_and_the_search_beside_it(roles: Roles) -> None:
    project = _project(roles)
    roles.json("orchestrator", "epic", "create", "1", "E", "-p", project)
    story = roles.json("orchestrator", "story", "create", "1.1", "S", "-p", project)
    event = roles.json(
        "orchestrator",
        "audit",
        "event",
        "session_started",
        "-p",
        project,
        "--story",
        f"{project}/1.1",
        "--summary",
        "night run",
        "--data",
        '{"agents": 2}',
    )
    assert (event["entity_type"], event["action"]) == ("orchestrator_event", "session_started")
    assert event["after"]["story_id"] == story["id"]
    found = roles.json("user", "audit", "--project", project, "--entity-type", "orchestrator_event")
    assert [e["id"] for e in found["data"]] == [event["id"]]
    roles.fails("agent", 4, "insufficient_role", "audit", "event", "x")
    roles.fails("orchestrator", 7, "validation_error", "audit", "event", "Not Valid")
    roles.fails("orchestrator", 5, "story_not_found", "audit", "event", "x", "--story", MISSING)
