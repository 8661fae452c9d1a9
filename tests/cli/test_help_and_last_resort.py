"""--help shows defaults and variables (never their values), and the exit-code table; any
unexpected exception in any command is one redacted line, its traceback only on request."""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from loopctl.cli.exit_codes import MEANINGS, ExitCode
from loopctl.cli.group import LoopctlGroup
from loopctl.cli.main import app
from tests.cli.conftest import clean_env
from tests.fixtures.server import LOOPCTL

Run = Any
DOCS = Path(__file__).parents[2] / "docs" / "cli.md"
SECRET_URL = "postgresql://owner:s3cr3t-pw@127.0.0.1:1/loopctl"


def _paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    if not hasattr(command, "list_commands"):
        return found
    ctx = typer.Context(command)
    for name in command.list_commands(ctx):  # the lazy commands too (cli/group.py)
        found += _paths(command.get_command(ctx, name), (*prefix, name))
    return found


def test_remote_commands_start_without_the_servers_imports() -> None:
    code = (
        "import sys, loopctl.cli.main\n"
        "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'alembic', 'mcp', 'uvicorn', "
        "'psycopg') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, "[]\n"), done.stderr


def test_the_lazy_commands_are_listed_and_run(run: Run) -> None:
    text = run("--help", env={"COLUMNS": "200"}).stdout
    for name in ("serve", "mcp", "db", "admin"):
        assert re.search(rf"^\S*\s+{name}\s", text, re.MULTILINE), name
    assert run("db", "--help").exit_code == 0
    outcome = run("db", "no-such-command")
    assert outcome.exit_code == ExitCode.USAGE


def test_no_help_shows_a_bool_type_for_a_flag(run: Run) -> None:
    paths = _paths(get_command(app))
    assert ("db", "status") in paths
    assert ("admin", "suspend-tenant") in paths
    for path in paths:
        outcome = run(*path, "--help", env={"COLUMNS": "200"})
        assert outcome.exit_code == 0, (path, outcome.stderr)
        assert "Show this message and exit" in outcome.stdout
        assert "<bool>" not in outcome.stdout, path


def test_help_names_each_variable_and_default_but_never_a_value(run: Run) -> None:
    secret = "lc_" + "S" * 43
    env = {"COLUMNS": "200", "LOOPCTL_API_KEY": secret, "LOOPCTL_SERVER": "http://hidden.example"}
    text = run("whoami", "--help", env=env).stdout
    for name in ("LOOPCTL_SERVER", "LOOPCTL_API_KEY", "LOOPCTL_AGENT_KEY", "LOOPCTL_ORCH_KEY"):
        assert name in text
    for name in ("LOOPCTL_USER_KEY", "LOOPCTL_DATA_DIR", "LOOPCTL_TIMEOUT"):
        assert name in text
    assert "http://127.0.0.1:$LOOPCTL_PORT, port 4000 if unset" in text
    assert "[default: 30.0]" in text
    assert secret not in text
    assert "hidden.example" not in text


def test_the_root_help_and_docs_list_the_same_exit_codes(run: Run) -> None:
    text = run("--help", env={"COLUMNS": "200"}).stdout
    docs = DOCS.read_text()
    for code, meaning in MEANINGS.items():
        assert re.search(rf"^\s*{code.value}\s+{re.escape(meaning)}\s*$", text, re.MULTILINE), code
        assert f"| {code.value} | `{code.name}` | {meaning} |" in docs, code


def _failing_app() -> typer.Typer:
    """An app built like loopctl's, whose command fails the way a bug would."""
    failing = typer.Typer(cls=LoopctlGroup)

    @failing.callback()
    def root(debug: bool = typer.Option(False, "--debug", envvar="LOOPCTL_DEBUG")) -> None:
        """Root."""

    @failing.command()
    def crash() -> None:
        """Fail with a credential in the message."""
        raise RuntimeError(f"could not reach {SECRET_URL}")

    return failing


@pytest.mark.parametrize(
    ("args", "env"),
    [(["crash"], {}), (["--debug", "crash"], {}), (["crash"], {"LOOPCTL_DEBUG": "1"})],
)
def test_an_unexpected_exception_is_one_redacted_line(
    tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    result = CliRunner().invoke(_failing_app(), args, env=clean_env(tmp_path, env))
    assert result.exit_code == ExitCode.FAILURE
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert lines[-1] == (
        "loopctl: internal_error: RuntimeError: could not reach "
        "postgresql://owner:***@127.0.0.1:1/loopctl (LOOPCTL_DEBUG=1 or --debug shows the "
        "traceback)"
    )
    debugging = args[0] == "--debug" or bool(env)
    assert ("Traceback (most recent call last)" in result.stderr) is debugging
    assert len(lines) == 1 or debugging
    assert "s3cr3t" not in result.output


def test_a_subcommand_owned_elsewhere_fails_in_one_line_in_a_real_process(tmp_path: Path) -> None:
    # db status against a database that refuses connections, its password in the URL.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPCTL_")}
    env.update(
        LOOPCTL_DATABASE_URL=SECRET_URL,
        LOOPCTL_OWNER_DATABASE_URL=SECRET_URL,
        LOOPCTL_DATA_DIR=str(tmp_path),
    )
    done = subprocess.run(
        [LOOPCTL, "db", "status"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode not in (0, ExitCode.USAGE), done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "s3cr3t" not in done.stderr + done.stdout


def test_python_m_and_the_entry_point_share_the_wrapper() -> None:
    assert isinstance(get_command(app), LoopctlGroup)
    done = subprocess.run(
        [sys.executable, "-c", "from loopctl.cli.main import main; main()", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("loopctl ")
