"""The docs runner itself: what it extracts, and that it fails when an example does."""

import os
from pathlib import Path

import pytest

from tests.docs import examples as docs
from tests.docs.examples import Example, documents, examples, run

PAGE = """\
# A page

```sh
echo one
```

Some text.

<!-- docs-test: norun starts a server in the foreground -->
```sh
make serve
```

```json
{"not": "shell"}
```

<!-- docs-test: expect-error slug_taken, not_found -->

```bash
echo '{"error": {"status": 409, "code": "slug_taken"}}'
```

  ```shell
  echo indented
  ```

<!-- docs-test: expect-exit 3 -->
```sh
exit 3
```
"""


def _page(tmp_path: Path, text: str) -> list[Example]:
    page = tmp_path / "page.md"
    page.write_text(text)
    return examples(page)


def _run(tmp_path: Path, found: list[Example]) -> str | None:
    runnable = [e for e in found if e.norun is None]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return run(runnable, cwd=tmp_path, env=env, port=4999)


def test_it_finds_shell_blocks_with_their_directives(tmp_path: Path) -> None:
    found = _page(tmp_path, PAGE)
    assert [e.line for e in found] == [3, 10, 20, 24, 29]
    assert [e.code.strip() for e in found] == [
        "echo one",
        "make serve",
        """echo '{"error": {"status": 409, "code": "slug_taken"}}'""",
        "echo indented",
        "exit 3",
    ]
    assert found[1].norun == "starts a server in the foreground"
    assert found[2].expected_errors == {"slug_taken", "not_found"}
    assert found[4].expected_exit == 3
    assert found[0].norun is None
    assert not found[0].expected_errors


@pytest.mark.parametrize(
    "directive",
    ["norun", "norun because", "expect-error", "expect-exit 0", "expect-exit x", "skip it"],
)
def test_a_directive_without_what_it_needs_is_refused(tmp_path: Path, directive: str) -> None:
    with pytest.raises(ValueError, match=r"page\.md:2"):
        _page(tmp_path, f"<!-- docs-test: {directive} -->\n```sh\ntrue\n```\n")


def test_a_page_whose_examples_behave_as_documented_passes(tmp_path: Path) -> None:
    found = _page(tmp_path, PAGE.replace("slug_taken, not_found", "slug_taken"))
    assert _run(tmp_path, found) is None


def test_an_expected_exit_may_name_the_cli_error_it_prints(tmp_path: Path) -> None:
    found = _page(
        tmp_path,
        "<!-- docs-test: expect-exit 5 no_ready_story -->\n"
        "```sh\necho 'loopctl: no_ready_story: nothing is ready' >&2; exit 5\n```\n"
        "```sh\necho after\n```\n",
    )
    assert found[0].expected_exit == 5
    assert found[0].expected_cli_errors == {"no_ready_story"}
    assert _run(tmp_path, found) is None


def test_it_replaces_the_docs_server_address(tmp_path: Path) -> None:
    found = _page(
        tmp_path, '```sh\n[ "http://127.0.0.1:4000/x" = "http://127.0.0.1:4999/x" ]\n```\n'
    )
    assert _run(tmp_path, found) is None


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("```sh\necho ok\n```\n```sh\nfalse\n```\n", "page.md:4 exited with 1"),
        ("```sh\nA=1\n```\n```sh\necho $UNSET_IN_THE_DOCS\n```\n", "page.md:4 exited with"),
        ("```sh\ntrue | false | true\n```\n", "page.md:1 exited with 1"),
        (
            '```sh\necho \'{"error":{"status":404,"code":"not_found","message":"x"}}\'\n```\n',
            "page.md:1: error codes ['not_found']",
        ),
        (
            "<!-- docs-test: expect-error slug_taken -->\n```sh\necho fine\n```\n",
            "page.md:2: error codes []",
        ),
        ("<!-- docs-test: expect-exit 3 -->\n```sh\nexit 4\n```\n", "page.md:2 exited with 4"),
        ("<!-- docs-test: expect-exit 3 -->\n```sh\ntrue\n```\n", "page.md:2 exited with 0"),
        (
            "<!-- docs-test: expect-exit 5 no_ready_story -->\n"
            "```sh\necho 'loopctl: story_not_found: no such story' >&2; exit 5\n```\n",
            "page.md:2: loopctl error lines ['story_not_found']",
        ),
    ],
    ids=[
        "exit",
        "unset",
        "pipefail",
        "error",
        "missing-error",
        "other-exit",
        "no-exit",
        "cli-code",
    ],
)
def test_it_fails_when_an_example_does_not_behave_as_documented(
    tmp_path: Path, text: str, complaint: str
) -> None:
    problem = _run(tmp_path, _page(tmp_path, text))
    assert problem is not None
    assert complaint in problem


def test_every_page_of_the_docs_is_read() -> None:
    pages = {p.name for p in documents()}
    assert {"README.md", "api.md", "work-breakdown.md", "import-export.md"} <= pages
    on_disk = {p.name for p in (docs.ROOT / "docs").glob("*.md")}
    assert on_disk <= pages
