"""The `loopctl` command."""

from collections.abc import Mapping
from typing import Annotated, ClassVar

import typer

from loopctl.cli import (
    account,
    auth,
    deps,
    feed,
    loop,
    plan,
    profiles,
    reads,
    state,
    story_edits,
    transfer,
    verdicts,
)
from loopctl.cli.api import api
from loopctl.cli.completion import completion
from loopctl.cli.exit_codes import markdown_table
from loopctl.cli.group import DEBUG_VARIABLE, HELP_OPTION_NAMES, LoopctlGroup
from loopctl.cli.whoami import whoami
from loopctl.platform.config import VERSION

EPILOG = (
    "**Exit codes** (docs/cli.md). Errors are one line on stderr, `loopctl: CODE: MESSAGE`; "
    "`--debug` adds the traceback of an unexpected one.\n\n" + markdown_table()
)


class Root(LoopctlGroup):
    # Loaded when used (cli/group.py says why).
    lazy: ClassVar[Mapping[str, tuple[str, str]]] = {
        "serve": ("loopctl.cli.serve", "serve"),
        "mcp": ("loopctl.cli.mcp", "mcp"),
        "db": ("loopctl.cli.db", "app"),
        "admin": ("loopctl.cli.admin", "app"),
    }


app = typer.Typer(
    name="loopctl",
    cls=Root,
    help="loopctl: the shared, trustworthy record of an AI-driven software project.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=True,
    # Markdown keeps a help text's "[default: …]" as text; rich markup would eat it.
    rich_markup_mode="markdown",
    context_settings={"help_option_names": HELP_OPTION_NAMES, "show_default": True},
)
app.command()(whoami)
app.command()(api)
app.command()(completion)
app.add_typer(auth.app, name="auth")
app.add_typer(profiles.app, name="config")
# The story loop and the reads an agent needs (cli/reads.py, loop.py, verdicts.py).
app.add_typer(
    reads.projects,
    name="project",
    help="Projects: create, list, show, update, archive, progress.",
)
app.add_typer(reads.stories, name="story", help="Stories: create, list, show, update, delete.")
for read in (reads.ready, reads.blocked, reads.history):
    app.command()(read)
loop.register(app)
verdicts.register(app)
# Planning, the feed and the rest (cli/account.py, plan.py, story_edits.py, deps.py,
# transfer.py, feed.py, state.py); plan and story_edits add to `project` and `story`.
plan.register(reads.projects)
story_edits.register(reads.stories)
app.add_typer(account.tenant, name="tenant")
app.add_typer(account.keys, name="keys")
app.add_typer(account.agents, name="agent")
app.add_typer(plan.epics, name="epic")
app.add_typer(deps.deps, name="dep")
app.command("critical-path")(deps.critical_path)
app.command("import")(transfer.import_)
app.command()(transfer.export)
app.command()(feed.changes)
app.add_typer(state.state, name="state")
app.add_typer(state.audit_group(reads.audit), name="audit")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"loopctl {VERSION}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar=DEBUG_VARIABLE,
            help="On an unexpected error, print its traceback too.",
        ),
    ] = False,
) -> None:
    """loopctl: the shared, trustworthy record of an AI-driven software project."""


def main() -> None:
    app()
