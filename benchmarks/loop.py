"""The story loop under load: loopctl against a floor, N agents on a 5,000-story project.

Starts ``loopctl serve`` (embedded PostgreSQL) on a fresh temporary data dir, registers a
tenant, mints one agent key per agent and a few orchestrator keys, creates a project and
imports 5,000 stories into it, all through the API; then starts the floor (``loop_floor.py``:
raw ASGI + psycopg doing the same transitions, app role, RLS in force) on the same database.
For each agent count it runs the load generator (``loop_driver.py``, its own process)
against each server in turn, alternating which goes first, ``--repeats`` times. Before every
run the project's stories are put back to pending (superuser SQL, then VACUUM), so each run
starts from the same 5,000 ready stories. Prints loops/s, p50/p99 per transition, refusals,
and loopctl as a ratio of the floor (median of the repeats' pairs). See docs/benchmarks.md.

    .venv/bin/python benchmarks/loop.py [--agents 8,32,128] [--duration 8] [--repeats 3] [--think 0]
"""

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import psycopg
from psycopg.conninfo import make_conninfo

# Run as a script, this directory (not the repository) is on sys.path; appended, it
# shadows nothing.
sys.path.append(str(Path(__file__).resolve().parent.parent))

from benchmarks import auth_read as bench
from benchmarks.loop_driver import TRANSITIONS
from loopctl.database import pgcluster
from loopctl.database.embedded import CREDENTIALS, DATABASE
from loopctl.database.provision import role_url
from loopctl.platform.config import Settings

HERE = Path(__file__).resolve().parent
EPICS, STORIES_PER_EPIC = 50, 100
ORCHESTRATORS = 4
TARGET_AGENTS = 32
TARGET_RATIO = 0.60
TARGET_P99_MS = 100.0
RESET = """
    UPDATE stories SET agent_status = 'pending', verified_status = 'unverified',
           assigned_agent_id = NULL, assigned_at = NULL, lease_expires_at = NULL,
           review_requested_at = NULL, reported_done_at = NULL, reported_by_agent_id = NULL,
           verified_at = NULL, rejected_at = NULL, rejection_reason = NULL
     WHERE project_id = %s AND (agent_status <> 'pending' OR verified_status <> 'unverified')
"""
COUNTS = """
    SELECT (SELECT count(*) FROM stories WHERE project_id = %s AND verified_status = 'verified'),
           (SELECT count(*) FROM audit_log WHERE project_id = %s)
"""
# Audit rows of one loop: contract and claim (claim-next), start, request-review, report,
# review-complete, verify.
AUDIT_PER_LOOP = 7
Result = dict[str, Any]


def _document() -> dict[str, Any]:
    epics = [
        {
            "number": e,
            "title": f"Epic {e}",
            "position": e,
            "stories": [
                {"number": f"{e}.{s}", "title": f"Story {e}.{s}"}
                for s in range(1, STORIES_PER_EPIC + 1)
            ],
        }
        for e in range(1, EPICS + 1)
    ]
    return {"format": "loopctl.project.v1", "epics": epics}


def _key(port: int, user_key: str, role: str, name: str) -> str:
    body = {"name": f"{name} key", "role": role, "agent_name": name}
    created = bench._created(
        *bench._request(port, "POST", "/api/v1/api_keys", key=user_key, body=body), name
    )
    key: str = created["raw_key"]
    return key


def _setup(port: int, agents: int, keys_file: Path) -> str:
    """Tenant, keys (written to ``keys_file``, mode 0600) and the imported project's id."""
    slug = f"loop-{os.getpid()}"
    body = {"name": slug, "slug": slug}
    registered = bench._created(
        *bench._request(port, "POST", "/api/v1/tenants/register", body=body), "the tenant"
    )
    user_key: str = registered["api_key"]["raw_key"]
    keys = {
        "agents": [_key(port, user_key, "agent", f"agent-{i}") for i in range(agents)],
        "orchestrators": [
            _key(port, user_key, "orchestrator", f"orchestrator-{i}") for i in range(ORCHESTRATORS)
        ],
    }
    keys_file.touch(mode=0o600)
    keys_file.write_text(json.dumps(keys))
    project = bench._created(
        *bench._request(
            port, "POST", "/api/v1/projects", key=user_key, body={"name": slug, "slug": slug}
        ),
        "the project",
    )
    status, answer = _post_long(port, f"/api/v1/projects/{project['id']}/import", user_key)
    if status not in (200, 201):
        raise RuntimeError(f"the import answered {status}: {answer[:500]!r}")
    project_id: str = project["id"]
    return project_id


