"""docs/client.md: its ```python blocks, in order, as one script against the live server."""

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from loopctl.client import AsyncClient, Client, audit_calls, feed_calls, loop_calls, plan_calls
from tests.client.conftest import Live, Roles

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]

DOC = Path(__file__).resolve().parents[2] / "docs" / "client.md"
METHODS_TABLE = re.compile(r"^## Methods\n(.*?)^## ", re.MULTILINE | re.DOTALL)
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def python_blocks(text: str) -> list[str]:
    return BLOCK.findall(text)


def test_the_extraction_finds_each_block() -> None:
    sample = "intro\n```python\na = 1\n```\ntext\n```sh\nls\n```\n```python\nb = 2\n```\n"
    assert python_blocks(sample) == ["a = 1\n", "b = 2\n"]


def _builders() -> set[str]:
    return {
        name
        for module in (plan_calls, loop_calls, audit_calls, feed_calls)
        for name in vars(module)
        if not name.startswith("_")
        # A function, not a generic model pydantic registers here (Page[AuditEntry]).
        and inspect.isfunction(vars(module)[name])
        and vars(module)[name].__module__ == module.__name__
    }


def test_the_methods_table_lists_every_method_of_both_clients() -> None:
    table = METHODS_TABLE.search(DOC.read_text())
    assert table is not None
    listed = set(re.findall(r"`([a-z_]+)`", table.group(1))) - {"force"}
    builders = _builders()
    assert listed == builders
    for name in builders:
        assert callable(getattr(Client, name)), name
        assert callable(getattr(AsyncClient, name)), name


def test_every_python_example_runs(live: Live, keys: Roles, tmp_path: Path) -> None:
    blocks = python_blocks(DOC.read_text())
    assert len(blocks) >= 6, "docs/client.md lost its examples"
    script = tmp_path / "client_examples.py"
    script.write_text("\n".join(blocks))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPCTL_")}
    env.update(
        LOOPCTL_SERVER=live.url,
        LOOPCTL_DATA_DIR=str(tmp_path),
        LOOPCTL_USER_KEY=keys.user,
        LOOPCTL_ORCH_KEY=keys.orchestrator,
        LOOPCTL_AGENT_KEY=keys.agent,
    )
    ran = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0] == "LOOPCTL_SERVER LOOPCTL_AGENT_KEY agent"
    assert "('AC-1', 'passed'), ('AC-2', 'passed')" in ran.stdout
    assert "insufficient_role orchestrator" in lines
