"""The docs' shell examples run as written, against a live `loopctl serve`.

One server for every page (started like a new user's: its data in ``~/.local/share/loopctl``
of a fresh home directory). Each page's examples run in order in one bash process, so a
variable one example sets is there for the next, as for a reader pasting them into one
terminal; pages run in file order against the same server, so they must not collide with
each other either. The docs' server address ``127.0.0.1:4000`` is replaced by the test
server's. The examples may assume what README.md says they assume: ``LOOPCTL_SERVER``
set, and the virtualenv's ``bin`` on ``PATH`` (``.venv/bin/loopctl`` works too); the
docs/ pages also ``LOOPCTL_USER_KEY``, ``LOOPCTL_ORCH_KEY`` and ``LOOPCTL_AGENT_KEY``
(README.md runs without them, as a new user would).
"""

import sys
from pathlib import Path

import pytest

from tests.docs.conftest import Live
from tests.docs.examples import ROOT, documents, examples, run

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("docs")]

# Fewer than this many examples run, or more than this share not run, and someone has
# switched the check off by marking rather than fixing.
MIN_RUN = 12
MAX_NORUN_SHARE = 0.5


def _workdir(live: Live, page: Path) -> Path:
    work = live.home / "work" / page.stem
    work.mkdir(parents=True)
    # The docs write `.venv/bin/loopctl` and `skills/…`, as run from a checkout.
    (work / ".venv").symlink_to(Path(sys.prefix))
    (work / "skills").symlink_to(ROOT / "skills")
    return work


@pytest.mark.parametrize("page", documents(), ids=lambda p: p.name)
def test_the_examples_of_a_page_run_as_written(live: Live, page: Path) -> None:
    runnable = [e for e in examples(page) if e.norun is None]
    if not runnable:
        return  # nothing to run; test_most_examples_run counts what is left out
    # The README is a new user's first session: no key variables, only the saved key.
    env = live.without_keys() if page.name == "README.md" else live.env
    problem = run(runnable, cwd=_workdir(live, page), env=env, port=live.port)
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
