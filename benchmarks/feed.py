"""The change feed and audit reads on a large audit log, and the live stream's latency.

Starts ``loopctl serve`` (embedded PostgreSQL) on a fresh temporary data dir, registers one
measured tenant and ``--tenants`` others through the API, then loads the audit log with
superuser SQL (``INSERT ... SELECT generate_series``, one transaction per batch so that the
``txid`` column holds many real transaction ids, as in production): ``--rows`` entries in
the measured tenant and as many spread over the others, interleaved; then VACUUM ANALYZE.
Through the HTTP API, with the tenant's keys, it times sequential requests of: a feed poll
of the latest events, a poll at an old cursor (1,000 events), a story history and an audit
query by entity (p50/p99). Then ``--clients`` SSE clients follow ``/changes/stream`` while
an orchestrator reports ``--events`` events one after another (``POST /audit/events``); the
latency is from the POST's send (an upper bound of its commit) and from its answer (after
the commit) to each client's receipt. Last, the events/s one stream follows while 32 agents
run the loop (``feed_loop.py``), and the plans of the feed's reads (``feed_plans.py``). See
docs/benchmarks.md.

    .venv/bin/python benchmarks/feed.py [--rows 1000000] [--tenants 100] [--clients 100]
"""

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import psycopg

# Run as a script, this directory (not the repository) is on sys.path; appended, it
# shadows nothing.
sys.path.append(str(Path(__file__).resolve().parent.parent))

from benchmarks import auth_read as bench
from benchmarks.feed_loop import LoopFeed, describe, measure
from benchmarks.feed_plans import poll_plan, probe_plan
from benchmarks.loop import _key, _server_url
from loopctl.database import pgcluster
from loopctl.database.embedded import CREDENTIALS, DATABASE
from loopctl.platform.config import Settings

APP_ROLE: str = Settings.model_fields["app_role"].default
TARGET_READ_P50_MS = 10.0
TARGET_STREAM_P99_MS = 100.0
OLD_PAGE = 1000
# A read slower than its target must not stretch the run past ~10 minutes.
READ_BUDGET_SECONDS = 30.0
STREAM_BUDGET_SECONDS = 60.0
DELIVERY_WAIT_SECONDS = 10.0
MIN_SAMPLES = 20
LATEST_PAGE = 100
# Entries per entity: a story's history of about this length.
PER_ENTITY = 50
PROJECTS_PER_TENANT = 10
BATCH_ROWS = 10_000
ENTITY_TYPES = "story,story,story,story,epic,project,dependency,orchestrator_event"
ACTIONS = "created,updated,claimed,started,review_requested,reported_done,verified"
# One batch, one transaction: rows of the measured tenant, then the others' interleaved.
# Entity ids are md5-derived so each entity gets about PER_ENTITY entries across batches.
LOAD = f"""
    INSERT INTO audit_log (tenant_id, id, project_id, entity_type, entity_id, action,
                           actor_role, actor_label, after, created_at)
    SELECT t.tenant, gen_random_uuid(),
           md5(t.tenant::text || 'p' || (g %% {PROJECTS_PER_TENANT}))::uuid,
           (string_to_array('{ENTITY_TYPES}', ','))[1 + g %% 8],
           md5(t.tenant::text || (string_to_array('{ENTITY_TYPES}', ','))[1 + g %% 8]
               || ((g::bigint * 7919) %% %(entities)s::int))::uuid,
           (string_to_array('{ACTIONS}', ','))[1 + (g / 8) %% 7],
           'agent', 'agent-' || (g %% 32),
           jsonb_build_object('agent_status', 'implementing', 'n', g),
           now() - make_interval(secs => %(total)s::int - g)
      FROM generate_series(%(first)s::int, %(last)s::int) AS g,
           LATERAL (SELECT CASE WHEN g %% 2 = 0 THEN %(main)s::uuid
                                ELSE (%(others)s::uuid[])[1 + (g / 2) %% %(n_others)s::int]
                           END AS tenant) AS t
"""
# Qualified: a bare "txid" in ORDER BY would sort by the text output column.
POSITION = """
    SELECT txid::text, id FROM audit_log WHERE tenant_id = %s
     ORDER BY audit_log.txid, audit_log.id OFFSET %s LIMIT 1
"""
STORIES = """
    SELECT DISTINCT entity_id FROM audit_log
     WHERE tenant_id = %s AND entity_type = 'story' AND txid = (
           SELECT max(txid) FROM audit_log WHERE tenant_id = %s) LIMIT 20
"""


