"""Run every ``bench/bench_*.py`` module's ``main()`` in turn (``make bench``).

Generic on purpose: each area adds its own ``bench_<area>.py`` with a ``main(argv=None)``;
arguments given here (e.g. sizes) are passed to every bench.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    for name in names:
        mod = importlib.import_module(f"bench.{name}")
        if not hasattr(mod, "main"):
            continue
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        takes_args = bool(inspect.signature(mod.main).parameters)
        mod.main(argv or None) if takes_args else mod.main()
        print(f"== {name} done in {time.perf_counter() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    main()
