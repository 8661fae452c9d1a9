"""`import` and `export` through a file, stdin and the epic_<N>/us_*.json directory layout."""

import json
import os
import pty
import subprocess
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from tests.cli.conftest import Live
from tests.cli.roles import LOOPCTL, Roles

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cli")]
MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def roles(live: Live, run: Any) -> Roles:
    return Roles(live, run)


def _empty(roles: Roles) -> str:
    slug = f"xfer-{uuid4().hex[:8]}"
    roles.json("orchestrator", "project", "create", "Transfer target", "--slug", slug)
    return slug


def _planned(roles: Roles) -> str:
    """A project with two epics, criteria, estimates, and story and epic dependencies."""
    slug = f"xfer-{uuid4().hex[:8]}"
    roles.json("orchestrator", "project", "create", "Shop", "--slug", slug, "--mission", "sell")
    roles.json("orchestrator", "epic", "create", "1", "Payments", "-p", slug, "--phase", "mvp")
    roles.json("orchestrator", "epic", "create", "2", "Receipts", "-p", slug)
    for number, title in (("1.1", "Card"), ("1.2", "Refund"), ("1.10", "Wallet"), ("2.1", "Mail")):
        roles.json(
            "orchestrator",
            "story",
            "create",
            number,
            title,
            "-p",
            slug,
            "-c",
            f"{title} works",
            "--hours",
            "1.5",
        )
    roles.json("orchestrator", "dep", "add", "1.2", "1.1", "-p", slug)
    roles.json("orchestrator", "dep", "add", f"{slug}/2.1", f"{slug}/1.10")
    roles.json("orchestrator", "dep", "add", "--epics", "2", "1", "-p", slug)
    return slug


def _export(roles: Roles, project: str) -> Any:
    return roles.json("agent", "export", project)


def test_a_file_round_trip_and_a_dry_run_that_changes_nothing(roles: Roles, tmp_path: Path) -> None:
    source = _planned(roles)
    document = tmp_path / "shop.json"
    done = roles.as_("agent", "export", source, "--output", str(document))
    assert (done.exit_code, done.stdout, done.stderr) == (0, "", "")  # no progress off a tty
    original = json.loads(document.read_text())
    assert original == _export(roles, source)
    assert [e["number"] for e in original["epics"]] == [1, 2]
    assert [s["number"] for s in original["epics"][0]["stories"]] == ["1.1", "1.2", "1.10"]
    target = _empty(roles)
    before = _export(roles, target)
    planned = roles.json("orchestrator", "import", str(document), "-p", target, "--dry-run")
    assert planned["dry_run"] is True
    assert (planned["epics"]["created"], planned["stories"]["created"]) == (2, 4)
    assert planned["dependencies"]["created"] == 3
    assert planned["changed"]["stories_created"] == ["1.1", "1.2", "1.10", "2.1"]
    assert _export(roles, target) == before  # the dry run wrote nothing
    table = roles.as_(
        "orchestrator", "import", str(document), "-p", target, "--dry-run", "-f", "table"
    )
    assert "nothing was written" in table.stdout
    assert "would create  epics 1, 2; stories 1.1, 1.2, 1.10, 2.1" in table.stdout
    assert _export(roles, target) == before
    imported = roles.json("orchestrator", "import", str(document), "-p", target)
    assert (imported["dry_run"], imported["stories"]["created"]) == (False, 4)
    assert _export(roles, target) == original
    # Again: a fresh import into a project with epics is a conflict; merging changes nothing.
    roles.fails("orchestrator", 6, "project_not_empty", "import", str(document), "-p", target)
    merged = roles.json(
        "orchestrator", "import", "-", "-p", target, "--merge", stdin=document.read_text()
    )
    assert (merged["mode"], merged["stories"]["unchanged"], merged["stories"]["created"]) == (
        "merge",
        4,
        0,
    )


