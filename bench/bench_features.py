"""Speed of ``features``: the assessment frame of 1 M firms as of one date, and a 5-date panel.

Targets (issue 5): one date ≤ 10 s, a 5-date training panel ≤ 60 s, for 1,000,000 firms. The
table set is generated here with numpy (seeded, vectorised, seconds to build) so the bench does not
depend on the simulator; sizes follow the city: every firm files a tax row most years, a few
percent hold titles, ~2 % are on the 四上 roster, events are rare.

Run: ``python -m bench`` (all benches) or ``python -m bench.bench_features [n_firms]``.
"""

from __future__ import annotations

import sys
import time
from datetime import date

import numpy as np
import polars as pl

from data_contracts.tables import EVENT_KINDS, TABLES
from tiering.frame import TIERS

__all__ = ["main", "synthetic_tables"]

_EPOCH = np.datetime64("1970-01-01", "D")


def _dates(lo: str, hi: str, size: int, rng: np.random.Generator) -> np.ndarray:
    a, b = np.datetime64(lo, "D"), np.datetime64(hi, "D")
    return a + rng.integers(0, int((b - a).astype(int)) + 1, size=size).astype("timedelta64[D]")


def _conform(name: str, df: pl.DataFrame) -> pl.DataFrame:
    """Add absent contract columns as nulls and order/cast columns per the contract."""
    schema = TABLES[name].schema()
    return df.with_columns(
        [pl.lit(None, dtype=t).alias(c) for c, t in schema.items() if c not in df.columns]
    ).select([pl.col(c).cast(t) for c, t in schema.items()])


def synthetic_tables(
    n_firms: int, seed: int = 0, years: range = range(2018, 2027)
) -> dict[str, pl.DataFrame]:
    """A seeded, contract-typed table set of ``n_firms`` firms over ``years`` (for benches)."""
    rng = np.random.default_rng(seed)
    uscc = pl.Series("uscc", np.arange(n_firms)).cast(pl.String).str.zfill(18)
    est = _dates("1995-01-01", f"{years[-1]}-12-31", n_firms, rng)
    closed = np.where(
        rng.random(n_firms) < 0.1, est + rng.integers(1, 4000, n_firms), np.datetime64("NaT")
    )
    districts = np.array([f"4201{d:02d}" for d in (2, 3, 4, 5, 6, 7, 11, 12, 13, 14, 15, 16, 17)])
    firms = pl.DataFrame(
        {
            "uscc": uscc,
            "name": pl.Series(np.arange(n_firms)).cast(pl.String),
            "established": est,
            "closed": closed,
            "status": np.where(np.isnat(closed), "active", "cancelled"),
            "district": districts[rng.integers(0, 13, n_firms)],
            "industry": rng.choice(["3911", "2710", "5191", "6513", "7299", "4011"], n_firms),
            "registered_capital": rng.lognormal(5, 1.5, n_firms),
            "resident": rng.random(n_firms) < 0.99,
        }
    )
    est_year = pl.Series(est).dt.year().to_numpy()
    idx = np.repeat(np.arange(n_firms), len(years))
    yr = np.tile(np.asarray(years), n_firms)
    keep = (yr >= est_year[idx]) & (rng.random(idx.size) < 0.9)
    idx, yr = idx[keep], yr[keep]
    m = idx.size
    size = rng.lognormal(5, 1.6, n_firms)[idx] * rng.lognormal(0, 0.2, m)
    base = pl.DataFrame({"uscc": uscc.gather(idx), "year": yr})
    fin = base.with_columns(
        revenue=size,
        main_revenue=size * rng.uniform(0.5, 1.0, m),
        total_costs=size * rng.uniform(0.6, 1.1, m),
        net_profit=size * rng.normal(0.03, 0.08, m),
        total_assets=size * rng.lognormal(0, 0.5, m),
        total_liabilities=size * rng.uniform(0.1, 0.9, m),
        employees=(size / 30 + 1).astype(np.int64),
        rd_expense=size * rng.uniform(0, 0.08, m),
        rd_staff=(size / 300).astype(np.int64),
        equity_financing=np.where(rng.random(m) < 0.01, rng.lognormal(6, 1, m), 0.0),
    )
    ip = base.with_columns(
        class1_ip=rng.poisson(0.3, m),
        class1_self_developed=rng.poisson(0.2, m),
        class1_high_value=rng.poisson(0.05, m),
        class2_ip=rng.poisson(1.0, m),
    )
    pub = (np.asarray(yr) - 1970).astype("datetime64[Y]").astype("datetime64[D]") + rng.integers(
        90, 500, m
    ).astype("timedelta64[D]")
    cred = base.with_columns(
        high_tech=rng.random(m) < 0.05,
        rd_institution_level=rng.choice(["none", "city", "provincial", "national"], m),
        digital_level=rng.integers(0, 5, m),
        iso9001=rng.random(m) < 0.3,
        quality_award_level=pl.lit("none"),
        own_brand=rng.random(m) < 0.2,
        standards_count=rng.poisson(0.2, m),
        sci_award_level=pl.lit("none"),
        niche_years=rng.uniform(0, 20, m),
        platform_score=np.where(rng.random(m) < 0.02, rng.uniform(30, 90, m), np.nan),
        platform_score_date=pub,
    ).with_columns(pl.col("platform_score").fill_nan(None))
    on = rng.random(m) < 0.02
    roster = base.filter(on).with_columns(four_above_kind=pl.lit("工业"), in_roster=True)
    n_rec = n_firms // 20
    granted = _dates(f"{years[0]}-01-01", f"{years[-1]}-12-31", n_rec, rng)
    rec = pl.DataFrame(
        {
            "uscc": uscc.gather(rng.integers(0, n_firms, n_rec)),
            "tier": rng.choice(list(TIERS), n_rec, p=[0.5, 0.3, 0.15, 0.04, 0.01]),
            "level": "provincial",
            "granted": granted,
            "expires": granted + 3 * 365,
            "revoked": np.where(rng.random(n_rec) < 0.02, granted + 400, np.datetime64("NaT")),
            "rule_version": "x-2022",
        }
    ).unique(["uscc", "tier", "granted"])
    n_ev = n_firms // 10
    start = _dates(f"{years[0]}-01-01", f"{years[-1]}-12-31", n_ev, rng)
    events = pl.DataFrame(
        {
            "event_id": pl.Series(np.arange(n_ev)).cast(pl.String),
            "uscc": uscc.gather(rng.integers(0, n_firms, n_ev)),
            "kind": rng.choice(list(EVENT_KINDS), n_ev),
            "date": start,
            "end_date": np.where(rng.random(n_ev) < 0.5, start + 200, np.datetime64("NaT")),
        }
    )
    raw = {
        "firms": firms,
        "financials": fin,
        "ip": ip,
        "credentials": cred,
        "recognitions": rec,
        "stats_roster": roster,
        "events": events,
    }
    return {name: _conform(name, df) for name, df in raw.items()}


