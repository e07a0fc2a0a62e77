"""Benchmark of the rule engine: every pack over 100 k and 1 M generated firms.

Prints wall time, firms per second and peak RSS. The frame is generated here (random but
plausible values, ~5 % nulls per column) so the bench does not depend on the simulator.
Also prints the per-call latency of API-sized frames (1 and 32 rows) for both backends
(numpy for small frames, polars). Run: ``python -m bench`` (all benches),
``python -m bench.bench_rules [n ...]`` or ``python -m bench.bench_rules latency``.
"""

from __future__ import annotations

import datetime as dt
import resource
import sys
import time

import numpy as np
import polars as pl

from tiering.codes import industries
from tiering.frame import FRAME_COLUMNS

__all__ = ["latency", "main", "random_frame"]

_CODES = {
    "status": ["active"] * 18 + ["revoked", "cancelled"],
    "rd_institution_level": ["none", "below_city", "city", "provincial", "national"],
    "quality_award_level": ["none", "city", "provincial", "national"],
    "sci_award_level": ["none"] * 8 + ["provincial", "national"],
    "niche_domain": ["breakthrough", "foundation", "none"],
}


def random_frame(n: int, seed: int = 7, null_share: float = 0.05) -> pl.DataFrame:
    """A random §11 assessment frame of ``n`` firms (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    inds = industries()["code"].to_numpy()
    cols: dict[str, object] = {}
    rev1 = np.round(np.exp(rng.normal(7.0, 1.6, n)), 2)
    for c in FRAME_COLUMNS:
        name, dtype = c.name, c.dtype
        if name == "uscc":
            cols[name] = [f"91420100{i:09d}X" for i in range(n)]
        elif name == "industry":
            cols[name] = rng.choice(inds, n)
        elif name in _CODES:
            cols[name] = rng.choice(_CODES[name], n)
        elif dtype == pl.String:
            cols[name] = rng.choice(["420102", "420111", "420106"], n)
        elif dtype == pl.Boolean:
            cols[name] = rng.random(n) < 0.3
        elif dtype == pl.Date:
            cols[name] = pl.date_range(
                dt.date(2025, 1, 1), dt.date(2028, 12, 31), eager=True
            ).sample(n, with_replacement=True, seed=seed)
        elif name.startswith(("revenue", "main_revenue", "total_costs", "total_assets")):
            k = 0.8 if "main" in name else 1.0
            cols[name] = np.round(rev1 * k * rng.uniform(0.7, 1.3, n), 2)
        elif name == "total_liabilities_y1":
            cols[name] = np.round(rev1 * rng.uniform(0.1, 1.2, n), 2)
        elif name.startswith("rd_expense") or name == "net_profit_y1":
            cols[name] = np.round(rev1 * rng.uniform(0.0, 0.12, n), 2)
        elif name.startswith("equity_financing"):
            cols[name] = np.round(rng.exponential(300, n) * (rng.random(n) < 0.1), 2)
        elif name == "employees_y1":
            cols[name] = rng.integers(1, 2000, n)
        elif name == "rd_staff_y1":
            cols[name] = rng.integers(0, 200, n)
        elif name.endswith("_year") or name == "standard_led_year":
            cols[name] = rng.integers(2015, 2026, n)
        elif name.startswith(("market_share",)):
            cols[name] = rng.uniform(0, 0.3, n)
        elif name.startswith("platform_score"):
            cols[name] = rng.uniform(20, 90, n)
        elif name == "local_feature_points":
            cols[name] = rng.uniform(0, 15, n)
        elif dtype == pl.Int64:
            cols[name] = rng.integers(0, 12, n)
        else:
            cols[name] = np.round(rng.uniform(0, 20, n), 2)
    # extra (non-§11) flags the features frame carries: TS-G3 and EL-6 read them
    cols["sci_dishonesty_3y"] = rng.random(n) < 0.001
    cols["title_revoked_3y"] = rng.random(n) < 0.002
    df = pl.DataFrame(cols).with_columns(pl.col(c.name).cast(c.dtype) for c in FRAME_COLUMNS)
    if null_share:
        mask = {
            c.name: pl.when(pl.lit(rng.random(n) < null_share)).then(None).otherwise(pl.col(c.name))
            for c in FRAME_COLUMNS
            if c.name not in ("uscc",)
        }
        df = df.with_columns(**mask)
    return df


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(n: int, stream: bool = True) -> None:
    from tiering.engine import assess
    from tiering.pack_loader import list_packs, load_pack
    from tiering.pack_model import Pack

    frame = random_frame(n)
    every = [
        p for p in list_packs() if isinstance(load_pack(p), Pack) and load_pack(p).kind == "tier"
    ]
    before = _rss_mb()
    c0, t0 = time.process_time(), time.perf_counter()
    a = assess(frame, dt.date(2026, 6, 30), packs=every)
    c1, t1 = time.process_time(), time.perf_counter()
    tiers, firms = a.tiers, a.firms
    c2, t2 = time.process_time(), time.perf_counter()
    print(
        f"rules n={n:>9,}: assess (all {len(every)} tier packs + EL/size/四上) wall {t1 - t0:6.2f} s "
        f"(cpu {c1 - c0:5.2f} s) = {n / (t1 - t0):>10,.0f} firms/s; tiers+firms wall "
        f"{t2 - t1:5.2f} s (cpu {c2 - c1:5.2f} s); {tiers.height:,} tier rows, {firms.height:,} firms; "
        f"peak RSS {_rss_mb():,.0f} MB (frame built at {before:,.0f} MB)",
        flush=True,
    )
    if stream:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            c3, t3 = time.process_time(), time.perf_counter()
            a.criteria_lazy().sink_parquet(f"{tmp}/criteria.parquet")
            rows = pl.scan_parquet(f"{tmp}/criteria.parquet").select(pl.len()).collect().item()
            print(
                f"rules n={n:>9,}: criteria streamed to parquet ({rows:,} rows) wall "
                f"{time.perf_counter() - t3:6.2f} s (cpu {time.process_time() - c3:5.2f} s); "
                f"peak RSS {_rss_mb():,.0f} MB",
                flush=True,
            )


def latency(rows: tuple[int, ...] = (1, 32), calls: int = 60) -> None:
    """Per-call latency of ``assess`` on API-sized frames, numpy vs polars backend.

    One call = ``assess`` (packs in force + EL/size/四上) and the criteria, tiers and firms
    frames, as the what-if endpoint uses them. Prints median and p99 wall time and the minimum
    CPU time (robust on a shared machine).
    """
    import tiering.engine as engine

    as_of = dt.date(2026, 6, 30)
    base = random_frame(max(rows), seed=11)
    for backend in ("small", "polars"):
        limit = engine.SMALL_ROWS if backend == "small" else 0
        saved, engine.SMALL_ROWS = engine.SMALL_ROWS, limit
        try:
            for n in rows:
                f = base.head(n)
                walls, cpus = [], []
                for _ in range(calls + 3):
                    c0, t0 = time.process_time(), time.perf_counter()
                    a = engine.assess(f, as_of)
                    _ = a.criteria, a.tiers, a.firms
                    walls.append(time.perf_counter() - t0)
                    cpus.append(time.process_time() - c0)
                w = np.array(walls[3:]) * 1e3
                print(
                    f"rules latency {backend:>6} backend, {n:>2} row(s)/call: median "
                    f"{np.median(w):6.1f} ms, p99 {np.percentile(w, 99):6.1f} ms, "
                    f"min cpu {min(cpus[3:]) * 1e3:6.1f} ms ({calls} calls, "
                    f"{type(a).__name__})",
                    flush=True,
                )
        finally:
            engine.SMALL_ROWS = saved


def main(argv: list[str] | None = None) -> None:
    if argv and argv[0] == "latency":
        latency()
        return
    latency()
    sizes = [int(x) for x in (argv or [])] or [100_000, 1_000_000]
    for n in sizes:
        run(n)


if __name__ == "__main__":
    main(sys.argv[1:])