def test_the_directory_layout_round_trips(roles: Roles, tmp_path: Path) -> None:
    source = _planned(roles)
    first = tmp_path / "first"
    assert roles.as_("agent", "export", source, "--dir", str(first)).exit_code == 0
    files = sorted(str(p.relative_to(first)) for p in first.rglob("*.json"))
    assert files == [
        "epic_1/epic.json",
        "epic_1/us_1.1.json",
        "epic_1/us_1.10.json",
        "epic_1/us_1.2.json",
        "epic_2/epic.json",
        "epic_2/us_2.1.json",
        "project.json",
    ]
    assert json.loads((first / "epic_2" / "us_2.1.json").read_text())["depends_on"] == ["1.10"]
    target = _empty(roles)
    report = roles.json("orchestrator", "import", str(first), "-p", target)
    assert (report["epics"]["created"], report["stories"]["created"]) == (2, 4)
    second = tmp_path / "second"
    assert roles.as_("agent", "export", target, "--dir", str(second)).exit_code == 0
    for name in files:
        assert (second / name).read_text() == (first / name).read_text(), name
    assert _export(roles, target) == _export(roles, source)
    roles.fails("agent", 2, "not_empty", "export", source, "--dir", str(second))


def test_the_reference_s_directory_without_project_or_epic_files(
    roles: Roles, tmp_path: Path
) -> None:
    layout = tmp_path / "stories"
    for path, body in (
        (
            "epic_3/us_3.1.json",
            {
                "number": "3.1",
                "title": "Log in",
                "acceptance_criteria": [{"description": "a session starts"}],
            },
        ),
        ("epic_3/nested/us_3.2.json", {"number": "3.2", "title": "Log out"}),
        ("epic_4/us_4.json", {"number": 4, "title": "Profile"}),  # an integer number
    ):
        (layout / path).parent.mkdir(parents=True, exist_ok=True)
        (layout / path).write_text(json.dumps(body))
    target = _empty(roles)
    report = roles.json("orchestrator", "import", str(layout), "-p", target)
    assert (report["epics"]["created"], report["stories"]["created"]) == (2, 3)
    document = _export(roles, target)
    assert [(e["number"], e["title"]) for e in document["epics"]] == [(3, "Epic 3"), (4, "Epic 4")]
    story = document["epics"][0]["stories"][0]
    assert story["acceptance_criteria"] == [{"id": "AC-1", "criterion": "a session starts"}]


def test_import_and_export_errors(roles: Roles, tmp_path: Path) -> None:
    target = _empty(roles)
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "format": "loopctl.project.v1",
                "epics": [
                    {
                        "number": 1,
                        "title": "A",
                        "stories": [{"number": "1.1", "title": "x", "depends_on": ["9.9"]}],
                    }
                ],
            }
        )
    )
    refused = roles.fails("orchestrator", 7, "validation_error", "import", str(bad), "-p", target)
    assert "depends_on" in refused.stderr
    roles.fails("agent", 4, "insufficient_role", "import", str(bad), "-p", target)
    roles.fails("orchestrator", 5, "project_not_found", "import", str(bad), "-p", MISSING)
    roles.fails("agent", 5, "project_not_found", "export", MISSING)
    roles.fails(
        "orchestrator", 2, "unreadable_file", "import", str(tmp_path / "no.json"), "-p", target
    )
    (tmp_path / "text.json").write_text("[1, 2]")
    roles.fails("orchestrator", 2, "bad_json", "import", str(tmp_path / "text.json"), "-p", target)
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "us_1.1.json").write_text("{}")
    roles.fails("orchestrator", 2, "bad_layout", "import", str(tmp_path / "loose"), "-p", target)
    roles.fails(
        "agent",
        2,
        "bad_option",
        "export",
        target,
        "-o",
        str(tmp_path / "a"),
        "--dir",
        str(tmp_path / "b"),
    )
    assert _export(roles, target)["epics"] == []


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


def test_progress_goes_to_stderr_on_a_terminal_only(roles: Roles, tmp_path: Path) -> None:
    source = _planned(roles)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPCTL_")}
    env.update(roles.env("agent"))
    main, secondary = pty.openpty()
    with subprocess.Popen(
        [LOOPCTL, "export", source, "--dir", str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=secondary,
        env=env,
    ) as process:
        os.close(secondary)
        shown = _read_all(main)
        assert process.stdout is not None
        assert process.stdout.read() == b""
        assert process.wait(timeout=60) == 0
    os.close(main)
    assert f"wrote 7 files under {tmp_path / 'out'}" in shown
