"""`loopctl api`: call any endpoint and print its JSON answer, like `gh api`.

For what no command covers yet; its failures map to the same exit codes as every command.
It prints the answer as JSON; ``--format table|csv`` prints its ``data`` as rows instead.
"""

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from loopctl.cli.errors import UsageProblem
from loopctl.cli.remote import client_for, connection, emit_for, remote

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _body(data: str | None) -> Any:
    """The JSON body from ``--data``: inline JSON, ``@FILE``, or ``-`` for stdin."""
    if data is None:
        return None
    source = "--data"
    if data == "-":
        data, source = sys.stdin.read(), "stdin"
    elif data.startswith("@"):
        path = Path(data[1:])
        try:
            data, source = path.read_text(), str(path)
        except OSError as exc:
            raise UsageProblem("bad_data", f"cannot read {path}: {exc.strerror}") from None
    try:
        return json.loads(data)
    except ValueError as exc:
        raise UsageProblem("bad_data", f"{source} is not valid JSON: {exc}") from None


@remote
def api(
    ctx: typer.Context,
    path: Annotated[
        str, typer.Argument(help="Path under /api/v1 (`projects`) or absolute (`/api/v1/…`).")
    ],
    method: Annotated[
        str | None,
        typer.Option(
            "--method",
            "-X",
            help=f"HTTP method: {', '.join(METHODS)}.",
            show_default="POST with --data, else GET",
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", "-d", help="JSON body: inline, @FILE, or - for stdin."),
    ] = None,
) -> None:
    """Call an API endpoint with the key and print the JSON answer (errors exit non-zero)."""
    verb = (method or ("POST" if data is not None else "GET")).upper()
    if verb not in METHODS:
        raise UsageProblem("bad_method", f"--method must be one of {', '.join(METHODS)}")
    body = _body(data)
    with client_for(ctx, key_required=False) as client:
        answer = client.request(verb, path, json=body)
    if answer is None:
        return
    options = connection(ctx)
    if options.format is None or options.as_json:  # JSON unless a table or CSV is asked for
        typer.echo(json.dumps(answer, indent=2))
    else:
        listed = answer.get("data") if isinstance(answer, dict) else None
        emit_for(ctx, listed if isinstance(listed, list | dict) else answer)