def _post_long(port: int, path: str, key: str) -> tuple[int, bytes]:
    # http.client with a long timeout: importing 5,000 stories takes seconds.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        conn.request("POST", path, body=json.dumps(_document()).encode(), headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _server_url(data_dir: Path, role: str, password: str, database: str) -> str:
    lines = (data_dir / "pgdata" / "postmaster.pid").read_text().splitlines()
    server = make_conninfo(host=lines[4] or str(data_dir / "pgdata"), port=lines[3])
    return role_url(server, role, password, database)


def _reset(superuser_url: str, project: str) -> tuple[int, int]:
    """Put the project's stories back to pending; returns, from before the reset, how many
    were verified and how many audit rows the project has (to check the run's writes)."""
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        cur = conn.execute(COUNTS, [project, project])
        counts = cur.fetchone()
        assert counts is not None
        conn.execute(RESET, [project])
        conn.execute("VACUUM (ANALYZE) stories, claim_order, review_records, verification_results")
    return int(counts[0]), int(counts[1])


def _drive(
    port: int,
    keys: Path,
    project: str,
    agents: int,
    args: argparse.Namespace,
    cpu: tuple[psutil.Process, Path],
) -> Result:
    """One load-generator run; adds the server's and PostgreSQL's CPU seconds per loop."""
    argv = [
        sys.executable,
        str(HERE / "loop_driver.py"),
        f"--port={port}",
        f"--keys={keys}",
        f"--project={project}",
        f"--agents={agents}",
        f"--duration={args.duration}",
        f"--warmup={args.warmup}",
        f"--think={args.think}",
    ]
    before = bench._CpuSample.take(*cpu)
    done = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL, check=False)
    after = bench._CpuSample.take(*cpu)
    if done.returncode != 0 or not done.stdout:
        raise RuntimeError(
            f"the load generator failed ({done.returncode}): {done.stderr[-2000:]!r}"
        )
    result: Result = json.loads(done.stdout)
    # CPU over the whole run (warm-up and drain included) over the loops completed in it:
    # the audit rows, seven per loop, count them (see _benchmark).
    result["cpu_s"] = {
        "server": after.server - before.server,
        "postgres": after.postgres - before.postgres,
    }
    return result


def _refused(result: Result, *, expected: bool) -> int:
    return sum(int(n) for _, status, _, n in result["refusals"] if (status == 409) == expected)


def _errors(result: Result) -> int:
    return _refused(result, expected=False) + sum(int(n) for n in result["failures"].values())


def _median(runs: Sequence[Result], pick: Any) -> float:
    return statistics.median(float(pick(run)) for run in runs)


def _pairs(cell: dict[str, list[Result]]) -> list[float]:
    return sorted(
        ours["loops_per_s"] / floor["loops_per_s"]
        for ours, floor in zip(cell["loopctl"], cell["floor"], strict=True)
        if floor["loops_per_s"]
    )


def _summary(cells: dict[int, dict[str, list[Result]]]) -> str:
    rows: list[Sequence[str]] = [
        (
            "agents",
            "server",
            "loops/s",
            "errors",
            "409s",
            "worst p99 ms",
            "server CPU ms/loop",
            "postgres CPU ms/loop",
            "loopctl/floor",
        )
    ]
    for agents, cell in cells.items():
        pairs = _pairs(cell)
        for name in ("loopctl", "floor"):
            runs = cell[name]
            worst = _median(runs, lambda r: max(t["p99_ms"] for t in r["transitions"].values()))
            rows.append(
                (
                    str(agents),
                    name,
                    f"{_median(runs, lambda r: r['loops_per_s']):.1f}",
                    str(sum(_errors(r) for r in runs)),
                    str(sum(_refused(r, expected=True) for r in runs)),
                    f"{worst:.1f}",
                    f"{_median(runs, lambda r: r['cpu_ms_per_loop']['server']):.1f}",
                    f"{_median(runs, lambda r: r['cpu_ms_per_loop']['postgres']):.1f}",
                    f"{statistics.median(pairs):.0%}" if name == "loopctl" and pairs else "",
                )
            )
    return bench._format(rows)


