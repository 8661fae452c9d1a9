"""The shell examples of the README and docs/*.md, as the docs test runs them.

A fenced block whose info string starts with ``sh``, ``bash`` or ``shell`` is an example.
An HTML comment on the line before the fence (blank lines allowed between) can say how
to treat it:

    <!-- docs-test: norun REASON -->                  not run; the reason is required
    <!-- docs-test: expect-error CODE[, CODE...] -->  run; its output must hold error
                                                      envelopes with exactly these codes
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELLS = {"sh", "bash", "shell"}
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)(.*)$")
DIRECTIVE = re.compile(r"^\s*<!--\s*docs-test:\s*(.*?)\s*-->\s*$")
# Our error envelope, as curl prints it (compact) or as a pretty-printer does.
ENVELOPE = re.compile(r'"error"\s*:\s*\{\s*"status"\s*:\s*(\d{3})\s*,\s*"code"\s*:\s*"([a-z_]+)"')


@dataclass
class Example:
    path: Path
    line: int  # of the opening fence, 1-based
    code: str
    norun: str | None = None  # the reason, when not run
    expected_errors: frozenset[str] = field(default_factory=frozenset)

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def documents() -> list[Path]:
    """README.md, then every docs/*.md: a new page is picked up without registering it."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _directive(example: Example, text: str) -> None:
    kind, _, rest = text.partition(" ")
    rest = rest.strip()
    if kind == "norun":
        if len(rest) < 15:
            raise ValueError(f"{example.where()}: norun needs a reason of a few words")
        example.norun = rest
    elif kind == "expect-error":
        codes = frozenset(c.strip() for c in rest.split(",") if c.strip())
        if not codes:
            raise ValueError(f"{example.where()}: expect-error needs the error codes")
        example.expected_errors = codes
    else:
        raise ValueError(f"{example.where()}: unknown docs-test directive {text!r}")


def examples(path: Path) -> list[Example]:
    lines = path.read_text().splitlines()
    found: list[Example] = []
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
        if lang in SHELLS:
            example = Example(path, i + 1, "\n".join(lines[i + 1 : end]) + "\n")
            before = i - 1
            while before >= 0 and not lines[before].strip():
                before -= 1
            directive = DIRECTIVE.match(lines[before]) if before >= 0 else None
            if directive is not None:
                _directive(example, directive.group(1))
            found.append(example)
        i = end + 1
    return found


def error_codes(output: str) -> set[str]:
    return {code for _, code in ENVELOPE.findall(output)}
