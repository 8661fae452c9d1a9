"""A project document as a directory: ``epic_<N>/us_<number>.json``, as the reference's CLI
reads it, and as ``loopctl export --dir`` writes it.

    DIR/project.json            the document without its epics (format, project, top-level
                                dependency lists); optional
    DIR/epic_2/epic.json        epic 2 without its stories (number, title, …); optional
    DIR/epic_2/us_2.1.json      one story each

Reading gathers every ``us_*.json`` under DIR (at any depth, as the reference does) into the
epic its path names (the last ``epic_<N>`` folder); an epic without ``epic.json`` gets
the number of its folder and the title ``Epic <N>``. Without ``project.json`` the document has
no ``format``, so the server reads it as the reference's. Epics come out by number and
stories in natural number order, the export's order: export, ``--dir``, import and export
again gives the same document.
"""

import json
import re
from pathlib import Path
from typing import Any

from loopctl.cli.errors import UsageProblem

PROJECT_FILE = "project.json"
EPIC_FILE = "epic.json"
_EPIC_DIR = re.compile(r"^epic_(\d+)$")
_NUMBER = re.compile(r"^\d+(\.\d+)*$")


def _natural(number: str) -> tuple[int, ...]:
    return tuple(int(p) for p in number.split(".")) if _NUMBER.match(number) else (1 << 62,)


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageProblem("unreadable_file", f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise UsageProblem("bad_json", f"{path}: not JSON: {exc}") from None


def _object(path: Path) -> dict[str, Any]:
    value = _load(path)
    if not isinstance(value, dict):
        raise UsageProblem("bad_json", f"{path}: expected a JSON object")
    return value


def _epic_number(story_file: Path, root: Path) -> int:
    for part in reversed(story_file.relative_to(root).parts[:-1]):
        found = _EPIC_DIR.match(part)
        if found:
            return int(found.group(1))
    raise UsageProblem(
        "bad_layout", f"{story_file}: a us_*.json file must be inside an epic_<N> folder"
    )


def _epic(folder: Path, number: int) -> dict[str, Any]:
    path = folder / EPIC_FILE
    epic = _object(path) if path.is_file() else {"number": number, "title": f"Epic {number}"}
    given = epic.get("number", number)
    if str(given) != str(number):
        raise UsageProblem("bad_layout", f"{path}: number {given!r} but its folder says {number}")
    epic.setdefault("number", number)
    epic.pop("stories", None)
    return epic


def read_dir(root: Path) -> dict[str, Any]:
    """The document a directory holds."""
    if not root.is_dir():
        raise UsageProblem("bad_layout", f"{root} is not a directory")
    head = root / PROJECT_FILE
    document = _object(head) if head.is_file() else {}
    document.pop("epics", None)
    folders: dict[int, Path] = {}
    stories: dict[int, list[dict[str, Any]]] = {}
    for path in sorted(root.rglob("us_*.json")):
        number = _epic_number(path, root)
        folder = next(p for p in path.parents if _EPIC_DIR.match(p.name))
        if folders.setdefault(number, folder) != folder:
            raise UsageProblem("bad_layout", f"epic {number} is in {folders[number]} and {folder}")
        story = _object(path)
        stories.setdefault(number, []).append(story)
    for folder in root.glob("epic_*"):  # epics without stories still count
        found = _EPIC_DIR.match(folder.name)
        if found and folder.is_dir() and (folder / EPIC_FILE).is_file():
            folders.setdefault(int(found.group(1)), folder)
    if not folders:
        raise UsageProblem("bad_layout", f"no epic_<N>/us_*.json files under {root}")
    epics = []
    for number in sorted(folders):
        epic = _epic(folders[number], number)
        found_stories = stories.get(number, [])
        found_stories.sort(key=lambda s: _natural(str(s.get("number", ""))))
        epics.append({**epic, "stories": found_stories})
    return {**document, "epics": epics}


def _dump(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _safe_name(number: Any, what: str) -> str:
    text = str(number)
    if not _NUMBER.match(text):
        raise UsageProblem("bad_layout", f"{what} number {text!r} cannot name a file")
    return text


def write_dir(document: dict[str, Any], root: Path) -> int:
    """Write ``document`` under ``root`` (missing or empty); returns how many files."""
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise UsageProblem("not_empty", f"{root} exists and is not an empty directory")
    root.mkdir(parents=True, exist_ok=True)
    _dump(root / PROJECT_FILE, {k: v for k, v in document.items() if k != "epics"})
    written = 1
    for epic in document.get("epics", []):
        folder = root / f"epic_{_safe_name(epic['number'], 'epic')}"
        folder.mkdir()
        _dump(folder / EPIC_FILE, {k: v for k, v in epic.items() if k != "stories"})
        written += 1
        for story in epic.get("stories", []):
            _dump(folder / f"us_{_safe_name(story['number'], 'story')}.json", story)
            written += 1
    return written
