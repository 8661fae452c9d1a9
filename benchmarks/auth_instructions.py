"""CPU instructions per ``GET /api/v1/tenants/me``: loopctl's app against the floor app.

Starts ``loopctl serve`` (embedded PostgreSQL) on a fresh temporary data dir and mints an
agent key through the API, as ``auth_read.py`` does. Then, for each concurrency C, runs each
ASGI app (loopctl's ``create_app()``, ``floor_app.FloorApp``) in-process in a fresh
``valgrind --tool=callgrind`` child, C coroutines sending requests one after another against
the real database. Each app runs twice, with a baseline number of requests and with
``--requests`` more: the difference of the instruction totals over the difference of
requests is the cost of one request; start-up, warm-up and shutdown cancel out.

Why instructions: on this shared, noisy 2-core machine CPU time and req/s drift by tens of
percent between runs, an instruction count barely moves. Kept stable by PYTHONHASHSEED=0,
loopctl's upkeep made hourly, rate limits no request reaches, pools sized to C, and the
access log on (as shipped) but written to ``os.devnull``.

Left out: uvicorn's HTTP handling and the sockets, the kernel (callgrind counts user-space
instructions only) and PostgreSQL (another process); ``auth_read.py`` measures those.
valgrind is an optional tool: ``apt-get install valgrind``.

    .venv/bin/python benchmarks/auth_instructions.py [--concurrency 1,16] [--requests 192]
"""

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

# Run as a script, this directory (not the repository) is on sys.path; appended, it
# shadows nothing.
sys.path.append(str(Path(__file__).resolve().parent.parent))

from benchmarks import auth_read as bench
from loopctl.database.embedded import CREDENTIALS, DATABASE
from loopctl.database.provision import role_url
from loopctl.platform.config import Settings

Message = MutableMapping[str, Any]
App = Callable[[MutableMapping[str, Any], Callable[[], Awaitable[Message]], Any], Awaitable[None]]

CHILD = "_measure"  # the hidden subcommand the script runs itself with under valgrind
KEY_VARIABLE = "AUTH_INSTRUCTIONS_KEY"
# Requests in the shorter of the two runs of each app (including warm-up: pools filled,
# caches and the limiter's buckets created, lazy imports done).
BASELINE = 128
# For `loopctl serve` and the loopctl child: limits no request reaches (auth_read.py's).
LIMITS = {f"LOOPCTL_RATE_LIMIT{kind}_PER_MINUTE": str(bench.RATE_LIMIT) for kind in ("", "_IP")}
COLLECTED = re.compile(r"Collected : (\d+)")
APPS = ("loopctl", "floor")
HEADER = ("concurrency", "loopctl k instr/req", "floor k instr/req", "floor/loopctl %")


def _loopctl_app(concurrency: int) -> App:  # noqa: ARG001
    from loopctl.platform.app import create_app  # noqa: PLC0415

    app = create_app(Settings())  # configured by the parent through LOOPCTL_* variables
    if app.state.access_log is not None:
        app.state.access_log.stream = open(os.devnull, "w")  # noqa: SIM115
    return app


def _floor_app(concurrency: int) -> App:
    from benchmarks.floor_app import FloorApp  # noqa: PLC0415

    url, secret = os.environ["FLOOR_DATABASE_URL"], os.environ["FLOOR_SECRET_KEY"].encode()
    return FloorApp(url, secret, min_size=concurrency, max_size=concurrency)


@contextlib.asynccontextmanager
async def _lifespan(app: App) -> AsyncIterator[None]:
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.ensure_future(app(scope, inbox.get, outbox.put))

    async def reply(message: str) -> None:
        await inbox.put({"type": message})
        answer = asyncio.ensure_future(outbox.get())
        await asyncio.wait({answer, task}, return_when=asyncio.FIRST_COMPLETED)
        if not answer.done():
            answer.cancel()
            task.result()  # raises what stopped the app
            raise RuntimeError(f"the app returned instead of answering {message}")
        if answer.result()["type"] != f"{message}.complete":
            raise RuntimeError(f"{message}: {answer.result()}")

    await reply("lifespan.startup")
    yield
    await reply("lifespan.shutdown")
    await task


async def _client(app: App, key: bytes, count: int, statuses: Counter[str]) -> None:
    headers = [(b"host", b"127.0.0.1"), (b"authorization", b"Bearer " + key), (b"accept", b"*/*")]
    scope: dict[str, Any] = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1"}
    scope |= {"method": "GET", "scheme": "http", "path": bench.PATH, "query_string": b""}
    scope |= {"raw_path": bench.PATH.encode(), "root_path": "", "client": ("127.0.0.1", 50000)}

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses[str(message["status"])] += 1

    for _ in range(count):
        await app({**scope, "headers": list(headers)}, receive, send)


async def _measure(name: str, concurrency: int, requests: int) -> Counter[str]:
    app = (_loopctl_app if name == "loopctl" else _floor_app)(concurrency)
    key = os.environ[KEY_VARIABLE].encode()
    statuses: Counter[str] = Counter()
    async with _lifespan(app):
        per_client = requests // concurrency
        await asyncio.gather(*(_client(app, key, per_client, statuses) for _ in range(concurrency)))
    return statuses


