"""Time, peak memory and base rates of the simulator (issue #3): N = 100 k and 1 M firms, 7 years.

Run: ``.venv/bin/python bench/bench_simulate.py [N ...]``. Each size runs in a fresh process so
the peak RSS is the simulator's own. Target: 1 M firms in ≤ 3 min and ≤ 8 GB. Besides wall time
it prints CPU time (all threads; on a shared machine wall time mostly measures the neighbours),
seconds per stage, and the base rates per million firms next to the city's targets — the only
place the rare 单项冠军 count is checked (at 50 k, the test size, fewer than 2 are expected).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time

__all__ = ["TARGETS", "main"]

# per million firms: (low, high)
TARGETS = {
    "roster_2025": (16_000, 20_000),
    "new_innovative_per_year": (850, 1150),
    "new_specialized_per_year": (400, 600),
    "new_little_giant_per_year": (60, 100),
    "new_champion_per_year": (5, 10),
    "stock_2025_specialized": (3500, 4500),
    "stock_2025_little_giant": (400, 600),
    "stock_2025_champion": (20, 40),
}


def _rates(tables: dict, n: int) -> dict[str, float]:
    import polars as pl

    per_m = 1_000_000 / n
    rec = tables["recognitions"]
    out = {
        "roster_2025": tables["stats_roster"]
        .filter((pl.col("year") == 2025) & pl.col("in_roster"))
        .height
    }
    for tier, years in (("innovative", range(2023, 2026)), ("specialized", range(2020, 2026)),
                        ("little_giant", range(2020, 2026)), ("champion", range(2020, 2026))):  # fmt: skip
        k = rec.filter(
            (pl.col("tier") == tier) & (pl.col("application") == "new")
            & pl.col("granted").dt.year().is_in(list(years))
        ).height  # fmt: skip
        out[f"new_{tier}_per_year"] = k / len(years)
    on = pl.date(2025, 12, 31)
    held = rec.filter(
        (pl.col("granted") <= on) & (pl.col("expires") >= on)
        & (pl.col("revoked").is_null() | (pl.col("revoked") > on))
    )  # fmt: skip
    for tier in ("specialized", "little_giant", "champion"):
        out[f"stock_2025_{tier}"] = held.filter(pl.col("tier") == tier)["uscc"].n_unique()
    return {k: round(v * per_m, 1) for k, v in out.items()}


def _one(n: int) -> None:
    from pathlib import Path

    from tiering.simulate import simulate_run
    from tiering.simulate.writer import write_city

    c0, t0 = time.process_time(), time.perf_counter()
    sim = simulate_run(n, seed=1, years=(2019, 2025))
    c1, t1 = time.process_time(), time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        write_city(sim.tables, Path(d), arguments=sim.arguments)
    t2 = time.perf_counter()
    rates = _rates(sim.tables, n)
    check = {
        k: f"{v} ({'ok' if TARGETS[k][0] <= v <= TARGETS[k][1] else 'OFF'} {TARGETS[k]})"
        for k, v in rates.items()
    }
    print(json.dumps({
        "n": n, "simulate_s": round(t1 - t0, 1), "simulate_cpu_s": round(c1 - c0, 1),
        "write_s": round(t2 - t1, 1),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
        "stages_s": {k: round(v, 1) for k, v in sim.timings.items()},
        "rows": {k: v.height for k, v in sim.tables.items()},
        "per_million_vs_target": check,
    }, ensure_ascii=False, indent=1))  # fmt: skip


def main(sizes: list[int] | None = None) -> None:
    """Run each size in its own process and print one JSON block per size."""
    for n in sizes or [100_000, 1_000_000]:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--one", str(n)], check=True)
        print(f"N={n:,}: wall {time.perf_counter() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        _one(int(sys.argv[2]))
    else:
        main([int(a) for a in sys.argv[1:]] or None)