def _per_transition(cells: dict[int, dict[str, list[Result]]]) -> str:
    header = ("agents", "transition", "loopctl p50", "p99", "floor p50", "p99")
    rows: list[Sequence[str]] = [header]
    for agents, cell in cells.items():
        for name in TRANSITIONS:
            values = [
                f"{_median(cell[server], lambda r: r['transitions'][name][q]):.1f}"  # noqa: B023
                for server in ("loopctl", "floor")
                for q in ("p50_ms", "p99_ms")
            ]
            rows.append((str(agents), name, *values))
    return bench._format(rows)


def _report(args: argparse.Namespace, cells: dict[int, dict[str, list[Result]]]) -> int:
    pool = args.pool
    print(
        f"story loop on a {EPICS * STORIES_PER_EPIC:,}-story project: {args.repeats} run(s) per "
        f"server x {args.duration:g} s after {args.warmup:g} s warm-up, servers alternating; "
        f"medians; loopctl/floor is the median of the repeats' pairs; {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; pools max {pool}; {ORCHESTRATORS} orchestrator keys; "
        f"think time {args.think * 1000:g} ms before each call"
    )
    print()
    print(_summary(cells))
    print()
    print("per transition, ms (medians of the runs' p50 and p99):")
    print(_per_transition(cells))
    refusals: Counter[tuple[int, str, str, int, str]] = Counter()
    for agents, cell in cells.items():
        for server, runs in cell.items():
            for run in runs:
                for transition, status, code, n in run["refusals"]:
                    refusals[(agents, server, transition, status, code)] += n
                for kind, n in run["failures"].items():
                    refusals[(agents, server, kind, 0, "connection")] += n
    for (agents, server, transition, status, code), n in sorted(refusals.items()):
        print(f"refused: {agents} agents, {server}, {transition}: {n} x {status} {code}")
    target = cells.get(TARGET_AGENTS)
    failed = any(_errors(r) for cell in cells.values() for runs in cell.values() for r in runs)
    if target is not None:
        ratio = statistics.median(_pairs(target)) if _pairs(target) else 0.0
        worst = max(
            _median(target["loopctl"], lambda r: r["transitions"][name]["p99_ms"])  # noqa: B023
            for name in TRANSITIONS
        )
        errors = sum(_errors(r) for r in target["loopctl"])
        print(
            f"targets at {TARGET_AGENTS} agents: loops/s {ratio:.0%} of the floor (>= "
            f"{TARGET_RATIO:.0%}: {'met' if ratio >= TARGET_RATIO else 'MISSED'}); worst p99 "
            f"{worst:.1f} ms (< {TARGET_P99_MS:.0f}: {'met' if worst < TARGET_P99_MS else 'MISSED'});"
            f" errors other than 409 {errors} ({'met' if errors == 0 else 'MISSED'})"
        )
    return 1 if failed else 0


