"""The shell examples of the README and docs/*.md, as the docs test runs them.

A fenced block whose info string starts with ``sh``, ``bash`` or ``shell`` is an example.
An HTML comment on the line before the fence (blank lines allowed between) can say how
to treat it:

    <!-- docs-test: norun REASON -->                  not run; the reason is required
    <!-- docs-test: expect-error CODE[, CODE...] -->  run; its output must hold error
                                                      envelopes with exactly these codes
    <!-- docs-test: expect-exit N [CODE...] -->       run in a subshell that must exit with
                                                      N (a documented failure of the CLI);
                                                      with codes, its stderr must hold exactly
                                                      these `loopctl: CODE:` error lines

The skills (skills/loopctl-*.md) are read the same way; docs/skills.md says what more
their test asks of them.
"""

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELLS = {"sh", "bash", "shell"}
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)(.*)$")
DIRECTIVE = re.compile(r"^\s*<!--\s*docs-test:\s*(.*?)\s*-->\s*$")
# The docs' server address, replaced by the test server's.
DOCS_SERVERS = ("127.0.0.1:4000", "localhost:4000")
MARK = "@@docs-example {}@@"
SPLIT = re.compile(r"\n?@@docs-example (\d+|end)@@\n")
WRONG_EXIT = 97  # the script's own status when an expect-exit example exits otherwise
EXIT_SEEN = re.compile(r"@@docs-exit (\d+)@@")
# The CLI's one error line on stderr (docs/cli.md, "Errors and exit codes").
CLI_ERROR = re.compile(r"^loopctl: ([a-z_]+): ", re.MULTILINE)
# Our error envelope, as curl prints it (compact) or as a pretty-printer does.
ENVELOPE = re.compile(r'"error"\s*:\s*\{\s*"status"\s*:\s*(\d{3})\s*,\s*"code"\s*:\s*"([a-z_]+)"')


@dataclass
class Example:
    path: Path
    line: int  # of the opening fence, 1-based
    code: str
    norun: str | None = None  # the reason, when not run
    expected_errors: frozenset[str] = field(default_factory=frozenset)
    expected_exit: int = 0
    expected_cli_errors: frozenset[str] = field(default_factory=frozenset)

    def where(self) -> str:
        name = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path.name
        return f"{name}:{self.line}"


def documents() -> list[Path]:
    """README.md, then every docs/*.md: a new page is picked up without registering it."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def skills() -> list[Path]:
    """Every skill file: a new skill is picked up (and must have a scenario) without registering."""
    return sorted((ROOT / "skills").glob("loopctl-*.md"))


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
    elif kind == "expect-exit":
        status, _, named = rest.partition(" ")
        if not status.isdigit() or int(status) == 0 or int(status) > 255:
            raise ValueError(f"{example.where()}: expect-exit needs an exit status 1-255")
        example.expected_exit = int(status)
        example.expected_cli_errors = frozenset(c for c in re.split(r"[,\s]+", named) if c)
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


def _code(example: Example, port: int) -> str:
    code = example.code
    for address in DOCS_SERVERS:
        code = code.replace(address, f"127.0.0.1:{port}")
    if not example.expected_exit:
        return code
    # A failure the doc shows: its own subshell, whose status must be the documented one;
    # its stderr joins stdout, where the error line it names is looked for.
    return (
        f"set +e\n(\nset -e\n{code}) 2>&1\nrc=$?\nset -e\n"
        f'if [ "$rc" -ne {example.expected_exit} ]; then '
        f'printf "\\n@@docs-exit %s@@\\n" "$rc"; exit {WRONG_EXIT}; fi'
    )


def _script(runnable: list[Example], port: int) -> str:
    parts = ["set -euo pipefail"]
    for i, example in enumerate(runnable):
        parts.append(f"printf '\\n{MARK.format(i)}\\n'")
        parts.append(_code(example, port))
    parts.append(f"printf '\\n{MARK.format('end')}\\n'")
    return "\n".join(parts) + "\n"


def _outputs(output: str) -> dict[str, str]:
    pieces = SPLIT.split(output)
    return dict(zip(pieces[1::2], pieces[2::2], strict=True))


def run(runnable: list[Example], *, cwd: Path, env: dict[str, str], port: int) -> str | None:
    """Run one page's examples in order in one bash; what went wrong, or None."""
    result = subprocess.run(
        ["bash", "-c", _script(runnable, port)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = result.stdout + result.stderr
    by_example = _outputs(result.stdout)
    if result.returncode != 0 or "end" not in by_example:
        last = max((int(k) for k in by_example if k != "end"), default=0)
        failed = runnable[last]
        seen = EXIT_SEEN.search(result.stdout)
        status = seen.group(1) if seen else result.returncode
        return (
            f"{failed.where()} exited with {status} (the doc expects {failed.expected_exit}):"
            f"\n{failed.code}\n--- output ---\n{output[-4000:]}"
        )
    for i, example in enumerate(runnable):
        if example.expected_cli_errors:
            said = set(CLI_ERROR.findall(by_example[str(i)]))
            if said != set(example.expected_cli_errors):
                return (
                    f"{example.where()}: loopctl error lines {sorted(said)}, the doc expects "
                    f"{sorted(example.expected_cli_errors)}\n{by_example[str(i)][-3000:]}"
                )
        codes = error_codes(by_example[str(i)])
        if codes != set(example.expected_errors):
            return (
                f"{example.where()}: error codes {sorted(codes)} in the output, the doc "
                f"expects {sorted(example.expected_errors)} (mark it `<!-- docs-test: "
                f"expect-error CODE -->` if the error is the point)\n"
                f"{by_example[str(i)][-3000:]}"
            )
    return None
