"""The docs' shell examples run as written, against a live `loopctl serve`.

One server for every page (started like a new user's: its data in ``~/.local/share/loopctl``
of a fresh home directory). Each page's examples run in order in one bash process, so a
variable one example sets is there for the next, as for a reader pasting them into one
terminal; pages run in file order against the same server, so they must not collide with
each other either. The docs' server address ``127.0.0.1:4000`` is replaced by the test
server's. The examples may assume what README.md says they assume: ``LOOPCTL_SERVER``,
``LOOPCTL_USER_KEY``, ``LOOPCTL_ORCH_KEY`` and ``LOOPCTL_AGENT_KEY`` set, and the
virtualenv's ``bin`` on ``PATH`` (``.venv/bin/loopctl`` works too).
"""

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.docs.examples import ROOT, documents, examples, run
from tests.fixtures.server import Server, start

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("docs")]

# Fewer than this many examples run, or more than this share not run, and someone has
# switched the check off by marking rather than fixing.
MIN_RUN = 12
MAX_NORUN_SHARE = 0.5


@dataclass
class Live:
    server: Server
    home: Path
    env: dict[str, str]


def _key(url: str, user_key: str, role: str, agent: str) -> str:
    response = httpx.post(
        f"{url}/api/v1/api_keys",
        headers={"Authorization": f"Bearer {user_key}"},
        json={"name": f"docs {role}", "role": role, "agent_name": agent},
    )
    assert response.status_code == 201, response.text
    raw: str = response.json()["data"]["raw_key"]
    return raw


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    # Not under pytest's tmp_path: as root, PostgreSQL runs as another user that must
    # traverse every parent, and each new pytest session on the machine takes the group
    # and other bits off /tmp/pytest-of-<user> again.
    top = Path(tempfile.mkdtemp(prefix="loopctl-docs-"))
    # As root PostgreSQL runs as loopctl-postgres, which must traverse to the data dir.
    top.chmod(0o711)
    home = top / "home"
    data = home / ".local" / "share" / "loopctl"
    server = start(data, {"HOME": str(home)})
    try:
        user = (data / "local-user-key").read_text().strip()
        venv_bin = Path(sys.executable).parent
        env = {
            "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(home),
            # Where the README finds the saved key (as root it would look in /var/lib).
            "LOOPCTL_DATA_DIR": str(data),
            "LANG": "C.UTF-8",
            "LOOPCTL_SERVER": server.url,
            "LOOPCTL_USER_KEY": user,
            "LOOPCTL_ORCH_KEY": _key(server.url, user, "orchestrator", "docs-orchestrator"),
            "LOOPCTL_AGENT_KEY": _key(server.url, user, "agent", "docs-implementer"),
        }
        yield Live(server, home, env)
    finally:
        server.stop()
        shutil.rmtree(top, ignore_errors=True)


def _workdir(live: Live, page: Path) -> Path:
    work = live.home / "work" / page.stem
    work.mkdir(parents=True)
    # The docs write `.venv/bin/loopctl`, as run from a checkout.
    (work / ".venv").symlink_to(Path(sys.prefix))
    return work


@pytest.mark.parametrize("page", documents(), ids=lambda p: p.name)
def test_the_examples_of_a_page_run_as_written(live: Live, page: Path) -> None:
    runnable = [e for e in examples(page) if e.norun is None]
    if not runnable:
        return  # nothing to run; test_most_examples_run counts what is left out
    port = int(live.server.url.rsplit(":", 1)[1])
    problem = run(runnable, cwd=_workdir(live, page), env=live.env, port=port)
    assert problem is None, problem


def test_most_examples_run_and_those_that_do_not_say_why() -> None:
    every = [e for page in documents() for e in examples(page)]
    skipped = [e for e in every if e.norun is not None]
    run = len(every) - len(skipped)
    summary = "\n".join(f"  {e.where()}: {e.norun}" for e in skipped)
    print(f"docs examples: {run} run, {len(skipped)} not run:\n{summary}")
    assert run >= MIN_RUN, f"only {run} examples run"
    assert len(skipped) <= MAX_NORUN_SHARE * len(every), f"too many not run:\n{summary}"
    assert all(e.path.is_relative_to(ROOT) for e in every)
