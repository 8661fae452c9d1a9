"""`project create|update|archive|progress`, `epic …`, `story create|update|delete`,
`dep …` and `critical-path` against a live server."""

import csv
import io
import json
from typing import Any
from uuid import uuid4

import pytest

from tests.cli.conftest import Live
from tests.cli.roles import Roles

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cli")]
MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def roles(live: Live, run: Any) -> Roles:
    return Roles(live, run)


def _project(roles: Roles, name: str = "Plan CLI") -> dict[str, Any]:
    slug = f"plan-{uuid4().hex[:8]}"
    project: dict[str, Any] = roles.json(
        "orchestrator", "project", "create", name, "--slug", slug, "--tech-stack", "python"
    )
    return project


def test_projects_create_update_progress_archive(roles: Roles) -> None:
    made = roles.json("orchestrator", "project", "create", f"Shop {uuid4().hex[:6]} v2!")
    assert made["slug"].startswith("shop-")
    assert made["slug"].endswith("-v2")
    project = made["id"]
    updated = roles.json(
        "orchestrator",
        "project",
        "update",
        project,
        "--mission",
        "sell things",
        "--metadata",
        '{"tier": 1}',
        "--clear",
        "tech-stack",
    )
    assert (updated["mission"], updated["metadata"], updated["tech_stack"]) == (
        "sell things",
        {"tier": 1},
        None,
    )
    progress = roles.json("agent", "project", "progress", project)
    assert progress["project_id"] == project
    assert progress["epics_total"] == 0
    assert "epics_total" in roles.as_("agent", "project", "progress", project, "-f", "table").stdout
    roles.fails(
        "orchestrator", 6, "project_slug_taken", "project", "create", "X", "--slug", made["slug"]
    )
    roles.fails("agent", 4, "insufficient_role", "project", "create", "Mine")
    roles.fails("orchestrator", 7, "validation_error", "project", "create", "Bad", "--slug", "A B")
    roles.fails("orchestrator", 2, "nothing_to_change", "project", "update", project)
    roles.fails("orchestrator", 2, "bad_option", "project", "update", project, "--clear", "slug")
    roles.fails("agent", 5, "project_not_found", "project", "progress", MISSING)
    roles.fails("user", 2, "confirmation_needed", "project", "archive", project)
    archived = roles.json("user", "project", "archive", project, "--yes")
    assert archived["status"] == "archived"
    roles.fails("orchestrator", 6, "project_archived", "project", "update", project, "--name", "Z")


def test_epics_list_show_create_update_progress_delete(roles: Roles) -> None:
    project = _project(roles)["id"]
    epic = roles.json(
        "orchestrator", "epic", "create", "1", "Payments", "--project", project, "--phase", "mvp"
    )
    second = roles.json("orchestrator", "epic", "create", "2", "Receipts", "-p", project)
    assert (epic["number"], epic["phase"]) == (1, "mvp")
    listed = roles.json("agent", "epic", "list", "--project", project)
    assert [e["number"] for e in listed["data"]] == [1, 2]
    rows = list(
        csv.DictReader(
            io.StringIO(roles.as_("agent", "epic", "list", "-p", project, "-f", "csv").stdout)
        )
    )
    assert [r["title"] for r in rows] == ["Payments", "Receipts"]
    assert [
        e["number"]
        for e in roles.json("agent", "epic", "list", "-p", project, "--phase", "mvp")["data"]
    ] == [1]
    roles.json("orchestrator", "story", "create", "1.1", "Card", "--epic", epic["id"])
    shown = roles.json("agent", "epic", "show", epic["id"])
    assert [s["number"] for s in shown["stories"]] == ["1.1"]
    changed = roles.json(
        "orchestrator",
        "epic",
        "update",
        epic["id"],
        "--title",
        "Pay",
        "--clear",
        "phase",
        "--position",
        "3",
    )
    assert (changed["title"], changed["phase"], changed["position"]) == ("Pay", None, 3)
    assert roles.json("agent", "epic", "progress", epic["id"])["epic_id"] == epic["id"]
    roles.fails(
        "orchestrator", 6, "epic_number_taken", "epic", "create", "1", "Again", "-p", project
    )
    roles.fails("agent", 4, "insufficient_role", "epic", "create", "3", "Mine", "-p", project)
    roles.fails("agent", 5, "epic_not_found", "epic", "show", MISSING)
    roles.fails("user", 2, "confirmation_needed", "epic", "delete", second["id"])
    roles.fails("orchestrator", 4, "insufficient_role", "epic", "delete", second["id"], "--yes")
    roles.fails("user", 6, "epic_not_empty", "epic", "delete", epic["id"], "--yes")
    gone = roles.json("user", "epic", "delete", epic["id"], "--yes", "--force")
    assert len(gone["deleted_story_ids"]) == 1
    assert roles.json("user", "epic", "delete", second["id"], "-y")["id"] == second["id"]
    assert roles.json("agent", "epic", "list", "-p", project)["data"] == []


