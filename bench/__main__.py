"""``python -m bench``: the benchmark (see :mod:`bench.export`). Exit 0: every budget met; 1: a budget missed;
2: the benchmark itself could not run (the message says why)."""

import sys

from bench.export import BenchError, main

try:
    code = main()
except BenchError as exc:
    print(f"bench: {exc}", file=sys.stderr)
    code = 2
raise SystemExit(code)