def _register(port: int, slug: str) -> str:
    registered = bench._created(
        *bench._request(
            port, "POST", "/api/v1/tenants/register", body={"name": slug, "slug": slug}
        ),
        f"tenant {slug}",
    )
    key: str = registered["api_key"]["raw_key"]
    return key


def _tenant_id(port: int, key: str) -> str:
    status, body = bench._request(port, "GET", "/api/v1/tenants/me", key=key)
    if status != 200:
        raise RuntimeError(f"GET /tenants/me answered {status}")
    tenant: str = json.loads(body)["data"]["id"]
    return tenant


def _load(superuser: str, main: str, others: list[str], rows: int) -> float:
    """Insert ``rows`` entries of ``main`` and as many of ``others``; returns seconds."""
    total = 2 * rows
    started = time.monotonic()
    with psycopg.connect(superuser, autocommit=True) as conn:
        for first in range(0, total, BATCH_ROWS):
            last = min(first + BATCH_ROWS, total) - 1
            params = {
                "first": first,
                "last": last,
                "total": total,
                "main": main,
                "others": others,
                "n_others": len(others),
                "entities": max(1, rows // PER_ENTITY),
            }
            conn.execute(LOAD, params)
            if (first // BATCH_ROWS) % 20 == 0:
                bench._progress(f"  loaded {last + 1:,} of {total:,} audit rows")
        bench._progress("VACUUM ANALYZE audit_log ...")
        conn.execute("VACUUM (ANALYZE) audit_log")
    return time.monotonic() - started


def _cursor(conn: psycopg.Connection[Any], tenant: str, offset: int) -> str:
    found = conn.execute(POSITION, [tenant, offset]).fetchone()
    if found is None:
        raise RuntimeError(f"the tenant has no audit row at offset {offset}")
    row_id: UUID = found[1]
    return f"{found[0]}.{row_id.hex}"


class ServerCpu:
    """CPU time of the server process and of its PostgreSQL (the postmaster's children: the
    backends), from /proc: what a request costs on the machine, whatever else runs on it."""

    def __init__(self, server_pid: int, data_dir: Path) -> None:
        self.server_pid = server_pid
        self.postmaster = int((data_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
        self.tick_ms = 1000 / os.sysconf("SC_CLK_TCK")

    def split(self) -> tuple[float, float]:
        """Milliseconds of CPU of the server process, and of PostgreSQL."""
        server = db = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            pid, ppid = int(entry.name), int(fields[1])
            ticks = int(fields[11]) + int(fields[12])
            if pid == self.server_pid:
                server += ticks
            elif pid == self.postmaster or ppid == self.postmaster:
                db += ticks
        return server * self.tick_ms, db * self.tick_ms


def _percentiles(samples: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99


def _time(
    client: httpx.Client, paths: Sequence[str], count: int, expect: int, cpu: ServerCpu
) -> tuple[list[float], tuple[float, float]]:
    """Milliseconds of ``count`` sequential GETs cycling over ``paths`` (after a warm-up),
    fewer (at least MIN_SAMPLES) if they take longer than READ_BUDGET_SECONDS in all; and
    the server's and the database's CPU milliseconds per request."""
    for path in paths[:5]:
        client.get(path)
    samples: list[float] = []
    cpu_before = cpu.split()
    deadline = time.monotonic() + READ_BUDGET_SECONDS
    for i in range(count):
        if len(samples) >= MIN_SAMPLES and time.monotonic() > deadline:
            break
        path = paths[i % len(paths)]
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
        if len(response.json()["data"]) < expect:
            raise RuntimeError(f"GET {path} returned fewer than {expect} entries")
        samples.append(elapsed)
    cpu_after = cpu.split()
    server, db = ((a - b) / len(samples) for a, b in zip(cpu_after, cpu_before, strict=True))
    return samples, (server, db)


def _reads(
    port: int,
    keys: dict[str, str],
    cursors: dict[str, str],
    stories: list[str],
    count: int,
    cpu: ServerCpu,
) -> dict[str, tuple[list[float], tuple[float, float]]]:
    base = f"http://127.0.0.1:{port}"
    results = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {keys['user']}"}) as user:
        results[f"feed poll, latest ({LATEST_PAGE} events)"] = _time(
            user,
            [f"/api/v1/changes?cursor={cursors['latest']}&limit={LATEST_PAGE}"],
            count,
            1,
            cpu,
        )
        results[f"feed poll, old cursor ({OLD_PAGE} events)"] = _time(
            user,
            [f"/api/v1/changes?cursor={cursors['old']}&limit={OLD_PAGE}"],
            count,
            OLD_PAGE,
            cpu,
        )
        results["audit query by entity"] = _time(
            user, [f"/api/v1/audit?entity_type=story&entity_id={s}" for s in stories], count, 1, cpu
        )
    headers = {"Authorization": f"Bearer {keys['agent']}"}
    with httpx.Client(base_url=base, headers=headers) as agent:
        results["story history"] = _time(
            agent, [f"/api/v1/stories/{s}/history" for s in stories], count, 1, cpu
        )
    return results


async def _follow(
    client: httpx.AsyncClient, cursor: str, seen: dict[str, list[float]], ready: asyncio.Event
) -> None:
    """One SSE client: records the monotonic receipt time of every event, by entry id."""
    async with client.stream("GET", f"/api/v1/changes/stream?cursor={cursor}") as response:
        if response.status_code != 200:
            raise RuntimeError(f"the stream answered {response.status_code}")
        ready.set()
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                received = time.monotonic()
                seen.setdefault(json.loads(line[5:])["id"], []).append(received)


async def _stream(
    port: int, keys: dict[str, str], cursor: str, clients: int, events: int, gap: float
) -> tuple[list[float], list[float], int, int]:
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {keys['user']}"}
    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
    timeout = httpx.Timeout(30.0, read=None)
    seen: dict[str, list[float]] = {}
    sent: dict[str, tuple[float, float]] = {}
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=timeout
    ) as streams:
        readies = [asyncio.Event() for _ in range(clients)]
        tasks = [asyncio.create_task(_follow(streams, cursor, seen, r)) for r in readies]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
        await asyncio.sleep(1.0)
        orchestrator = {"Authorization": f"Bearer {keys['orchestrator']}"}
        # A slow server must not stretch the run: events stop after the budget.
        deadline = time.monotonic() + STREAM_BUDGET_SECONDS
        async with httpx.AsyncClient(
            base_url=base, headers=orchestrator, timeout=STREAM_BUDGET_SECONDS
        ) as poster:
            for i in range(events):
                if time.monotonic() > deadline:
                    break
                body = {"event_type": "bench_tick", "summary": f"tick {i}"}
                started = time.monotonic()
                response = await poster.post("/api/v1/audit/events", json=body)
                answered = time.monotonic()
                if response.status_code != 201:
                    raise RuntimeError(f"POST /audit/events answered {response.status_code}")
                sent[response.json()["data"]["id"]] = (started, answered)
                await asyncio.sleep(gap)
        await asyncio.sleep(DELIVERY_WAIT_SECONDS)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    from_send: list[float] = []
    from_answer: list[float] = []
    missing = 0
    for entry, (started, answered) in sent.items():
        receipts = seen.get(entry, [])
        missing += clients - len(receipts)
        from_send += [(r - started) * 1000 for r in receipts]
        from_answer += [(r - answered) * 1000 for r in receipts]
    return from_send, from_answer, missing, len(sent)


def _setup(port: int, tenants: int) -> tuple[dict[str, str], list[str]]:
    """The measured tenant's keys and every other tenant's id (all through the API)."""
    slug = f"feed-{os.getpid()}"
    user = _register(port, slug)
    keys = {
        "user": user,
        "agent": _key(port, user, "agent", "agent-0"),
        "orchestrator": _key(port, user, "orchestrator", "orchestrator-0"),
        "tenant": _tenant_id(port, user),
    }
    others = [_tenant_id(port, _register(port, f"{slug}-{i}")) for i in range(tenants)]
    return keys, others


def _benchmark(args: argparse.Namespace, root: Path, processes: bench.Processes) -> int:
    data_dir = root / "data"
    root.chmod(0o711)
    port = bench._free_port()
    limit = str(bench.RATE_LIMIT)
    env = bench._clean_env(
        LOOPCTL_RATE_LIMIT_PER_MINUTE=limit,
        LOOPCTL_RATE_LIMIT_IP_PER_MINUTE=limit,
        # The other tenants register through the API too, from one address.
        LOOPCTL_SIGNUPS_PER_IP_PER_HOUR=str(args.tenants + 2),
    )
    bench._progress("starting loopctl serve (embedded PostgreSQL) ...")
    log = root / "loopctl.log"
    command = [str(bench.LOOPCTL), "serve", "--data-dir", str(data_dir), "--port", str(port)]
    server = processes.start("loopctl", command, env=env, log=log)
    bench._wait_ready(server, port, log, "loopctl serve")
    bench._progress(f"registering 1 + {args.tenants} tenants ...")
    keys, others = _setup(port, args.tenants)
    credentials: dict[str, str] = json.loads((data_dir / CREDENTIALS).read_text())
    superuser = _server_url(
        data_dir, pgcluster.SUPERUSER, credentials["superuser_password"], DATABASE
    )
    bench._progress(f"loading {2 * args.rows:,} audit rows ...")
    load_s = _load(superuser, keys["tenant"], others, args.rows)
    with psycopg.connect(superuser, autocommit=True) as conn:
        tenant_rows = conn.execute(
            "SELECT count(*) FROM audit_log WHERE tenant_id = %s", [keys["tenant"]]
        ).fetchone()
        assert tenant_rows is not None
        cursors = {
            "old": _cursor(conn, keys["tenant"], OLD_PAGE),
            "latest": _cursor(conn, keys["tenant"], max(0, int(tenant_rows[0]) - LATEST_PAGE)),
            "end": _cursor(conn, keys["tenant"], int(tenant_rows[0]) - 1),
        }
        found = conn.execute(STORIES, [keys["tenant"], keys["tenant"]]).fetchall()
        stories = [str(row[0]) for row in found]
    app_url = _server_url(data_dir, APP_ROLE, credentials["app_password"], DATABASE)
    probe = probe_plan(app_url, keys["tenant"])
    plan = poll_plan(app_url, keys["tenant"], cursors["old"], OLD_PAGE)
    bench._progress(f"timing reads ({args.requests} each) ...")
    # The machine is shared: the load average says how much else ran beside the run.
    load_before = os.getloadavg()
    cpu = ServerCpu(server.pid, data_dir)
    reads = _reads(port, keys, cursors, stories, args.requests, cpu)
    bench._progress(f"{args.clients} stream clients, {args.events} events ...")
    stream = asyncio.run(_stream(port, keys, cursors["end"], args.clients, args.events, args.gap))
    looped = None
    if args.loop_agents:
        bench._progress(f"{args.loop_agents} agents loop under one stream client ...")
        looped = measure(port, root, superuser, args)
    code = _report(args, int(tenant_rows[0]), load_s, reads, stream, looped)
    loads = [" ".join(f"{v:.2f}" for v in load) for load in (load_before, os.getloadavg())]
    print(f"load average (1, 5, 15 min): {loads[0]} before the reads, {loads[1]} at the end")
    print()
    print(f"plan of a poll at the old cursor ({OLD_PAGE} events; app role, tenant set):\n{plan}")
    print()
    print(f"plan of a live stream's probe (held_back; app role, tenant set):\n{probe}")
    return code


def _report(
    args: argparse.Namespace,
    tenant_rows: int,
    load_s: float,
    reads: dict[str, tuple[list[float], tuple[float, float]]],
    stream: tuple[list[float], list[float], int, int],
    looped: LoopFeed | None,
) -> int:
    print(
        f"change feed on {tenant_rows:,} audit rows in the measured tenant and {args.rows:,} over "
        f"{args.tenants} others (loaded in {load_s:.0f} s); {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; up to {args.requests} sequential requests per read (at "
        f"least {MIN_SAMPLES}, stopping after {READ_BUDGET_SECONDS:g} s), keep-alive"
    )
    print()
    rows: list[Sequence[str]] = [
        ("read", "requests", "p50 ms", "p99 ms", "CPU ms", f"p50 < {TARGET_READ_P50_MS:g} ms")
    ]
    met = True
    for name, (samples, (server, db)) in reads.items():
        p50, p99 = _percentiles(samples)
        met = met and p50 < TARGET_READ_P50_MS
        ok = "met" if p50 < TARGET_READ_P50_MS else "MISSED"
        cpu = f"{server:.1f} + {db:.1f}"
        rows.append((name, str(len(samples)), f"{p50:.1f}", f"{p99:.1f}", cpu, ok))
    print(bench._format(rows))
    print("CPU ms: a request's CPU in the server process + in PostgreSQL (its processes), /proc")
    print()
    from_send, from_answer, missing, sent = stream
    rows = [
        ("SSE, commit -> receipt", "p50 ms", "p99 ms", "max ms", f"p99 < {TARGET_STREAM_P99_MS:g}")
    ]
    for name, samples in (("from POST sent", from_send), ("from POST answered", from_answer)):
        if not samples:
            rows.append((name, "-", "-", "-", "MISSED"))
            continue
        p50, p99 = _percentiles(samples)
        ok = "met" if p99 < TARGET_STREAM_P99_MS else "MISSED"
        rows.append((name, f"{p50:.1f}", f"{p99:.1f}", f"{max(samples):.1f}", ok))
    print(
        f"{args.clients} clients on /changes/stream, {sent} events reported one after "
        f"another ({args.gap * 1000:g} ms apart); deliveries {len(from_send):,}, missing {missing}"
    )
    print(bench._format(rows))
    print()
    print(
        "loop under the feed: "
        + ("skipped (--loop-agents 0)" if looped is None else describe(looped))
    )
    return 0 if met and missing == 0 else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="audit rows in the measured tenant [1e6]"
    )
    parser.add_argument("--tenants", type=int, default=100, help="other tenants [100]")
    parser.add_argument("--requests", type=int, default=300, help="requests per read [300]")
    parser.add_argument("--clients", type=int, default=100, help="stream clients [100]")
    parser.add_argument("--events", type=int, default=100, help="events reported [100]")
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between events [0.05]")
    parser.add_argument(
        "--loop-agents", type=int, default=32, help="agents looping under a stream [32; 0: skip]"
    )
    parser.add_argument("--loop-duration", type=float, default=8.0, help="loop seconds [8]")
    parser.add_argument("--keep-logs", type=Path, metavar="DIR", help="copy server logs here")
    args = parser.parse_args(argv)
    if args.rows < 2 * OLD_PAGE or args.tenants < 1 or min(args.requests, args.clients) < 1:
        parser.error(f"--rows must be >= {2 * OLD_PAGE}, --tenants/--requests/--clients >= 1")
    if args.events < 1 or args.gap < 0 or args.loop_agents < 0 or args.loop_duration <= 0:
        parser.error("--events >= 1, --gap >= 0, --loop-agents >= 0, --loop-duration > 0")
    return bench.run(
        "feed", args.keep_logs, lambda root, processes: _benchmark(args, root, processes)
    )


if __name__ == "__main__":
    sys.exit(main())