def _timed(label: str, fn) -> float:
    """Run ``fn`` once; print wall and process CPU seconds (CPU is the fair number on a shared
    machine: wall time there also counts other people's work)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    rows = ""
    if isinstance(out, pl.DataFrame) and out.height > 1:
        rows = f"{out.height:,} rows"
    print(f"  {label:<56} {dt:7.2f} s wall {cpu:7.2f} s cpu  {rows}")
    return dt


def main(n_firms: int = 1_000_000) -> None:
    """Print the timings of the features targets on a generated city of ``n_firms`` firms."""
    from features import assessment_frame, model_features, training_panel

    print(f"bench_features: {n_firms:,} firms, {pl.thread_pool_size()} polars threads")
    t0 = time.perf_counter()
    tables = synthetic_tables(n_firms)
    rows = sum(t.height for t in tables.values())
    label = f"generate tables ({rows:,} input rows)"
    print(f"  {label:<56} {time.perf_counter() - t0:7.2f} s wall")
    d = date(2025, 6, 30)
    _timed(
        "assessment_frame, 1 date (target ≤ 10 s)", lambda: assessment_frame(tables, d).collect()
    )
    _timed(
        "assessment_frame + model_features, history, 1 date",
        lambda: model_features(assessment_frame(tables, d, history=True)).collect(),
    )
    dates = [date(y, 1, 1) for y in range(2022, 2027)]
    _timed(
        "training_panel, 5 dates, frames (target ≤ 60 s)",
        lambda: training_panel(tables, dates, features=False, history=False).collect(),
    )
    # Every feature of every row is computed; the null-count reduction keeps memory flat (the
    # collected panel would be ~200 columns × 4 M rows). Writing it to parquet costs about as
    # much CPU again as computing it.
    _timed(
        "training_panel, 5 dates, + history + features (computed)",
        lambda: training_panel(tables, dates).select(pl.all().null_count()).collect(),
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
