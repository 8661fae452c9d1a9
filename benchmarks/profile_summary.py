"""Summarize a profile of a loopctl server: where the CPU time goes.

Two inputs are understood. A cProfile file written by ``auth_read.py --profile FILE``
(CPU time; stdlib only): prints own time by package and the top functions. Or a py-spy
``--format raw`` profile, if you have py-spy (it samples wall time, so a ``send()`` that
waits for the scheduler counts as busy):

    py-spy record --pid <server pid> --duration 20 --rate 250 --format raw -o prof.txt
    python benchmarks/profile_summary.py prof.txt

For py-spy it prints the functions with the most own time, then the share of samples spent
inside each layer (a sample counts for a layer when any frame of its stack belongs to it,
so layers nest and their shares do not add up to 100%).
"""

import argparse
import pstats
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence

# (layer, pattern matched against one frame "function (path:line)"). Ordered from the
# outside in: the first one is the innermost code a request passes through last.
LAYERS: Sequence[tuple[str, str]] = (
    ("uvicorn + httptools (HTTP parsing, ASGI glue)", r"\(uvicorn/"),
    ("starlette (routing, middleware stack, responses)", r"\(starlette/"),
    ("fastapi (all)", r"\(fastapi/"),
    ("fastapi dependency resolution (solve_dependencies)", r"^solve_dependencies "),
    ("fastapi response serialization (serialize_response)", r"^serialize_response "),
    ("fastapi telemetry middleware", r"\(fastapi/telemetry/"),
    ("pydantic (validation + serialization)", r"\(pydantic(_core)?/|^(TypeAdapter|BaseModel)\."),
    ("loopctl RequestMiddleware (whole request inside it)", r"^RequestMiddleware\.__call__ "),
    ("loopctl RequestMiddleware._record (metrics + access log)", r"^RequestMiddleware\._record "),
    ("logging (access log formatting and write)", r"\(logging/|\(loopctl/observability\.py"),
    ("prometheus_client (metrics)", r"\(prometheus_client/"),
    ("psycopg + psycopg_pool (all)", r"\(psycopg(_pool)?/"),
    ("psycopg_pool (getconn/putconn)", r"\(psycopg_pool/"),
    ("loopctl auth (authenticate, rate limit, usage)", r"\(loopctl/auth/"),
    ("loopctl tenants (endpoint, service, view)", r"\(loopctl/tenants/"),
    ("loopctl JSON rendering (orjson)", r"\(loopctl/kit/responses\.py"),
)


_LOCATION = re.compile(r"\(([^():]+):\d+\)$")


def _read(lines: Iterable[str]) -> list[tuple[list[str], int]]:
    samples = []
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if stack and count.isdigit():
            samples.append((stack.split(";"), int(count)))
    return samples


def _package(frame: str) -> str:
    match = _LOCATION.search(frame)
    if match is None:
        return frame
    path = match.group(1)
    if path.startswith("loopctl/"):
        return path.removesuffix(".py")
    return path.split("/")[0].removesuffix(".py")


def summarize(lines: Iterable[str], top: int = 30) -> str:
    samples = _read(lines)
    total = sum(count for _, count in samples)
    if not total:
        return "no samples"
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    compiled = [(name, re.compile(pattern)) for name, pattern in LAYERS]
    for frames, count in samples:
        own[frames[-1]] += count
        packages[_package(frames[-1])] += count
        matched = False
        for name, pattern in compiled:
            if any(pattern.search(frame) for frame in frames):
                layers[name] += count
                matched = True
        in_app = any("run_asgi" in f or "RequestMiddleware" in f for f in frames)
        if not matched or not in_app:
            layers["outside a request (event loop, background tasks, other)"] += count
    out = [f"{total} samples", "", f"top {top} functions by own time:"]
    for frame, count in own.most_common(top):
        out.append(f"  {count / total:6.1%}  {frame}")
    out += ["", "own time by package (C code counts for the Python frame that called it):"]
    for package, count in packages.most_common():
        if count / total >= 0.005:
            out.append(f"  {count / total:6.1%}  {package}")
    out += ["", "share of samples inside each layer (nested, so they overlap):"]
    for name, _ in LAYERS:
        if name in layers:
            out.append(f"  {layers[name] / total:6.1%}  {name}")
    leftover = "outside a request (event loop, background tasks, other)"
    out.append(f"  {layers[leftover] / total:6.1%}  {leftover}")
    return "\n".join(out)


# Tried in order: a library, a loopctl package, the standard library.
_PACKAGES = (
    re.compile(r"site-packages/([^/]+)"),
    re.compile(r"src/(loopctl/[^/.]+)"),
    re.compile(r"python3\.\d+/([^/]+)"),
)


def _package_of(filename: str) -> str:
    for pattern in _PACKAGES:
        match = pattern.search(filename)
        if match:
            return match.group(1).removesuffix(".py")
    return "builtins" if filename == "~" else filename


def summarize_pstats(path: str, top: int = 30) -> str:
    """Own CPU time by package, then the functions with the most own time."""
    stats = pstats.Stats(path).stats  # type: ignore[attr-defined]
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    for (filename, line, name), (_, calls, tottime, _, _) in stats.items():
        package = _package_of(filename)
        packages[package] += tottime
        own[f"{name} ({package}:{line}) x{calls}"] += tottime
    total = sum(own.values()) or 1.0
    out = [f"{total:.2f} s of profiled CPU", "", "own time by package:"]
    out += [f"  {t / total:6.1%}  {p}" for p, t in packages.most_common() if t / total >= 0.005]
    out += ["", f"top {top} functions by own time (x calls):"]
    out += [f"  {t / total:6.1%}  {f}" for f, t in own.most_common(top)]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", help="auth_read.py --profile output, or py-spy raw output")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    try:
        print(summarize_pstats(args.profile, args.top))
    except (ValueError, TypeError, EOFError, OSError, UnicodeDecodeError):
        with open(args.profile) as handle:
            print(summarize(handle, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