def test_stories_create_update_delete(roles: Roles) -> None:
    project = _project(roles)["id"]
    epic = roles.json("orchestrator", "epic", "create", "2", "Receipts", "-p", project)
    story = roles.json(
        "orchestrator",
        "story",
        "create",
        "2.1",
        "Email receipt",
        "--epic",
        epic["id"],
        "-c",
        "an email is sent",
        "-c",
        "it has the total",
        "--hours",
        "2.5",
        "--metadata",
        "-",
        stdin='{"source": "stdin"}',
    )
    assert [c["id"] for c in story["acceptance_criteria"]] == ["AC-1", "AC-2"]
    assert (story["estimated_hours"], story["metadata"]) == (2.5, {"source": "stdin"})
    updated = roles.json(
        "orchestrator",
        "story",
        "update",
        story["id"],
        "--title",
        "Email the receipt",
        "--criteria",
        '[{"id": "AC-9", "criterion": "one email"}]',
        "--clear",
        "estimated_hours",
    )
    assert updated["title"] == "Email the receipt"
    assert [c["id"] for c in updated["acceptance_criteria"]] == ["AC-9"]
    assert updated["estimated_hours"] is None
    roles.fails(
        "orchestrator",
        6,
        "story_number_taken",
        "story",
        "create",
        "2.1",
        "Again",
        "--epic",
        epic["id"],
    )
    roles.fails("agent", 4, "insufficient_role", "story", "update", story["id"], "--title", "x")
    roles.fails(
        "orchestrator",
        7,
        "validation_error",
        "story",
        "update",
        story["id"],
        "--criteria",
        '[{"nope": 1}]',
    )
    roles.fails(
        "orchestrator", 2, "bad_json", "story", "update", story["id"], "--metadata", "{not json"
    )
    roles.fails(
        "orchestrator",
        2,
        "bad_option",
        "story",
        "update",
        story["id"],
        "-c",
        "a",
        "--criteria",
        "[]",
    )
    roles.fails("orchestrator", 5, "story_not_found", "story", "update", MISSING, "--title", "x")
    roles.fails("user", 2, "confirmation_needed", "story", "delete", story["id"])
    roles.fails("orchestrator", 4, "insufficient_role", "story", "delete", story["id"], "--yes")
    deleted = roles.json("user", "story", "delete", story["id"], "--yes")
    assert deleted["id"] == story["id"]
    roles.fails("user", 5, "story_not_found", "story", "delete", story["id"], "--yes")