def _child(argv: Sequence[str]) -> int:
    """Under valgrind: serve ``requests`` requests with one app; statuses to ``out``."""
    import uvloop  # noqa: PLC0415

    name, concurrency, requests, out = argv
    statuses = uvloop.run(_measure(name, int(concurrency), int(requests)))
    Path(out).write_text(json.dumps(statuses))
    return 0


def _instructions(
    processes: bench.Processes, root: Path, env: dict[str, str], run: tuple[str, int, int]
) -> tuple[int, Counter[str]]:
    """Instructions a fresh child executed to serve the requests; the statuses not 200."""
    name, concurrency, requests = run
    stem = root / f"{name}-{concurrency}-{requests}"
    out, log, valgrind_log = (stem.with_suffix(s) for s in (".json", ".log", ".valgrind"))
    valgrind = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    script = [sys.executable, str(Path(__file__).resolve()), CHILD]
    argv = [*valgrind, f"--log-file={valgrind_log}", *script, name, str(concurrency)]
    proc = processes.start(name, [*argv, str(requests), str(out)], env=env, log=log)
    proc.wait()
    found = COLLECTED.search(valgrind_log.read_text(errors="replace"))
    if proc.returncode != 0 or found is None or not out.exists():
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{name} child exited with {proc.returncode}:\n{tail}")
    statuses: Counter[str] = Counter(json.loads(out.read_text()))
    statuses["no answer"] = requests - statuses.total()
    del statuses["200"]
    return int(found.group(1)), +statuses


def _envs(data_dir: Path, key: str, concurrency: int) -> dict[str, dict[str, str]]:
    floor = bench._floor_env(data_dir)
    credentials: dict[str, str] = json.loads((data_dir / CREDENTIALS).read_text())
    app_role: str = Settings.model_fields["app_role"].default
    app_url = role_url(floor["FLOOR_DATABASE_URL"], app_role, credentials["app_password"], DATABASE)
    common = {KEY_VARIABLE: key, "PYTHONHASHSEED": "0"}
    settings = {"DATABASE_URL": app_url, "SECRET_KEY": credentials["secret_key"]}
    # Upkeep (rate-limit sync, usage flush) hourly: not once within a run.
    settings |= {"RATE_LIMIT_SYNC_SECONDS": "3600", "LAST_USED_FLUSH_SECONDS": "3600"}
    settings |= {"POOL_MIN_SIZE": str(concurrency), "POOL_MAX_SIZE": str(concurrency)}
    settings |= {"ACCESS_LOG": "true"}
    loopctl = {f"LOOPCTL_{name}": value for name, value in settings.items()}
    return {"loopctl": bench._clean_env(**common, **LIMITS, **loopctl), "floor": floor | common}


def _benchmark(args: argparse.Namespace, root: Path, processes: bench.Processes) -> int:
    data_dir = root / "data"
    port = bench._free_port()
    bench._progress("starting loopctl serve (embedded PostgreSQL) ...")
    log = root / "loopctl.log"
    argv = [str(bench.LOOPCTL), "serve", "--data-dir", str(data_dir), "--port", str(port)]
    serve = processes.start("loopctl", argv, env=bench._clean_env(**LIMITS), log=log)
    bench._wait_ready(serve, port, log, "loopctl serve")
    key = bench._agent_key(port)
    bench._check(port, key, "loopctl serve")
    rows: list[Sequence[str]] = [HEADER]
    failed: Counter[str] = Counter()
    for concurrency in args.concurrency:
        envs = _envs(data_dir, key, concurrency)
        # Both runs a multiple of the concurrency: every client sends as many requests.
        small = -(-BASELINE // concurrency) * concurrency
        large = small + max(1, round(args.requests / concurrency)) * concurrency
        cost: dict[str, float] = {}
        for name in APPS:
            totals = []
            for requests in (small, large):
                bench._progress(f"  {concurrency:3d} clients  {name:7s} {requests} requests ...")
                run = (name, concurrency, requests)
                total, not_ok = _instructions(processes, root, envs[name], run)
                totals.append(total)
                failed.update(not_ok)
            cost[name] = (totals[1] - totals[0]) / (large - small) / 1000
        ours, floor = cost["loopctl"], cost["floor"]
        row = (str(concurrency), f"{ours:,.0f}", f"{floor:,.0f}", f"{floor / ours * 100:.0f}")
        rows.append(row)
    print(
        f"GET {bench.PATH}: thousands of CPU instructions per request (valgrind callgrind), "
        f"ASGI app in-process (no uvicorn): runs of {BASELINE} and {BASELINE}+{args.requests} "
        "requests (each made a multiple of the concurrency), difference divided; "
        "rate limits raised, upkeep hourly, access log to /dev/null, pool size = concurrency"
    )
    print(bench._format(rows))
    if failed:
        print(f"FAILED REQUESTS: answers other than 200: {dict(failed)}")
        return 1
    return 0


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--concurrency", type=bench._concurrencies, default=[1, 16], help="clients [1,16]"
    )
    parser.add_argument(
        "--requests", type=int, default=192, help="requests measured per app and run [192]"
    )
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [CHILD]:
        return _child(argv[1:])
    args = _parse(argv)
    if shutil.which("valgrind") is None:
        print(
            "auth_instructions: valgrind is not on PATH; it is optional, install it with "
            "`apt-get install valgrind`",
            file=sys.stderr,
        )
        return 2
    return bench.run(
        "auth_instructions", None, lambda root, processes: _benchmark(args, root, processes)
    )


if __name__ == "__main__":
    sys.exit(main())
