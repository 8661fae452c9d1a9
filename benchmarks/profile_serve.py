"""Run ``loopctl serve`` under cProfile, timing CPU rather than wall clock.

``auth_read.py --profile FILE`` starts the server through this script. On shutdown
(SIGTERM, as the benchmark sends it) it writes a pstats file; ``profile_summary.py FILE``
prints where the server spent its CPU. The timer is the process's CPU time, so a
coroutine waiting on PostgreSQL or the scheduler costs nothing, unlike a wall-clock or
sampling profile that counts time a ``send()`` spends descheduled.

    python benchmarks/profile_serve.py OUT.pstats serve --data-dir ... --port ...
"""

import cProfile
import sys
import time

from loopctl.cli.main import app


def main() -> None:
    out, argv = sys.argv[1], sys.argv[2:]
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        app(argv, prog_name="loopctl")
    except SystemExit:
        pass
    finally:
        profiler.disable()
        profiler.dump_stats(out)


if __name__ == "__main__":
    main()
