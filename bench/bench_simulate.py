"""Time and peak memory of the simulator (issue #3): N = 100 k and 1 M firms, 7 years.

Run: ``.venv/bin/python bench/bench_simulate.py [N ...]``. Each size runs in a fresh process so
the peak RSS is the simulator's own. Target: 1 M firms in ≤ 3 min and ≤ 8 GB.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time

__all__ = ["main"]


def _one(n: int) -> None:
    from pathlib import Path

    from tiering.simulate import simulate_run
    from tiering.simulate.writer import write_city

    t0 = time.perf_counter()
    sim = simulate_run(n, seed=1, years=(2019, 2025))
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        write_city(sim.tables, Path(d), arguments=sim.arguments)
    t2 = time.perf_counter()
    rec = sim.tables["recognitions"]
    import polars as pl

    new = (
        rec.filter(pl.col("application") == "new")
        .group_by("tier", pl.col("granted").dt.year().alias("y"))
        .len()
    )
    stock = (
        rec.filter(
            (pl.col("granted") <= pl.date(2025, 12, 31))
            & (pl.col("expires") >= pl.date(2025, 12, 31))
            & pl.col("revoked").is_null()
        )
        .group_by("tier")
        .agg(pl.col("uscc").n_unique())
    )
    roster = (
        sim.tables["stats_roster"].filter((pl.col("year") == 2025) & pl.col("in_roster")).height
    )
    print(json.dumps({
        "n": n, "simulate_s": round(t1 - t0, 1), "write_s": round(t2 - t1, 1),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
        "rows": {k: v.height for k, v in sim.tables.items()}, "roster_2025": roster,
        "new_per_year": {t: sorted(new.filter(pl.col("tier") == t).select("y", "len").rows()) for t in sorted(set(new["tier"]))},
        "stock_2025": dict(stock.rows()),
    }, ensure_ascii=False))  # fmt: skip


def main(sizes: list[int] | None = None) -> None:
    """Run each size in its own process and print one JSON line per size."""
    for n in sizes or [100_000, 1_000_000]:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--one", str(n)], check=True)
        print(f"N={n:,}: wall {time.perf_counter() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        _one(int(sys.argv[2]))
    else:
        main([int(a) for a in sys.argv[1:]] or None)
