"""Work-breakdown benchmark: a 10,000-story project over HTTP.

Starts `loopctl serve` on its own embedded PostgreSQL in a temporary directory, generates a
project of 200 epics, 10,000 stories, 30,000 story dependencies and 300 epic dependencies
(acyclic across both levels, the first 30% of epics verified so that the ready and blocked
lists are realistic), and measures over HTTP with the local user key:

  import (fresh, into an empty project), stories/ready, stories/blocked, dependency_graph,
  critical_path, one dependency insert (the cycle check runs against the whole graph),
  and export; and two floors under critical_path: its graph statement alone (a psycopg
  client as the app role, no HTTP) and its walk alone (graph_path.py, in this process).

Then the noisy neighbour: another tenant's `GET /tenants/me`, one request at a time, while
agent keys of the first tenant loop `critical_path` on the big project (in other processes):
idle, one loop, and four loops with and without the per-tenant heavy-request cap (the server
is restarted with LOOPCTL_HEAVY_REQUESTS_PER_TENANT=0 for the last).

Prints the median, p99 and min of each and the issue's targets. Usage:

    .venv/bin/python benchmarks/graph.py [--repeat 15] [--imports 3] [--seed 7] [--seconds 6]

Absolute times on a shared 2-core machine are noisy; run it twice before trusting a figure.
"""

import argparse
import json
import multiprocessing
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.conninfo import make_conninfo

from loopctl.database.embedded import CREDENTIALS, DATABASE, LOCAL_KEY
from loopctl.database.provision import role_url
from loopctl.dependencies.graph_path import heaviest_chain
from loopctl.dependencies.graph_path_repository import PATH_GRAPH_SQL
from loopctl.platform.config import Settings

LOOPCTL = str(Path(sys.executable).parent / "loopctl")
API = "/api/v1"
EPICS, STORIES_PER_EPIC, STORY_EDGES, EPIC_EDGES = 200, 50, 30_000, 300
VERIFIED_EPICS = 60  # epics 1..60 are done: their stories arrive verified

# Targets from the issue, in milliseconds (None: measured, no target).
TARGETS: dict[str, float | None] = {
    "import (fresh)": 10_000,
    "stories/ready": 30,
    "stories/blocked": 60,
    "dependency_graph": None,
    "critical_path": 50,
    "dependency insert": 20,
    "dependency insert refused (cycle)": None,
    "export": 2_000,
    "import (merge, unchanged)": None,
}


