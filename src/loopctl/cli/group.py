"""The root command: turns every failure of every subcommand into one line and an exit code.

``LoopctlGroup`` is the Typer app's group class (``typer.Typer(cls=LoopctlGroup)``), so it
wraps all commands, including sub-apps added with ``add_typer``: a ``CliError`` prints its
line, any other exception prints one ``internal_error`` line (the traceback only with
``--debug`` or ``LOOPCTL_DEBUG=1``), and Typer's own exits and usage errors pass through
untouched (usage errors keep Click's exit code 2). It also keeps the help readable: flags
show no ``<bool>`` type.
"""

import importlib
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import typer
import typer.main
from typer.core import TyperArgument, TyperGroup, TyperOption

from loopctl.cli.errors import CliError, Unexpected, redact
from loopctl.cli.exit_codes import ExitCode

HELP_OPTION_NAMES = ["-h", "--help"]
DEBUG_VARIABLE = "LOOPCTL_DEBUG"
_TRUE = {"1", "true", "yes", "on", "y", "t"}
# Typer's own ways of ending a command: exits, aborts, usage and Click errors.
_TYPER_OUTCOMES = (typer.Exit, typer.Abort, typer.TyperException, BrokenPipeError)


def debug_from_environment(args: Sequence[str] | None) -> bool:
    argv = sys.argv[1:] if args is None else args
    return os.environ.get(DEBUG_VARIABLE, "").strip().lower() in _TRUE or "--debug" in argv


def report(exc: Exception, *, debug: bool) -> ExitCode:
    """Print ``exc`` as one line on stderr (after its traceback when debugging)."""
    if debug:
        # Redacted too: a message in the chain may hold a connection URL.
        typer.echo(redact("".join(traceback.format_exception(exc))), err=True, nl=False)
    error = exc if isinstance(exc, CliError) else Unexpected(exc)
    typer.echo(error.line(), err=True)
    return error.exit_code


def _no_type(ctx: Any) -> None:  # noqa: ARG001 - the signature of display_type_rich
    return None


def _quiet(params: list[Any]) -> None:
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
        # A list argument with its own metavar ("[PROJECT] STORY"): its type, <list[str]>,
        # would only confuse.
        if isinstance(param, TyperArgument) and param.nargs == -1 and param.metavar:
            setattr(param, "display_type_rich", _no_type)  # noqa: B010 - an instance's method


def _quiet_flag_types(command: Any) -> None:
    """Hide the ``<bool>`` that Typer 0.29's rich help prints for every flag (and --help).

    An empty metavar is how Typer's renderer leaves the type column blank. The help option
    is made lazily, per command; making it here, in a throwaway context, caches it.
    """
    context = typer.Context(command, help_option_names=HELP_OPTION_NAMES)
    _quiet(command.get_params(context))
    for sub in getattr(command, "commands", {}).values():
        _quiet_flag_types(sub)


def _loaded(name: str, module: str, attribute: str) -> Any:
    """The command ``module.attribute`` names (a command function or a Typer app)."""
    target = getattr(importlib.import_module(module), attribute)
    if not isinstance(target, typer.Typer):
        single = typer.Typer(rich_markup_mode="markdown")
        single.command(name)(target)
        target = single
    command = typer.main.get_command(target)
    command.name = name
    _quiet_flag_types(command)
    return command


class LoopctlGroup(TyperGroup):
    # Commands imported only when run or listed: name -> (module, attribute). For the
    # operator's commands (serve, db, admin, mcp), whose imports (the web app, SQLAlchemy,
    # Alembic, the MCP SDK) would triple the start-up time of every other command.
    lazy: ClassVar[Mapping[str, tuple[str, str]]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        _quiet_flag_types(self)

    def list_commands(self, ctx: Any) -> list[str]:
        names: list[str] = super().list_commands(ctx)
        return [*names, *(name for name in self.lazy if name not in names)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is None and cmd_name in self.lazy:
            found = _loaded(cmd_name, *self.lazy[cmd_name])
            self.add_command(found, cmd_name)
        return found

    def get_params(self, ctx: Any) -> list[Any]:
        # Typer adds the completion options after __init__.
        params: list[Any] = super().get_params(ctx)
        _quiet(params)
        return params

    # Any: typer 0.29 types this with the Context of its vendored click, which it does not
    # export.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _TYPER_OUTCOMES:
            raise
        except Exception as exc:
            debug = bool(ctx.params.get("debug")) or debug_from_environment(())
            raise typer.Exit(report(exc, debug=debug)) from None

    def main(self, args: Sequence[str] | None = None, *more: Any, **extra: Any) -> Any:
        # The last resort, for what fails outside invoke (an option's callback, say).
        try:
            return super().main(args, *more, **extra)
        except _TYPER_OUTCOMES:
            raise
        except Exception as exc:
            sys.exit(report(exc, debug=debug_from_environment(args)))
