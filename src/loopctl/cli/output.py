"""How commands print results: JSON for agents, Rich tables for people, or CSV.

The default follows stdout: JSON when it is not a terminal (a pipe, an agent), a table when
it is. Lists print as the API's page (``{"data": [...], "meta": {...}}``) in JSON, and as
rows in a table or CSV; one object prints as itself, or as a field/value table.
"""

import csv
import json
import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from loopctl.kit.schemas import Page

OUTPUT = "Output"
# Wide enough that UUIDs and titles are not folded when a table goes to a file or pipe.
PIPE_WIDTH = 200


class Format(StrEnum):
    json = "json"
    table = "table"
    csv = "csv"


FormatOption = Annotated[
    Format | None,
    typer.Option(
        "--format",
        "-f",
        show_default="json when stdout is not a terminal, else table",
        help="How to print the result.",
        rich_help_panel=OUTPUT,
    ),
]
JsonFlag = Annotated[
    bool, typer.Option("--json", help="Same as --format json.", rich_help_panel=OUTPUT)
]


def chosen(fmt: Format | None, as_json: bool) -> Format:
    if as_json:
        return Format.json
    if fmt is not None:
        return fmt
    return Format.table if sys.stdout.isatty() else Format.json


def plain(result: Any) -> Any:
    """A model, a page or a list of models as JSON-ready Python values."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, list):
        return [plain(item) for item in result]
    return result


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _console() -> Console:
    terminal = sys.stdout.isatty()
    # Colour only on a terminal; Rich also honours NO_COLOR.
    return Console(
        file=sys.stdout,
        width=None if terminal else PIPE_WIDTH,
        no_color=not terminal,
        highlight=terminal,
        soft_wrap=False,
    )


def _rows_table(rows: list[dict[str, Any]], columns: Sequence[str]) -> Table:
    table = Table(show_lines=False)
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(name)) for name in columns))
    return table


def _fields_table(item: dict[str, Any]) -> Table:
    table = Table(show_header=True)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for name, value in item.items():
        table.add_row(name, _cell(value))
    return table


def _columns(rows: list[dict[str, Any]], wanted: Sequence[str] | None) -> list[str]:
    if wanted:
        return list(wanted)
    return list(rows[0]) if rows else []


def emit(
    result: Any, fmt: Format, columns: Sequence[str] | None = None, *, caption: str = ""
) -> None:
    """Print ``result`` (a model, a Page, or a list of models) in ``fmt``."""
    data = plain(result)
    rows: list[dict[str, Any]] | None = None
    if isinstance(result, Page):
        rows = data["data"]
        caption = caption or f"{len(rows)} of {data['meta'].get('total', len(rows))}"
    elif isinstance(data, list):
        rows = data
    if fmt is Format.json:
        typer.echo(json.dumps(data, indent=2))
    elif fmt is Format.csv:
        lines = rows if rows is not None else [data]
        names = _columns(lines, columns)
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        for row in lines:
            writer.writerow([_cell(row.get(name)) for name in names])
    elif rows is not None:
        table = _rows_table(rows, _columns(rows, columns))
        table.caption = caption or None
        _console().print(table)
    else:
        _console().print(_fields_table(data))
