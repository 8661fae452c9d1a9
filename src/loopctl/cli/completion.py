"""`loopctl completion bash|zsh|fish`: print the shell's completion script."""

from enum import StrEnum
from typing import Annotated

import typer
from typer._completion_shared import get_completion_script

PROG = "loopctl"
# The variable the script sets to ask `loopctl` for completions (Typer's convention).
COMPLETE_VARIABLE = "_LOOPCTL_COMPLETE"


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion(shell: Annotated[Shell, typer.Argument(help="The shell.")]) -> None:
    """Print the completion script: `eval "$(loopctl completion bash)"` in ~/.bashrc."""
    script = get_completion_script(
        prog_name=PROG, complete_var=COMPLETE_VARIABLE, shell=shell.value
    )
    typer.echo(script)
