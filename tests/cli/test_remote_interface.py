"""The remote-command interface: ``@remote`` gives every command the same connection and
output options, ``client_for``/``emit_for`` read them, and handles parse as documented."""

import json
from typing import Annotated, Any
from uuid import uuid4

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from loopctl.cli import handles
from loopctl.cli.errors import UsageProblem
from loopctl.cli.group import LoopctlGroup
from loopctl.cli.main import app
from loopctl.cli.remote import client_for, connection, emit_for, remote
from loopctl.client import Client
from tests.cli.conftest import Live, clean_env

pytestmark = [pytest.mark.xdist_group("cli")]

REMOTE_FLAGS = {"--server", "--api-key", "--profile", "--data-dir", "--timeout", "--format"}
# Commands that run on this machine, or choose their server their own way (auth login).
LOCAL = {"serve", "mcp", "db", "admin", "completion", "config", "auth login", "auth logout"}


def _leaves(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    if not hasattr(command, "list_commands"):
        return [(prefix, command)]
    ctx = typer.Context(command)
    found: list[tuple[tuple[str, ...], Any]] = []
    for name in command.list_commands(ctx):
        found += _leaves(command.get_command(ctx, name), (*prefix, name))
    return found


def _flags(command: Any) -> set[str]:
    return {opt for param in command.params for opt in getattr(param, "opts", [])}


def test_every_remote_command_has_the_shared_options_once() -> None:
    leaves = [
        (path, cmd)
        for path, cmd in _leaves(get_command(app))
        if path[0] not in LOCAL and " ".join(path) not in LOCAL
    ]
    assert len(leaves) >= 20
    for path, command in leaves:
        flags = [opt for param in command.params for opt in getattr(param, "opts", [])]
        assert set(flags) >= REMOTE_FLAGS, path
        assert len(flags) == len(set(flags)), path


def _toy_app() -> typer.Typer:
    toy = typer.Typer(cls=LoopctlGroup)

    @toy.callback()
    def root() -> None:
        """Root."""

    @toy.command()
    @remote
    def echo(word: Annotated[str, typer.Argument()], wait: int = 3) -> None:
        """A command without a Context parameter."""
        typer.echo(f"{word} {wait}")

    @toy.command()
    @remote
    def shown(ctx: typer.Context) -> None:
        """Prints what the shared options said, through emit_for."""
        options = connection(ctx)
        emit_for(ctx, [{"timeout": options.timeout, "profile": options.profile, "x": 1}], ["x"])

    return toy


def test_remote_keeps_the_commands_own_parameters_and_adds_its_options(tmp_path: Any) -> None:
    runner = CliRunner()
    env = clean_env(tmp_path)
    done = runner.invoke(_toy_app(), ["echo", "hi", "--wait", "7", "--timeout", "9"], env=env)
    assert (done.exit_code, done.stdout) == (0, "hi 7\n")
    assert "--server" in _flags(get_command(_toy_app()).commands["echo"])  # type: ignore[attr-defined]
    shown = runner.invoke(
        _toy_app(), ["shown", "--timeout", "2.5", "--profile", "work", "--json"], env=env
    )
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == [{"timeout": 2.5, "profile": "work", "x": 1}]
    as_csv = runner.invoke(_toy_app(), ["shown", "-f", "csv"], env=env)
    assert as_csv.stdout == "x\n1\n"


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("shop", handles.Parsed(project="shop")),
        ("12", handles.Parsed(project="12")),
        ("3f0b6c1e-9d4a-4c56-8f8e-2a1b3c4d5e6f", None),
    ],
)
def test_project_handles_parse(ref: str, expected: handles.Parsed | None) -> None:
    parsed = handles.parse_project(ref)
    assert parsed == (expected or handles.Parsed(id=parsed.id))
    if expected is None:
        assert str(parsed.id) == ref


@pytest.mark.parametrize(
    ("kind", "ref", "project", "number"),
    [
        ("epic", "3", None, "3"),
        ("epic", "shop/3", "shop", "3"),
        ("story", "1.2", None, "1.2"),
        ("story", "shop/1.2", "shop", "1.2"),
        ("story", "7", None, "7"),
    ],
)
def test_numbered_handles_parse(kind: str, ref: str, project: str | None, number: str) -> None:
    parse = handles.parse_epic if kind == "epic" else handles.parse_story
    assert parse(ref) == handles.Parsed(project=project, number=number)


@pytest.mark.parametrize(
    ("kind", "ref"),
    [
        ("project", "Shop"),
        ("project", "a"),
        ("project", "shop/1"),
        ("epic", "1.2"),
        ("epic", "0"),
        ("epic", "shop/"),
        ("epic", "Shop/3"),
        ("story", "1..2"),
        ("story", "a/b/1.2"),
        ("story", ""),
    ],
)
def test_malformed_handles_are_usage_errors(kind: str, ref: str) -> None:
    parse = {
        "project": handles.parse_project,
        "epic": handles.parse_epic,
        "story": handles.parse_story,
    }[kind]
    with pytest.raises(UsageProblem) as caught:
        parse(ref)
    assert caught.value.code == "bad_handle"


def test_story_words_take_one_or_two_words() -> None:
    assert handles.story_words(["1.2"]) == ("1.2", None)
    assert handles.story_words(["shop", "1.2"]) == ("1.2", "shop")
    with pytest.raises(UsageProblem):
        handles.story_words(["a", "b", "c"])


def test_ids_pass_through_and_a_number_needs_a_project(live: Live) -> None:
    story = uuid4()
    with Client(live.url, live.user_key) as client:
        assert handles.story_id(client, str(story), "shop") == story
        assert handles.epic_id(client, str(story), None) == story
        assert handles.project_id(client, str(story)) == story
        with pytest.raises(UsageProblem) as caught:
            handles.story_id(client, "1.2", None)
        assert caught.value.code == "no_project"
        with pytest.raises(UsageProblem) as conflict:
            handles.story_id(client, "shop/1.2", "other")
        assert conflict.value.code == "bad_handle"
    with Client(live.url, live.user_key, default_project=str(story)) as client:
        assert handles.project_id(client, None) == story


def test_an_option_named_like_a_shared_one_is_refused_when_declared() -> None:
    def mine(wait: Annotated[int, typer.Option("--timeout")] = 3) -> None:
        """Clashes."""

    def plain(json: bool = False) -> None:
        """Clashes too: --json."""

    def fine(ctx: typer.Context, server: Annotated[str, typer.Argument()] = "x") -> None:
        """An argument named server is no option."""

    def plain_argument(json: str) -> None:
        """Nor is a plain parameter without a default."""

    for clashing in (mine, plain):
        with pytest.raises(TypeError, match="shared options"):
            remote(clashing)
    remote(fine)
    remote(plain_argument)


def test_client_for_outside_a_remote_command_is_a_programming_error() -> None:
    command = typer.main.get_command(_toy_app())
    ctx = typer.Context(command)
    with pytest.raises(TypeError), client_for(ctx):
        pass