def _benchmark(args: argparse.Namespace, root: Path, processes: bench.Processes) -> int:
    data_dir = root / "data"
    # mkdtemp makes the workspace 0700; as root, the embedded PostgreSQL runs as another
    # system user that must traverse it (the keys file stays 0600).
    root.chmod(0o711)
    ours_port, floor_port = bench._free_port(), bench._free_port()
    limit = str(bench.RATE_LIMIT)
    # One key per agent: 128 agents and the orchestrators pass the default 100 live keys.
    env = bench._clean_env(
        LOOPCTL_RATE_LIMIT_PER_MINUTE=limit,
        LOOPCTL_RATE_LIMIT_IP_PER_MINUTE=limit,
        LOOPCTL_MAX_API_KEYS=str(max(args.agents) + ORCHESTRATORS + 1),
        LOOPCTL_POOL_MAX_SIZE=str(args.pool),
    )
    bench._progress("starting loopctl serve (embedded PostgreSQL) ...")
    log = root / "loopctl.log"
    serve = ["serve", "--data-dir", str(data_dir), "--port", str(ours_port)]
    command = [str(bench.LOOPCTL), *serve]
    if args.profile is not None:
        command = [sys.executable, str(HERE / "profile_serve.py"), str(args.profile), *serve]
    ours = processes.start("loopctl", command, env=env, log=log)
    bench._wait_ready(ours, ours_port, log, "loopctl serve")
    keys = root / "keys.json"
    bench._progress(f"creating {max(args.agents)} agent keys and importing the project ...")
    project = _setup(ours_port, max(args.agents), keys)
    credentials: dict[str, str] = json.loads((data_dir / CREDENTIALS).read_text())
    app_role: str = Settings.model_fields["app_role"].default
    superuser = _server_url(
        data_dir, pgcluster.SUPERUSER, credentials["superuser_password"], DATABASE
    )
    floor_env = bench._clean_env(
        FLOOR_DATABASE_URL=_server_url(data_dir, app_role, credentials["app_password"], DATABASE),
        FLOOR_SECRET_KEY=credentials["secret_key"],
        FLOOR_POOL_MAX_SIZE=str(args.pool),
    )
    bench._progress("starting the floor app ...")
    floor_log = root / "floor.log"
    command = [sys.executable, str(HERE / "loop_floor.py"), "--port", str(floor_port)]
    floor = processes.start("floor", command, env=floor_env, log=floor_log)
    bench._wait_ready(floor, floor_port, floor_log, "floor app")
    ports = {"loopctl": ours_port, "floor": floor_port}
    pgdata = data_dir / "pgdata"
    cpu = {
        "loopctl": (psutil.Process(ours.pid), pgdata),
        "floor": (psutil.Process(floor.pid), pgdata),
    }
    cells: dict[int, dict[str, list[Result]]] = {}
    for agents in args.agents:
        cell = cells.setdefault(agents, {"loopctl": [], "floor": []})
        for repeat in range(1, args.repeats + 1):
            order = ("loopctl", "floor") if repeat % 2 else ("floor", "loopctl")
            for name in order:
                _, audited = _reset(superuser, project)
                result = _drive(ports[name], keys, project, agents, args, cpu[name])
                verified, audit_after = _reset(superuser, project)
                loops = (audit_after - audited) / AUDIT_PER_LOOP
                result["cpu_ms_per_loop"] = {
                    k: v * 1000 / max(1.0, loops) for k, v in result["cpu_s"].items()
                }
                cell[name].append(result)
                bench._progress(
                    f"  {agents:3d} agents  {name:7s} #{repeat}  {result['loops_per_s']:7.1f} "
                    f"loops/s  errors {_errors(result)}  409s {_refused(result, expected=True)}  "
                    f"client CPU {result['client_cpu_percent']:.0f}%  stories verified "
                    f"{verified}, audit rows {audit_after - audited} "
                    f"({(audit_after - audited) / max(1, verified):.2f} per verified story)"
                )
    return _report(args, cells)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--agents", type=bench._concurrencies, default=[8, 32, 128], help="agents [8,32,128]"
    )
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds [8]")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first [2]")
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="seconds each agent waits before each call [0: closed loop, the servers saturated]",
    )
    default_pool = Settings.model_fields["pool_max_size"].default
    parser.add_argument(
        "--pool",
        type=int,
        default=default_pool,
        help=f"both servers' pool max size [loopctl's default, {default_pool}]",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per server and N [3]")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="run loopctl under cProfile (CPU time) and write pstats here (profile_summary.py);"
        " slows it down, so such a run's figures are not comparable",
    )
    parser.add_argument("--keep-logs", type=Path, metavar="DIR", help="copy server logs here")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0 or args.repeats < 1 or args.pool < 1:
        parser.error("--duration must be > 0, --warmup >= 0, --repeats and --pool >= 1")
    return bench.run(
        "loop", args.keep_logs, lambda root, processes: _benchmark(args, root, processes)
    )


if __name__ == "__main__":
    sys.exit(main())
