"""Authenticated read throughput: loopctl's ``GET /api/v1/tenants/me`` against a floor.

Starts ``loopctl serve`` (with its embedded PostgreSQL) on a fresh temporary data dir,
registers a tenant and mints an agent key through the API, starts the floor app
(``floor_app.py``) on the same database, and drives each in turn with the load generator
(``loadgen.py``, its own process) at each concurrency: many short runs, the two servers
alternating, so that each repeat is a pair measured under the same conditions. Prints one
table of medians; the ratio is the median of the pairs' ratios. Exits 1 if any request
failed. See docs/benchmarks.md.

    .venv/bin/python benchmarks/auth_read.py [--duration 2] [--repeats 11] [--concurrency 1,16,64]
"""

import argparse
import contextlib
import http.client
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import psutil  # type: ignore[import-untyped]
from psycopg.conninfo import make_conninfo

from loopctl.database.embedded import CREDENTIALS, DATABASE
from loopctl.database.provision import role_url
from loopctl.platform.config import Settings

HERE = Path(__file__).resolve().parent
LOOPCTL = Path(sys.executable).with_name("loopctl")
PATH = "/api/v1/tenants/me"
# High enough that no limit is ever reached: the benchmark measures the limiter's
# bookkeeping, not its refusals.
RATE_LIMIT = 100_000_000
START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 40.0
TARGET_CONCURRENCY = 16
TARGET_RATIO = 0.70
MIB = 1024 * 1024
# Above this (percent of one core), something else on the machine competed for the CPUs.
BUSY_OTHER_PERCENT = 15.0


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    error_kinds: dict[str, int]
    peak_rss: int
    # Percent of one CPU, averaged over the whole load-generator run (warm-up included).
    server_cpu: float
    postgres_cpu: float
    client_cpu: float
    other_cpu: float
    # Server CPU time per successful request: steadier than req/s on a busy machine.
    server_cpu_ms_per_request: float


@dataclass
class Cell:
    loopctl: list[Run] = field(default_factory=list)
    floor: list[Run] = field(default_factory=list)


class Stopped(Exception):
    """SIGTERM: unwind like Ctrl-C so that every subprocess and temp dir is cleaned up."""


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise Stopped()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _clean_env(**extra: str) -> dict[str, str]:
    # The caller's own LOOPCTL_* (an external database URL, a secret, limits) would make
    # this a different benchmark; start from the shipped defaults.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPCTL_")}
    env.update(extra)
    return env


class Processes:
    """The subprocesses this run started, stopped by pid in reverse order of starting."""

    def __init__(self) -> None:
        self._started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self, name: str, argv: Sequence[str], *, env: dict[str, str], log: Path | None
    ) -> subprocess.Popen[bytes]:
        output = log.open("wb") if log is not None else subprocess.DEVNULL
        try:
            # A session of their own: Ctrl-C reaches only this script, which then stops
            # them in order (the server must outlive nothing that still uses it).
            proc = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            if log is not None and not isinstance(output, int):
                output.close()
        self._started.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self) -> None:
        for _, proc in reversed(self._started):
            self.stop(proc)


def _postmaster(pgdata: Path) -> psutil.Process | None:
    try:
        pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
        proc = psutil.Process(pid)
        if "postgres" in proc.name():
            return proc
    except (OSError, ValueError, IndexError, psutil.Error):
        pass
    return None


def _stop_postgres(pgdata: Path) -> None:
    """Fast-shut down an embedded PostgreSQL that loopctl serve failed to stop itself."""
    proc = _postmaster(pgdata)
    if proc is None:
        return
    with contextlib.suppress(psutil.Error):
        proc.send_signal(signal.SIGINT)
        proc.wait(30)


def _rss(root: psutil.Process) -> int:
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            if "postgres" not in proc.name():
                total += proc.memory_info().rss
    return int(total)


def _postgres_memory(pgdata: Path) -> tuple[int, int, int] | None:
    """(processes, summed RSS, summed PSS) of the postmaster and its children."""
    root = _postmaster(pgdata)
    if root is None:
        return None
    rss = pss = count = 0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            info = proc.memory_full_info()
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
            count += 1
    return count, rss, pss


