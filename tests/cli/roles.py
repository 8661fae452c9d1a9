"""A key of each role against the live test server, and `loopctl` run as each of them."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.cli.conftest import Live, Outcome

LOOPCTL = str(Path(sys.executable).parent / "loopctl")


class Roles:
    """Keys of every role; ``as_(role, *args)`` runs the CLI in-process with that key."""

    def __init__(self, live: Live, run: Any) -> None:
        self.live, self.run = live, run
        self.keys = {role: live.new_key(role) for role in ("user", "orchestrator", "agent")}

    def raw(self, role: str) -> str:
        key: str = self.keys[role]["raw_key"]
        return key

    def env(self, role: str) -> dict[str, str]:
        return {"LOOPCTL_SERVER": self.live.url, "LOOPCTL_API_KEY": self.raw(role)}

    def as_(self, role: str, *args: str, stdin: str = "") -> Outcome:
        done: Outcome = self.run(*args, env=self.env(role), stdin=stdin)
        return done

    def json(self, role: str, *args: str, stdin: str = "") -> Any:
        done = self.as_(role, *args, stdin=stdin)
        assert done.exit_code == 0, done.stderr
        return json.loads(done.stdout)

    def fails(self, role: str, exit_code: int, code: str, *args: str) -> Outcome:
        """Run a command that must fail with ``exit_code`` and error ``code``, one line."""
        done = self.as_(role, *args)
        assert done.exit_code == exit_code, (done.exit_code, done.stderr)
        assert done.lines, "nothing on stderr"
        assert done.lines[0].startswith(f"loopctl: {code}: "), done.stderr
        return done

    def process(self, role: str, *args: str) -> "subprocess.Popen[str]":
        """`loopctl ARGS` as a real process (stdout a pipe), with this role's key."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPCTL_")}
        env.update(self.env(role))
        return subprocess.Popen(
            [LOOPCTL, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
