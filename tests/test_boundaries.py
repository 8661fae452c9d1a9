"""The boundaries between domains: import contracts (.importlinter) and table ownership."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import loopctl

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(loopctl.__file__).resolve().parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# Which domain owns each table: only its repository writes SQL naming it, unless the pair
# is in TABLES_SHARED below.
TABLE_OWNER = {
    "tenants": "tenants",
    "agents": "agents",
    "api_keys": "api_keys",
    "audit_log": "audit",
    "superadmin_keys": "admin",
    "platform_audit_log": "admin",
    "rate_limit_counters": "auth",
    "projects": "projects",
    "epics": "epics",
    "stories": "stories",
    "story_dependencies": "dependencies",
    "epic_dependencies": "dependencies",
    "claim_order": "dependencies",
    "review_records": "progress",
    "verification_results": "progress",
    "artifacts": "progress",
    "orchestrator_states": "orchestrator",
}

# The one allow-list of repositories that name another domain's table, and why. Each is a
# read joined into the domain's own statement (one round trip instead of a service call per
# row) or a bulk write that must be one statement; docs/architecture.md ("Boundaries").
TABLES_SHARED = {
    ("admin", "tenants"): "suspending and listing tenants across RLS is the admin role's job",
    ("auth", "api_keys"): "the batched last_used_at flush after requests",
    ("auth", "agents"): "the batched last_seen_at flush after requests",
    ("changes", "audit_log"): "the change feed is the audit log read in commit-safe order",
    ("api_keys", "agents"): "a key lists its agent's name (join, not a lookup per key)",
    ("projects", "epics"): "the project detail's epic count",
    ("projects", "stories"): "the project detail's story count",
    ("epics", "stories"): "story counts per epic and the epic's story list",
    ("epics", "epic_dependencies"): "an epic's dependency counts in its summary",
    ("stories", "epics"): "a story row carries its epic's number",
    ("stories", "story_dependencies"): "a story response lists its dependency edges",
    ("dependencies", "projects"): "ready/blocked lists are scoped by project in the same join",
    ("dependencies", "epics"): "the graph, ready/blocked joins and cycle checks walk epics",
    ("dependencies", "stories"): "the graph, ready/blocked joins and cycle checks walk stories",
    ("import_export", "epics"): "a document's epics are read and bulk-inserted in one statement",
    ("import_export", "stories"): "a document's stories are read and bulk-inserted at once",
    ("import_export", "epic_dependencies"): "a document's epic edges, bulk-inserted",
    ("import_export", "story_dependencies"): "a document's story edges, bulk-inserted",
    ("progress", "stories"): "the loop locks and writes a story's progress columns, which the"
    " progress domain owns (migration 0009); the story's other columns stay the stories'",
    ("progress", "claim_order"): "claim-next scans the claim order and locks its story in"
    " one statement (migration 0012)",
    ("progress", "projects"): "claim-next skips archived projects in that same statement",
    ("progress", "story_dependencies"): "the locked read counts unverified prerequisites"
    " (the claim gate) in the statement that locks the story",
    ("progress", "epic_dependencies"): "the same count, through the story's epic",
    ("progress", "tenants"): "the locked read brings the tenant's settings along",
}

_TABLE_REFERENCE = re.compile(r"\b(?:from|join|into|update)\s+([a-z_]+)", re.IGNORECASE)
# The repository kit composes statements from a table's name (kit.repository.insert,
# update, Listing.table), so a quoted table name names the table too.
_TABLE_LITERAL = re.compile(r"""["']([a-z_]+)["']""")


def _tables_named(source: str) -> set[str]:
    named = {name.lower() for name in _TABLE_REFERENCE.findall(source)}
    return (named | set(_TABLE_LITERAL.findall(source))) & TABLE_OWNER.keys()


def test_repositories_touch_only_their_tables_or_listed_ones() -> None:
    found: set[tuple[str, str]] = set()
    strays = []
    for path in sorted(PACKAGE.glob("*/*repository.py")):
        domain = path.parent.name
        for table in _tables_named(path.read_text()):
            if TABLE_OWNER[table] == domain:
                continue
            found.add((domain, table))
            if (domain, table) not in TABLES_SHARED:
                strays.append(f"{path.relative_to(PACKAGE)} names {table}")
    assert not strays, "add to TABLES_SHARED with a reason, or call the owner's service"
    unused = set(TABLES_SHARED) - found
    assert not unused, f"allow-list entries no repository needs any more: {sorted(unused)}"


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH first: the copy's loopctl shadows the installed (editable) one.
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(cwd / ".importlinter"), "--no-cache"],
        cwd=cwd,
        env={"PYTHONPATH": str(cwd), "PATH": str(LINT_IMPORTS.parent)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("boundaries")
    shutil.copytree(PACKAGE, root / "loopctl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", root / ".importlinter")
    return root


def test_the_contracts_hold(copy: Path) -> None:
    result = _lint_imports(copy)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("stories/service.py", "from loopctl.epics import repository", "epics:"),
        ("epics/repository.py", "from loopctl.epics import service", "endpoints -> service"),
        ("kit/ids.py", "from loopctl.auth import roles", "kit imports no domain"),
    ],
)
def test_a_violating_import_fails_the_run(
    copy: Path, module: str, line: str, contract: str
) -> None:
    target = copy / "loopctl" / module
    original = target.read_text()
    try:
        target.write_text(original + f"\n{line}  # noqa\n")
        result = _lint_imports(copy)
    finally:
        target.write_text(original)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert contract in result.stdout