def _request(
    port: int, method: str, path: str, *, key: str | None = None, body: object = None
) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _wait_ready(proc: subprocess.Popen[bytes], port: int, log: Path, name: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{name} exited with {proc.returncode} while starting:\n{tail}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            # Any HTTP answer means it listens: the floor has no /health and says 404.
            _request(port, "GET", "/health")
            return
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer within {START_TIMEOUT_SECONDS:.0f} s")


def _created(status: int, body: bytes, what: str) -> dict[str, Any]:
    if status != 201:
        raise RuntimeError(f"creating {what} answered {status}: {body[:500]!r}")
    data: dict[str, Any] = json.loads(body)["data"]
    return data


def _agent_key(port: int) -> str:
    """Register a tenant through the API, then mint an agent key with its user key.

    An agent key, because agents are the callers that read the most; it also makes the
    server record the agent's ``last_seen_at``, as in production.
    """
    slug = f"bench-{os.getpid()}"
    registered = _created(
        *_request(port, "POST", "/api/v1/tenants/register", body={"name": slug, "slug": slug}),
        "the tenant",
    )
    user_key: str = registered["api_key"]["raw_key"]
    agent = _created(
        *_request(
            port,
            "POST",
            "/api/v1/api_keys",
            key=user_key,
            body={"name": "bench agent key", "role": "agent", "agent_name": "bench-agent"},
        ),
        "the agent key",
    )
    key: str = agent["raw_key"]
    return key


def _check(port: int, key: str, name: str) -> None:
    status, body = _request(port, "GET", PATH, key=key)
    if status != 200:
        raise RuntimeError(f"{name}: GET {PATH} answered {status}: {body[:500]!r}")


def _floor_env(data_dir: Path) -> dict[str, str]:
    credentials: dict[str, str] = json.loads((data_dir / CREDENTIALS).read_text())
    pgdata = data_dir / "pgdata"
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    server = make_conninfo(host=lines[4] or str(pgdata), port=lines[3])
    owner: str = Settings.model_fields["owner_role"].default
    return _clean_env(
        FLOOR_DATABASE_URL=role_url(server, owner, credentials["owner_password"], DATABASE),
        FLOOR_SECRET_KEY=credentials["secret_key"],
    )


@dataclass(frozen=True)
class _CpuSample:
    at: float
    server: float
    postgres: float
    children: float
    busy: float

    @classmethod
    def take(cls, server: psutil.Process, pgdata: Path) -> "_CpuSample":
        system = psutil.cpu_times()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        postmaster = _postmaster(pgdata)
        return cls(
            at=time.monotonic(),
            server=_cpu_seconds([server, *server.children(recursive=True)]),
            postgres=_cpu_seconds([postmaster, *postmaster.children()]) if postmaster else 0.0,
            children=children.ru_utime + children.ru_stime,
            busy=sum(system) - system.idle - getattr(system, "iowait", 0.0),
        )


def _cpu_seconds(procs: Sequence[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def _load(
    port: int,
    key: str,
    concurrency: int,
    args: argparse.Namespace,
    server: psutil.Process,
    pgdata: Path,
) -> Run:
    argv = [
        sys.executable,
        str(HERE / "loadgen.py"),
        f"http://127.0.0.1:{port}{PATH}",
        "--header",
        f"Authorization: Bearer {key}",
        f"--concurrency={concurrency}",
        f"--duration={args.duration}",
        f"--warmup={args.warmup}",
    ]
    peak = _rss(server)
    before = _CpuSample.take(server, pgdata)
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True
    ) as proc:
        try:
            while proc.poll() is None:
                peak = max(peak, _rss(server))
                time.sleep(0.25)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.stdout is not None
        output = proc.stdout.read()
    after = _CpuSample.take(server, pgdata)
    if not output:
        raise RuntimeError(f"the load generator printed nothing (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(output)
    wall = after.at - before.at
    cpu = {
        name: (getattr(after, name) - getattr(before, name)) / wall * 100
        for name in ("server", "postgres", "children", "busy")
    }
    return Run(
        rps=result["rps"],
        p50_ms=result["p50_ms"],
        p99_ms=result["p99_ms"],
        errors=result["errors"],
        error_kinds=result["error_kinds"],
        peak_rss=peak,
        server_cpu=cpu["server"],
        postgres_cpu=cpu["postgres"],
        client_cpu=cpu["children"],
        other_cpu=max(0.0, cpu["busy"] - cpu["server"] - cpu["postgres"] - cpu["children"]),
        server_cpu_ms_per_request=(after.server - before.server) * 1000 / max(1, result["all_ok"]),
    )


def _median(runs: Sequence[Run], attribute: str) -> float:
    return statistics.median(float(getattr(run, attribute)) for run in runs)


def _pairs(cell: Cell) -> list[float]:
    """Each repeat's loopctl/floor throughput ratio, sorted: the two runs of a repeat are
    measured back to back, so a slow spell of the machine moves both."""
    return sorted(
        ours.rps / floor.rps
        for ours, floor in zip(cell.loopctl, cell.floor, strict=True)
        if floor.rps
    )


def _ratio(cell: Cell) -> float:
    pairs = _pairs(cell)
    return statistics.median(pairs) if pairs else 0.0


def _table(cells: dict[int, Cell]) -> str:
    header = (
        "clients",
        "loopctl req/s",
        "p50 ms",
        "p99 ms",
        "floor req/s",
        "p50 ms",
        "p99 ms",
        "loopctl/floor",
        "loopctl RSS",
    )
    rows: list[Sequence[str]] = [header]
    for concurrency, cell in cells.items():
        ours, floor = _median(cell.loopctl, "rps"), _median(cell.floor, "rps")
        rows.append(
            (
                str(concurrency),
                f"{ours:,.0f}",
                f"{_median(cell.loopctl, 'p50_ms'):.2f}",
                f"{_median(cell.loopctl, 'p99_ms'):.2f}",
                f"{floor:,.0f}",
                f"{_median(cell.floor, 'p50_ms'):.2f}",
                f"{_median(cell.floor, 'p99_ms'):.2f}",
                f"{_ratio(cell):.0%}" if floor else "-",
                f"{max(run.peak_rss for run in cell.loopctl) / MIB:.0f} MiB",
            )
        )
    return _format(rows)


def _cpu_table(cells: dict[int, Cell]) -> str:
    rows: list[Sequence[str]] = [
        (
            "clients",
            "loopctl ms/req",
            "floor ms/req",
            "loopctl %",
            "its postgres %",
            "floor %",
            "its postgres %",
            "client %",
            "other %",
        )
    ]
    for concurrency, cell in cells.items():
        both = cell.loopctl + cell.floor
        rows.append(
            (
                str(concurrency),
                f"{_median(cell.loopctl, 'server_cpu_ms_per_request'):.2f}",
                f"{_median(cell.floor, 'server_cpu_ms_per_request'):.2f}",
                f"{_median(cell.loopctl, 'server_cpu'):.0f}",
                f"{_median(cell.loopctl, 'postgres_cpu'):.0f}",
                f"{_median(cell.floor, 'server_cpu'):.0f}",
                f"{_median(cell.floor, 'postgres_cpu'):.0f}",
                f"{_median(both, 'client_cpu'):.0f}",
                f"{_median(both, 'other_cpu'):.0f}",
            )
        )
    return _format(rows)


def _format(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _describe(run: Run) -> str:
    errors = f", {run.errors} errors {run.error_kinds}" if run.errors else ""
    return (
        f"{run.rps:8,.0f} req/s  p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:6.2f} ms  "
        f"server {run.server_cpu_ms_per_request:.2f} ms CPU/req  "
        f"CPU% server {run.server_cpu:3.0f} postgres {run.postgres_cpu:3.0f} "
        f"client {run.client_cpu:3.0f} other {run.other_cpu:3.0f}{errors}"
    )


def _concurrencies(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("give positive integers separated by commas")
    return values


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=2.0, help="measured seconds per run [2]")
    parser.add_argument("--warmup", type=float, default=0.5, help="unmeasured seconds first [0.5]")
    parser.add_argument(
        "--repeats", type=int, default=11, help="runs per server and cell; medians shown [11]"
    )
    parser.add_argument(
        "--concurrency", type=_concurrencies, default=[1, 16, 64], help="clients [1,16,64]"
    )
    parser.add_argument(
        "--no-access-log",
        action="store_true",
        help="run loopctl with LOOPCTL_ACCESS_LOG=false (default: on, as shipped)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="run loopctl under cProfile (CPU time) and write pstats here; slows it down, "
        "so the figures of such a run are not comparable (see profile_summary.py)",
    )
    parser.add_argument(
        "--keep-logs",
        type=Path,
        metavar="DIR",
        help="copy the servers' logs here before the temp dir is removed",
    )
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0 or args.repeats < 1:
        parser.error("--duration must be > 0, --warmup >= 0 and --repeats >= 1")
    return args


@contextlib.contextmanager
def _workspace(processes: Processes, keep_logs: Path | None) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="loopctl-bench-"))
    # As root, the embedded PostgreSQL runs as loopctl-postgres, which must traverse this.
    root.chmod(0o711)
    try:
        yield root
    finally:
        # A second Ctrl-C must not abandon a half-stopped PostgreSQL.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            processes.stop_all()
            _stop_postgres(root / "data" / "pgdata")
            if keep_logs is not None:
                keep_logs.mkdir(parents=True, exist_ok=True)
                for log in root.glob("*.log"):
                    shutil.copy(log, keep_logs / log.name)
            shutil.rmtree(root, ignore_errors=True)
        finally:
            signal.signal(signal.SIGINT, previous)


def _benchmark(args: argparse.Namespace, root: Path, processes: Processes) -> dict[int, Cell]:
    data_dir = root / "data"
    pgdata = data_dir / "pgdata"
    ours_port = _free_port()
    floor_port = _free_port()
    while floor_port == ours_port:
        floor_port = _free_port()
    limits = {
        "LOOPCTL_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT),
        "LOOPCTL_RATE_LIMIT_IP_PER_MINUTE": str(RATE_LIMIT),
    }
    if args.no_access_log:
        limits["LOOPCTL_ACCESS_LOG"] = "false"
    _progress("starting loopctl serve (embedded PostgreSQL) ...")
    log = root / "loopctl.log"
    serve = ["serve", "--data-dir", str(data_dir), "--port", str(ours_port)]
    if args.profile is not None:
        command = [sys.executable, str(HERE / "profile_serve.py"), str(args.profile), *serve]
    else:
        command = [str(LOOPCTL), *serve]
    ours = processes.start(
        "loopctl",
        command,
        env=_clean_env(**limits),
        log=log,
    )
    _wait_ready(ours, ours_port, log, "loopctl serve")
    key = _agent_key(ours_port)
    _check(ours_port, key, "loopctl serve")
    _progress("starting the floor app ...")
    floor_log = root / "floor.log"
    floor = processes.start(
        "floor",
        [sys.executable, str(HERE / "floor_app.py"), "--port", str(floor_port)],
        env=_floor_env(data_dir),
        log=floor_log,
    )
    _wait_ready(floor, floor_port, floor_log, "floor app")
    _check(floor_port, key, "floor app")
    servers = {"loopctl": psutil.Process(ours.pid), "floor": psutil.Process(floor.pid)}
    ports = {"loopctl": ours_port, "floor": floor_port}
    access = "off (--no-access-log)" if args.no_access_log else "on, to a file (as shipped)"
    _progress(
        f"rate limits raised to {RATE_LIMIT:,}/min per key and per IP via "
        f"LOOPCTL_RATE_LIMIT_PER_MINUTE and LOOPCTL_RATE_LIMIT_IP_PER_MINUTE; "
        f"loopctl access log {access}"
    )
    cells: dict[int, Cell] = {}
    for concurrency in args.concurrency:
        cell = cells.setdefault(concurrency, Cell())
        for repeat in range(1, args.repeats + 1):
            # Alternate within each repeat, and which server goes first, so that drift and
            # the machine's slow spells (page cache, CPU clocks, other tenants of the host)
            # land on both servers of a pair alike; never load both at once.
            order = ("loopctl", "floor") if repeat % 2 else ("floor", "loopctl")
            for name in order:
                run = _load(ports[name], key, concurrency, args, servers[name], pgdata)
                getattr(cell, name).append(run)
                _progress(f"  {concurrency:3d} clients  {name:7s} #{repeat}  {_describe(run)}")
    return cells


def _report(args: argparse.Namespace, cells: dict[int, Cell], pgdata: Path) -> int:
    pool = Settings.model_fields["pool_max_size"].default
    workers = Settings.model_fields["workers"].default
    print(
        f"GET {PATH}: {args.repeats} run(s) per server x {args.duration:g} s per cell after "
        f"{args.warmup:g} s warm-up, the servers alternating; medians, and loopctl/floor the "
        f"median of each repeat's pair; {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"loopctl serve: {workers} worker(s) (the default), pool max {pool}, access log "
        f"{'off' if args.no_access_log else 'on'}, rate limits raised to {RATE_LIMIT:,}/min "
        "(LOOPCTL_RATE_LIMIT_PER_MINUTE, LOOPCTL_RATE_LIMIT_IP_PER_MINUTE)"
    )
    print(f"floor: raw ASGI + psycopg pool (max {pool}), owner role, 3 statements in 1 transaction")
    print()
    print(_table(cells))
    print()
    memory = _postgres_memory(pgdata)
    if memory is not None:
        count, rss, pss = memory
        print(
            f"PostgreSQL ({count} processes, after the runs): RSS summed {rss / MIB:.0f} MiB "
            f"(shared memory counted once per process), PSS summed {pss / MIB:.0f} MiB"
        )
    print()
    print(
        "Server CPU: ms per request, and % of one core (medians; client is the load "
        "generator, other is everything else on the machine):"
    )
    print(_cpu_table(cells))
    other = statistics.median(r.other_cpu for c in cells.values() for r in c.loopctl + c.floor)
    if other > BUSY_OTHER_PERCENT:
        print(
            f"WARNING: other processes used a median {other:.0f}% of a core during the runs; "
            "the figures are depressed and noisy, run again on a quiet machine"
        )
    target = cells.get(TARGET_CONCURRENCY)
    if target is not None:
        ratio = _ratio(target)
        verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
        of_medians = _median(target.loopctl, "rps") / _median(target.floor, "rps")
        print(
            f"target: at {TARGET_CONCURRENCY} clients loopctl reaches {ratio:.0%} of the floor "
            f"(median of the repeats' pairs; target >= {TARGET_RATIO:.0%}): {verdict}"
        )
        print(
            "  the pairs, sorted: "
            + ", ".join(f"{pair:.0%}" for pair in _pairs(target))
            + f"; ratio of the median req/s: {of_medians:.0%}"
        )
    failed = [
        (concurrency, name, run)
        for concurrency, cell in cells.items()
        for name, runs in (("loopctl", cell.loopctl), ("floor", cell.floor))
        for run in runs
        if run.errors
    ]
    for concurrency, name, run in failed:
        print(f"FAILED REQUESTS: {name} at {concurrency} clients: {run.error_kinds}")
    return 1 if failed else 0


def run(name: str, keep_logs: Path | None, body: Callable[[Path, Processes], int]) -> int:
    """Run ``body`` in a fresh workspace; whatever happens, stop its processes and clean up.

    Returns ``body``'s exit code, 130 if interrupted, 2 on a RuntimeError (printed).
    """
    signal.signal(signal.SIGTERM, _on_sigterm)
    processes = Processes()
    try:
        with _workspace(processes, keep_logs) as root:
            return body(root, processes)
    except (KeyboardInterrupt, Stopped):
        print("interrupted; subprocesses stopped and temp dir removed", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)

    def body(root: Path, processes: Processes) -> int:
        cells = _benchmark(args, root, processes)
        return _report(args, cells, root / "data" / "pgdata")

    return run("auth_read", args.keep_logs, body)


if __name__ == "__main__":
    sys.exit(main())