def document(seed: int) -> dict[str, Any]:
    """A project document whose every edge points to an earlier epic, or to an earlier
    story of the same epic, so neither level can have a cycle."""
    rng = random.Random(seed)
    numbers = [[f"{e}.{s}" for s in range(1, STORIES_PER_EPIC + 1)] for e in range(1, EPICS + 1)]
    deps: list[set[str]] = [set() for _ in range(EPICS * STORIES_PER_EPIC)]
    added = 0
    while added < STORY_EDGES:
        e = rng.randrange(EPICS)
        s = rng.randrange(STORIES_PER_EPIC)
        if rng.random() < 0.6 and s > 0:
            target = numbers[e][rng.randrange(s)]
        elif e > 0:
            target = numbers[rng.randrange(max(0, e - 10), e)][rng.randrange(STORIES_PER_EPIC)]
        else:
            continue
        slot = deps[e * STORIES_PER_EPIC + s]
        if target not in slot:
            slot.add(target)
            added += 1
    epic_deps: list[set[int]] = [set() for _ in range(EPICS)]
    added = 0
    while added < EPIC_EDGES:
        e = rng.randrange(1, EPICS)
        earlier = rng.randrange(max(0, e - 20), e) + 1
        if earlier not in epic_deps[e]:
            epic_deps[e].add(earlier)
            added += 1
    epics = []
    for e in range(EPICS):
        done = e < VERIFIED_EPICS
        stories = []
        for s in range(STORIES_PER_EPIC):
            story: dict[str, Any] = {
                "number": numbers[e][s],
                "title": f"Story {numbers[e][s]}",
                "estimated_hours": rng.choice([1, 2, 3, 5, 8]),
                "acceptance_criteria": [{"id": "AC-1", "criterion": "It works"}],
                "depends_on": sorted(deps[e * STORIES_PER_EPIC + s]),
            }
            if done:
                story |= {"agent_status": "reported_done", "verified_status": "verified"}
            stories.append(story)
        epics.append(
            {
                "number": e + 1,
                "title": f"Epic {e + 1}",
                "position": e + 1,
                "depends_on": sorted(epic_deps[e]),
                "stories": stories,
            }
        )
    return {"format": "loopctl.project.v1", "epics": epics}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(
    data_dir: Path, log: Path, extra: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPCTL_")}
    # The benchmark measures the queries, not the rate limiter.
    env |= {
        "LOOPCTL_RATE_LIMIT_PER_MINUTE": "100000000",
        "LOOPCTL_RATE_LIMIT_IP_PER_MINUTE": "100000000",
        **(extra or {}),
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [LOOPCTL, "serve", "--data-dir", str(data_dir), "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited early:\n{log.read_text()}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"server not healthy after 180 s:\n{log.read_text()}")


def timed(client: httpx.Client, method: str, url: str, expect: int = 200, **options: Any) -> float:
    started = time.perf_counter()
    response = client.request(method, url, **options)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != expect:
        raise SystemExit(f"unexpected {response.status_code}: {response.text[:2000]}")
    return elapsed


def new_project(client: httpx.Client, slug: str) -> str:
    response = client.post(f"{API}/projects", json={"name": slug, "slug": slug})
    response.raise_for_status()
    project_id: str = response.json()["data"]["id"]
    return project_id


def story_ids(client: httpx.Client, project_id: str) -> dict[str, str]:
    ids: dict[str, str] = {}
    offset = 0
    while True:
        page = client.get(
            f"{API}/stories", params={"project_id": project_id, "limit": 500, "offset": offset}
        ).json()
        ids |= {s["number"]: s["id"] for s in page["data"]}
        offset += 500
        if offset >= page["meta"]["total"]:
            return ids


def measure(client: httpx.Client, args: argparse.Namespace) -> tuple[dict[str, list[float]], str]:
    doc = document(args.seed)
    results: dict[str, list[float]] = {name: [] for name in TARGETS}
    projects = []
    for n in range(args.imports):
        project_id = new_project(client, f"bench-{n}")
        url = f"{API}/projects/{project_id}/import"
        results["import (fresh)"].append(timed(client, "POST", url, json=doc))
        projects.append(project_id)
    project_id = projects[0]
    merge = f"{API}/projects/{project_id}/import"
    results["import (merge, unchanged)"].append(
        timed(client, "POST", merge, params={"merge": "true"}, json=doc)
    )
    reads = {
        "stories/ready": (f"{API}/stories/ready", {"project_id": project_id}),
        "stories/blocked": (f"{API}/stories/blocked", {"project_id": project_id}),
        "dependency_graph": (f"{API}/projects/{project_id}/dependency_graph", {}),
        "critical_path": (f"{API}/projects/{project_id}/critical_path", {}),
        "export": (f"{API}/projects/{project_id}/export", {}),
    }
    for name, (path, params) in reads.items():
        client.get(path, params=params).raise_for_status()  # warm the caches once
        for _ in range(args.repeat):
            results[name].append(timed(client, "GET", path, params=params))
    ids = story_ids(client, project_id)
    rng = random.Random(args.seed + 1)
    existing = {
        (e["number"], dep)
        for epic in doc["epics"]
        for e in epic["stories"]
        for dep in e["depends_on"]
    }
    for _ in range(args.repeat):
        while True:  # a new edge from a late story to a story of an earlier epic: acyclic
            late, early = rng.randrange(100, EPICS), rng.randrange(0, 100)
            pair = (
                f"{late + 1}.{rng.randrange(1, STORIES_PER_EPIC + 1)}",
                f"{early + 1}.{rng.randrange(1, STORIES_PER_EPIC + 1)}",
            )
            if pair not in existing:
                existing.add(pair)
                break
        body = {"story_id": ids[pair[0]], "depends_on_story_id": ids[pair[1]]}
        results["dependency insert"].append(
            timed(client, "POST", f"{API}/story_dependencies", 201, json=body)
        )
        # The reverse edge closes a cycle through the whole graph: refused with its path.
        back = {"story_id": ids[pair[1]], "depends_on_story_id": ids[pair[0]]}
        results["dependency insert refused (cycle)"].append(
            timed(client, "POST", f"{API}/story_dependencies", 409, json=back)
        )
    return results, project_id


def floors(data_dir: Path, tenant_id: str, project_id: str, repeat: int) -> dict[str, list[float]]:
    """What critical_path cannot go below: its graph statement alone (as the app role, the
    tenant set, arrays read), and the walk alone, in this process."""
    credentials: dict[str, str] = json.loads((data_dir / CREDENTIALS).read_text())
    pgdata = data_dir / "pgdata"
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    server = make_conninfo(host=lines[4] or str(pgdata), port=lines[3])
    app: str = Settings.model_fields["app_role"].default
    statement: list[float] = []
    walk: list[float] = []
    with psycopg.connect(role_url(server, app, credentials["app_password"], DATABASE)) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, false)", [tenant_id])
        for _ in range(repeat + 1):
            started = time.perf_counter()
            with conn.cursor(binary=True) as cur:
                row = cur.execute(PATH_GRAPH_SQL, {"project": project_id}).fetchone()
            statement.append((time.perf_counter() - started) * 1000)
            assert row is not None
            epics, _, epic_of, hours, _, sa, sb, ea, eb = row
            started = time.perf_counter()
            heaviest_chain(hours, epic_of, epics, (sa, sb), (ea, eb))
            walk.append((time.perf_counter() - started) * 1000)
    return {"  floor: its graph statement": statement[1:], "  floor: its walk": walk[1:]}


NEIGHBOUR_TARGET = 20  # ms, the neighbour's median beside the noisy loops


def loop_requests(url: str, headers: dict[str, str], path: str, seconds: float, out: Any) -> None:
    """One noisy agent: the same request back to back, as fast as answers come (no pause,
    not even after a 429); sends back its latencies of 200s and its count of each status."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            status = client.get(path).status_code
            if status == 200:
                latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
    out.put((latencies, statuses))


def neighbour_phase(
    url: str, neighbour: dict[str, str], noisy: list[dict[str, str]], path: str, seconds: float
) -> tuple[list[float], list[float], dict[int, int]]:
    """The neighbour's latencies while ``noisy`` keys loop ``path``, the loops' own
    latencies and the statuses they got."""
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    loops = [
        context.Process(target=loop_requests, args=(url, headers, path, seconds + 1, out))
        for headers in noisy
    ]
    for loop in loops:
        loop.start()
    time.sleep(0.5 if noisy else 0)  # the loops are running before the first sample
    mine: list[float] = []
    with httpx.Client(base_url=url, headers=neighbour, timeout=30) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            mine.append(timed(client, "GET", f"{API}/tenants/me"))
    theirs: list[float] = []
    statuses: dict[int, int] = {}
    for _ in loops:
        latencies, counts = out.get(timeout=300)
        theirs += latencies
        for status, count in counts.items():
            statuses[status] = statuses.get(status, 0) + count
    for loop in loops:
        loop.join(timeout=60)
    return mine, theirs, statuses


def tenants(client: httpx.Client, loops: int) -> tuple[dict[str, str], list[dict[str, str]]]:
    """A second tenant's key (the neighbour), and agent keys of the first (the noisy)."""
    made = client.post(
        f"{API}/tenants/register", json={"name": "Neighbour", "slug": "neighbour"}, headers={}
    )
    made.raise_for_status()
    neighbour = {"Authorization": f"Bearer {made.json()['data']['api_key']['raw_key']}"}
    noisy = []
    for n in range(loops):
        body = {"name": f"noisy {n}", "role": "agent", "agent_name": f"noisy-{n}"}
        key = client.post(f"{API}/api_keys", json=body)
        key.raise_for_status()
        noisy.append({"Authorization": f"Bearer {key.json()['data']['raw_key']}"})
    return neighbour, noisy


def neighbour_rows(
    name: str, phase: tuple[list[float], list[float], dict[int, int]]
) -> dict[str, list[float]]:
    mine, theirs, statuses = phase
    counts = ", ".join(f"{count} x {status}" for status, count in sorted(statuses.items()))
    rows = {f"neighbour GET /tenants/me, {name}": mine}
    name = name.split(",")[0]
    if statuses:
        rows[f"  critical_path, {name} ({counts})"] = theirs
    return rows


def p99(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def report(results: dict[str, list[float]], targets: dict[str, float | None]) -> str:
    """One row per measurement: median, p99 (the max, for a few runs), min, target."""
    rows = [("measurement", "runs", "median ms", "p99 ms", "min ms", "target ms", "")]
    for name, samples in results.items():
        target = targets.get(name)
        if not samples:
            rows.append((name, "0", "-", "-", "-", "-", ""))
            continue
        median = statistics.median(samples)
        verdict = "" if target is None else ("ok" if median < target else "MISSED")
        rows.append(
            (
                name,
                str(len(samples)),
                f"{median:.1f}",
                f"{p99(samples):.1f}",
                f"{min(samples):.1f}",
                "-" if target is None else f"{target:.0f}",
                verdict,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs of each read and insert")
    parser.add_argument("--imports", type=int, default=3, help="fresh imports (projects)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated project")
    parser.add_argument(
        "--seconds", type=float, default=6, help="measured seconds of each neighbour phase"
    )
    return parser.parse_args(argv)


def restart(
    process: subprocess.Popen[bytes], root: Path, extra: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    """Stop the server and start a new one on the same data (a new process and port)."""
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    return start_server(root / "data", root / "serve.log", extra)


def with_cap(
    url: str, neighbour: dict[str, str], noisy: list[dict[str, str]], path: str, seconds: float
) -> dict[str, list[float]]:
    """The neighbour idle, beside one loop, and beside four loops (the cap refuses two)."""
    rows = neighbour_rows("idle", neighbour_phase(url, neighbour, [], path, seconds))
    rows |= neighbour_rows("1 loop", neighbour_phase(url, neighbour, noisy[:1], path, seconds))
    phase = neighbour_phase(url, neighbour, noisy, path, seconds)
    return rows | neighbour_rows("4 loops, cap 2 (default)", phase)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    with tempfile.TemporaryDirectory(prefix="loopctl-bench-graph-") as tmp:
        root = Path(tmp)
        print("starting loopctl serve on an embedded PostgreSQL ...", file=sys.stderr)
        process, url = start_server(root / "data", root / "serve.log")
        try:
            key = (root / "data" / LOCAL_KEY).read_text().strip()
            headers = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
                print(
                    f"project: {EPICS} epics, {EPICS * STORIES_PER_EPIC} stories, "
                    f"{STORY_EDGES} story dependencies, {EPIC_EDGES} epic dependencies",
                    file=sys.stderr,
                )
                results, project_id = measure(client, args)
                neighbour, noisy = tenants(client, 4)
                tenant_id = client.get(f"{API}/tenants/me").json()["data"]["id"]
            floor = floors(root / "data", tenant_id, project_id, args.repeat)
            ordered: dict[str, list[float]] = {}
            for name, samples in results.items():  # the floors under the critical path
                ordered |= {name: samples, **(floor if name == "critical_path" else {})}
            results = ordered
            path = f"{API}/projects/{project_id}/critical_path"
            # Each configuration on a fresh server process, so that the imports above
            # (their heap, their caches) weigh on neither.
            process, url = restart(process, root, {})
            print("noisy neighbour ...", file=sys.stderr)
            rows = with_cap(url, neighbour, noisy, path, args.seconds)
            process, url = restart(process, root, {"LOOPCTL_HEAVY_REQUESTS_PER_TENANT": "0"})
            print("noisy neighbour, no heavy-request cap ...", file=sys.stderr)
            phase = neighbour_phase(url, neighbour, noisy, path, args.seconds)
            rows |= neighbour_rows("4 loops, no cap", phase)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    print(report(results, TARGETS))
    print()
    print(report(rows, {n: NEIGHBOUR_TARGET for n in rows if n.startswith("neighbour")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
