"""Run every benchmark: ``python -m bench`` (or ``python -m bench request capture`` for some).

Each ``bench/bench_*.py`` module runs in turn, in name order: its ``main()`` when it has one,
else the module as ``python -m bench.<name>`` in a subprocess. Benchmarks print ratios against
their anchors and never fail; a benchmark that crashes is reported and the others still run.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def modules(selected: list[str]) -> list[str]:
    """The benchmark module names, limited to those whose name contains a selected word."""
    names = sorted(path.stem for path in HERE.glob("bench_*.py"))
    return [n for n in names if not selected or any(word in n for word in selected)]


def run(name: str) -> None:
    """Run one benchmark module; report a crash instead of raising it."""
    try:
        module = importlib.import_module(f"bench.{name}")
        main = getattr(module, "main", None)
        if callable(main):
            main()
        else:
            sys.stdout.flush()
            subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=HERE.parent, check=False)
    except Exception:
        print(f"{name} crashed; the other benchmarks still run:\n{traceback.format_exc()}")


def main(argv: list[str]) -> None:
    """Run the selected benchmarks, each under a header with its duration."""
    for name in modules(argv):
        print(f"== {name} ==", flush=True)
        started = time.perf_counter()
        run(name)
        print(f"({name}: {time.perf_counter() - started:.0f} s)\n", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