def test_dependencies_graph_and_critical_path(roles: Roles) -> None:
    project = _project(roles)["id"]
    one = roles.json("orchestrator", "epic", "create", "1", "Payments", "-p", project)["id"]
    two = roles.json("orchestrator", "epic", "create", "2", "Receipts", "-p", project)["id"]
    ids = {}
    for number, epic, hours in (("1.1", one, "3"), ("1.2", one, "1"), ("2.1", two, "2")):
        ids[number] = roles.json(
            "orchestrator",
            "story",
            "create",
            number,
            f"Story {number}",
            "--epic",
            epic,
            "--hours",
            hours,
        )["id"]
    edge = roles.json("orchestrator", "dep", "add", ids["1.2"], ids["1.1"])
    assert (edge["story_number"], edge["depends_on_story_number"]) == ("1.2", "1.1")
    roles.json("orchestrator", "dep", "add", ids["2.1"], ids["1.2"])
    epic_edge = roles.json("orchestrator", "dep", "add", "--epics", two, one)
    assert (epic_edge["epic_number"], epic_edge["depends_on_epic_number"]) == (2, 1)
    listed = roles.json("agent", "dep", "list", project)
    assert sorted((e["type"], str(e["dependent"]), str(e["depends_on"])) for e in listed) == [
        ("epic", "2", "1"),
        ("story", "1.2", "1.1"),
        ("story", "2.1", "1.2"),
    ]
    graph = roles.json("agent", "dep", "graph", project)
    assert len(graph["story_dependencies"]) == 2
    assert len(graph["epic_dependencies"]) == 1
    tree = roles.as_("agent", "dep", "graph", project, "-f", "table").stdout
    assert "Epic 2 Receipts  waits for epic 1" in tree
    assert "1.2 Story 1.2 (pending, unverified)  waits for 1.1" in tree
    edges = list(
        csv.DictReader(io.StringIO(roles.as_("agent", "dep", "graph", project, "-f", "csv").stdout))
    )
    assert len(edges) == 3
    path = roles.json("agent", "critical-path", project)
    assert [s["number"] for s in path["stories"]] == ["1.1", "1.2", "2.1"]
    assert (path["weight"], path["total"]) == ("hours", 6.0)
    assert "total 6 (hours)" in roles.as_("agent", "critical-path", project, "-f", "table").stdout
    # A cycle, a self-dependency, a too-low role, an edge that is not there.
    roles.fails("orchestrator", 6, "dependency_cycle", "dep", "add", ids["1.1"], ids["2.1"])
    roles.fails("orchestrator", 7, "dependency_self", "dep", "add", ids["1.1"], ids["1.1"])
    roles.fails("agent", 4, "insufficient_role", "dep", "add", ids["2.1"], ids["1.1"])
    roles.fails("orchestrator", 5, "dependency_not_found", "dep", "rm", ids["2.1"], ids["1.1"])
    roles.fails("orchestrator", 5, "dependency_not_found", "dep", "rm", "--epics", one, two)
    roles.fails("orchestrator", 4, "insufficient_role", "dep", "rm", ids["2.1"], ids["1.2"])
    removed = roles.json("user", "dep", "rm", ids["2.1"], ids["1.2"])
    assert removed["story_id"] == ids["2.1"]
    assert roles.json("user", "dep", "rm", "--epics", two, one)["epic_id"] == two
    assert [e["type"] for e in roles.json("agent", "dep", "list", project)] == ["story"]


def test_every_plan_command_takes_handles(roles: Roles) -> None:
    slug = _project(roles)["slug"]
    env_project = {**roles.env("orchestrator"), "LOOPCTL_PROJECT": slug}

    def orch(*args: str) -> Any:
        done = roles.run(*args, env=env_project)
        assert done.exit_code == 0, done.stderr
        return json.loads(done.stdout)

    orch("epic", "create", "1", "One")
    orch("epic", "create", "2", "Two", "--project", slug)
    orch("story", "create", "1.1", "First")
    orch("story", "create", "1.2", "Second", "--epic", f"{slug}/1")
    orch("story", "create", "2.1", "Third")
    assert orch("epic", "show", f"{slug}/2")["title"] == "Two"
    assert orch("epic", "update", "2", "--title", "Deux")["title"] == "Deux"
    assert orch("epic", "progress", "1")["total_stories"] == 2
    assert orch("story", "update", slug, "1.2", "--hours", "4")["estimated_hours"] == 4.0
    assert orch("story", "update", f"{slug}/1.1", "--hours", "1")["number"] == "1.1"
    assert orch("dep", "add", "1.2", "1.1")["depends_on_story_number"] == "1.1"
    assert orch("dep", "add", "--epics", "2", f"{slug}/1")["depends_on_epic_number"] == 1
    assert [s["number"] for s in orch("critical-path", slug)["stories"]] == ["1.1", "1.2", "2.1"]
    assert len(orch("dep", "list")) == 2
    assert orch("project", "progress")["epics_total"] == 2
    assert orch("project", "update", slug, "--name", "Renamed")["name"] == "Renamed"
    user = {**roles.env("user"), "LOOPCTL_PROJECT": slug}
    for args in (
        ("dep", "rm", "1.2", "1.1"),
        ("dep", "rm", "--epics", "2", "1"),
        ("story", "delete", slug, "2.1", "--yes"),
        ("epic", "delete", "2", "--yes"),
        ("project", "archive", slug, "--yes"),
    ):
        done = roles.run(*args, env=user)
        assert done.exit_code == 0, (args, done.stderr)
    roles.fails("orchestrator", 5, "project_not_found", "epic", "show", "no-such-project/1")
    roles.fails("orchestrator", 2, "bad_handle", "story", "update", "1.x", "--title", "t")
    roles.fails("orchestrator", 2, "no_project", "epic", "show", "1")
