"""What the plan commands share: JSON values from the command line, confirmations, progress.

A JSON value is given inline (``'{"a": 1}'``), from a file (``@state.json``) or from stdin
(``-``). A destructive command asks before acting, on a terminal only; anywhere else (an
agent, a script) it needs ``--yes``, since there is no one to answer. Progress of a long
operation goes to stderr, and only when stderr is a terminal: agents get clean streams.
"""

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from loopctl.cli.errors import CliError, UsageProblem

YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Do it without asking (needed when not on a terminal).")
]


def read_text(source: str, what: str) -> str:
    """The text ``source`` names: ``@FILE``, ``-`` (stdin), or the text itself."""
    if source == "-":
        return sys.stdin.read()
    if source.startswith("@"):
        path = Path(source[1:]).expanduser()
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageProblem(
                "unreadable_file", f"{what}: cannot read {path}: {exc.strerror}"
            ) from None
        except UnicodeDecodeError:
            raise UsageProblem("bad_json", f"{what}: {path} is not UTF-8 text") from None
    return source


def parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageProblem("bad_json", f"{what}: not JSON: {exc}") from None


def json_value(source: str, what: str) -> Any:
    """A JSON value given inline, as ``@FILE`` or as ``-`` (stdin)."""
    return parse_json(read_text(source, what), what)


def json_object(source: str, what: str) -> dict[str, Any]:
    value = json_value(source, what)
    if not isinstance(value, dict):
        raise UsageProblem("bad_json", f"{what}: expected a JSON object")
    return value


def scalar(text: str) -> Any:
    """A setting's value: JSON where it parses (``true``, ``3``, ``"x"``, ``null``), else text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def pairs(given: list[str], what: str) -> dict[str, Any]:
    """``NAME=VALUE`` options as a dict, each value read by ``scalar``."""
    found: dict[str, Any] = {}
    for entry in given:
        name, equals, value = entry.partition("=")
        if not equals or not name.strip():
            raise UsageProblem("bad_option", f"{what} {entry!r}: expected NAME=VALUE")
        found[name.strip()] = scalar(value)
    return found


def aware(when: datetime) -> datetime:
    """A time for the API, which wants an offset: one given without is UTC."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def confirm(question: str, yes: bool) -> None:
    """Go on if ``--yes`` was given or a person at a terminal says yes; else stop."""
    if yes:
        return
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageProblem("confirmation_needed", f"{question} Give --yes to do it without asking")
    if not typer.confirm(question, default=False, err=True):
        raise CliError("not_confirmed", "nothing done")


def note(message: str) -> None:
    """A line for the person at the terminal (stderr); nothing when stderr is not one."""
    if sys.stderr.isatty():
        Console(stderr=True).print(message, highlight=False)


@contextmanager
def working(message: str) -> Iterator[None]:
    """A spinner on stderr while a long request runs, on a terminal only."""
    if not sys.stderr.isatty():
        yield
        return
    with Console(stderr=True).status(message):
        yield
