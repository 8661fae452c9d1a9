"""Every command of every skill runs, in order, as one scenario against a live server.

A skill (skills/loopctl-*.md) is run like a docs page (tests/docs/examples.py: one bash,
its blocks in order, the same markers), but from the state its scenario builds
(tests/docs/scenarios.py) and with only that scenario's one key, in a home and a working
directory of its own. The other tests here keep a skill honest without a server: its front
matter, its length, no command block left unrun, and the MCP tools and error codes it
names being real ones.
"""

import re
from pathlib import Path

import pytest

from loopctl.mcp.catalogue import BY_NAME
from tests.docs.conftest import Live
from tests.docs.examples import ROOT, examples, run, skills
from tests.docs.scenarios import SCENARIOS, Cast
from tests.docs.skill_checks import MAX_LINES, error_codes, front_matter, mcp_tools, unrun_blocks

SKILLS = skills()
SOURCE = "\n".join(p.read_text() for p in (ROOT / "src" / "loopctl").rglob("*.py"))


@pytest.fixture(scope="module")
def cast(live: Live) -> Cast:
    return Cast(live)


@pytest.mark.slow
@pytest.mark.xdist_group("docs")
@pytest.mark.parametrize("skill", SKILLS, ids=lambda p: p.stem)
def test_a_skill_runs_as_one_scenario(live: Live, cast: Cast, skill: Path) -> None:
    place = live.home / "skills" / skill.stem
    home, work = place / "home", place / "work"
    home.mkdir(parents=True)
    work.mkdir()
    scenario = SCENARIOS[skill.stem](cast, work)
    env = {
        "PATH": live.env["PATH"],
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "LOOPCTL_SERVER": live.server.url,
        scenario.key_variable: scenario.key,
        **scenario.variables,
    }
    runnable = [e for e in examples(skill) if e.norun is None]
    assert runnable, f"{skill.name} has no command the test runs"
    problem = run(runnable, cwd=work, env=env, port=live.port)
    assert problem is None, problem


def test_there_are_skills_and_each_has_a_scenario() -> None:
    assert len(SKILLS) >= 6
    assert {p.stem for p in SKILLS} == set(SCENARIOS)


@pytest.mark.parametrize("skill", SKILLS, ids=lambda p: p.stem)
def test_a_skill_has_the_front_matter_claude_code_reads(skill: Path) -> None:
    fields = front_matter(skill)
    assert fields.get("name") == skill.stem
    description = fields.get("description", "")
    assert 40 <= len(description) <= 1024, description
    lines = skill.read_text().count("\n")
    assert lines <= MAX_LINES, f"{skill.name} has {lines} lines; keep a skill short"


def test_every_command_block_of_every_skill_is_run() -> None:
    problems = [problem for skill in SKILLS for problem in unrun_blocks(skill)]
    assert not problems, "\n".join(problems)
    waiting = [f"  {e.where()}: {e.norun}" for s in SKILLS for e in examples(s) if e.norun]
    print("skill blocks waiting for a command:\n" + "\n".join(waiting or ["  none"]))


@pytest.mark.parametrize("skill", SKILLS, ids=lambda p: p.stem)
def test_the_mcp_tools_a_skill_names_exist(skill: Path) -> None:
    named = mcp_tools(skill)
    assert named, f"{skill.name} names no MCP tool"
    assert named <= set(BY_NAME), f"not MCP tools: {sorted(named - set(BY_NAME))}"


@pytest.mark.parametrize("skill", SKILLS, ids=lambda p: p.stem)
def test_the_error_codes_a_skill_names_are_answered_by_the_code(skill: Path) -> None:
    codes = error_codes(skill)
    assert codes, f"{skill.name} has no error table"
    unknown = sorted(c for c in codes if not re.search(rf"[\"']{c}[\"']", SOURCE))
    assert not unknown, f"{skill.name} names codes the code never answers: {unknown}"


def test_the_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    bad = tmp_path / "loopctl-bad.md"
    bad.write_text(
        "---\nname: loopctl-bad\n---\n"
        "<!-- docs-test: norun it would take too long to run -->\n```sh\nloopctl ready\n```\n"
        "```text\nloopctl next\n```\n"
        "```\n$ .venv/bin/loopctl blocked\n```\n"
        "MCP: `claim_next`\n| `lease_lost`, `no_ready_story` | 6 | stop |\n"
    )
    assert [p.split(": ", 1)[0] for p in unrun_blocks(bad)] == [
        "loopctl-bad.md:5",
        "loopctl-bad.md:8",
        "loopctl-bad.md:11",
    ]
    assert front_matter(bad) == {"name": "loopctl-bad"}
    assert mcp_tools(bad) == {"claim_next"}
    assert error_codes(bad) == {"lease_lost", "no_ready_story"}
