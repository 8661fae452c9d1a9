"""What the skills' test asks of a skill file besides running (docs/skills.md).

- Front matter as Claude Code reads it: ``name`` (the file's name) and ``description``.
- Every command block runs: a shell block may be left out only while the command it needs
  is not built (``<!-- docs-test: norun needs COMMAND (not built yet) -->``), and no block
  of another kind (``text``, no language) may hold a ``loopctl`` command, which the test
  would not run.
- The MCP tools a skill names (after ``MCP:``, up to the end of the sentence) exist, and the error codes its tables name are ones the code
  can answer, so the skill cannot drift from the API.
"""

import re
from pathlib import Path

from tests.docs.examples import FENCE, SHELLS, examples

MAX_LINES = 120
NOT_BUILT = re.compile(r"^needs .+ \(not built yet\)$")
COMMAND_LINE = re.compile(r"^\s*(\$\s+)?(\S+/)?loopctl\s")
TICKED = re.compile(r"`([a-z][a-z0-9]*(?:_[a-z0-9]+)+)`")
# An error table's row: | `code` | exit | what to do |
ERROR_ROW = re.compile(r"^\|\s*`([a-z_]+)`(?:,\s*`[a-z_]+`)*\s*\|")
ROW_CODES = re.compile(r"`([a-z_]+)`")
PARENS = re.compile(r"\([^)]*\)")
SENTENCE_END = re.compile(r"\.\s|\.$|\|")


def front_matter(path: Path) -> dict[str, str]:
    """The ``key: value`` lines between the opening and closing ``---``."""
    lines = path.read_text().splitlines()
    if not lines or lines[0] != "---" or "---" not in lines[1:]:
        return {}
    end = lines.index("---", 1)
    fields: dict[str, str] = {}
    for line in lines[1:end]:
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def unrun_blocks(path: Path) -> list[str]:
    """Where the skill has a command block the test would not run, and why."""
    problems = [
        f"{e.where()}: norun must read 'needs COMMAND (not built yet)', not {e.norun!r}"
        for e in examples(path)
        if e.norun is not None and not NOT_BUILT.match(e.norun)
    ]
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence, lang = opening.group(1), opening.group(2).lower()
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if lang not in SHELLS and any(COMMAND_LINE.match(line) for line in lines[i + 1 : end]):
            problems.append(f"{path.name}:{i + 1}: a loopctl command in a ```{lang} block")
        i = end + 1
    return problems


def mcp_tools(path: Path) -> set[str]:
    """The tool names after ``MCP:`` in the skill's text (what is in brackets aside)."""
    names: set[str] = set()
    for paragraph in re.split(r"\n\s*\n", path.read_text()):
        for part in " ".join(paragraph.split()).split("MCP:")[1:]:
            sentence = SENTENCE_END.split(part, maxsplit=1)[0]
            names |= set(TICKED.findall(PARENS.sub("", sentence)))
    return names


def error_codes(path: Path) -> set[str]:
    """The codes named in the first column of the skill's error table."""
    found: set[str] = set()
    for line in path.read_text().splitlines():
        if ERROR_ROW.match(line):
            first_cell = line.split("|")[1]
            found |= set(ROW_CODES.findall(first_cell))
    return found
