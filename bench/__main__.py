"""python -m bench [--smoke] [scenario ...]: run benchmarks, print and save their figures."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable

from . import db_memory, pages_bench, reports_bench, scenarios
from .harness import Result

FULL: dict[str, Callable[[], Result]] = {
    "lifecycle": lambda: scenarios.lifecycle(2000),
    "long_and_wide": lambda: scenarios.long_and_wide((1000, 3000), 300),
    "inbox": lambda: scenarios.inbox(100_000),
    "timers": lambda: scenarios.timers(10_000),
    "http": lambda: scenarios.http(400),
    "timeline": lambda: scenarios.timeline(10_000),
    "reports": reports_bench.reports,
    "pages": pages_bench.pages,
    "db_memory": db_memory.db_memory,
}
SMOKE: dict[str, Callable[[], Result]] = {
    "lifecycle": lambda: scenarios.lifecycle(5),
    "long_and_wide": lambda: scenarios.long_and_wide((20, 60), 5, 1),
    "inbox": lambda: scenarios.inbox(300, users=10, groups=3, pages=3),
    "timers": lambda: scenarios.timers(5),
    "http": lambda: scenarios.http(4, (2,)),
    "timeline": lambda: scenarios.timeline(20),
    "reports": reports_bench.smoke,
    "pages": pages_bench.smoke,
    "db_memory": lambda: db_memory.db_memory(500, 50, 0),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks they run")
    parser.add_argument("scenario", nargs="*", choices=[*FULL, []], help="default: all")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    table = SMOKE if args.smoke else FULL
    for name in args.scenario or list(table):
        result = table[name]()
        result.show()
        if not args.smoke:
            result.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
