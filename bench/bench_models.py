"""Speed of the learned scorer: training all targets on 1,000,000 firms × 5 years (≤ 10 min) and
predicting 1,000,000 firms (≤ 10 s).

The panel is synthetic but shaped like the real one: every feature of ``features.catalog`` (same
names, monotone directions), 5 % unknowns, heavy-tailed values, and base rates like the city's
(hundreds of new titles a year, ~2 % of firms on the 四上 roster). Building the panel from raw
tables is the features bench's job; this one times the models: case-control sampling, monotone
boosting, calibration on the held-out year, and scoring with reasons for the top of each list.

Run: ``.venv/bin/python -m bench.bench_models [--firms N] [--years Y]`` (also part of ``make bench``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl

from models.dataset import FeatureSpec, Panel, feature_specs
from models.targets import TARGETS, TIER_TARGETS

# Positive rates among the at-risk firms, per year (city scale).
RATES = {
    "innovative": 1e-3,
    "specialized": 4e-4,
    "little_giant": 6e-5,
    "upsize": 3e-3,
    "delist": 0.08,
}


def synthetic_panel(n_firms: int, years: int, seed: int = 0) -> Panel:
    """A model-ready panel with the catalogue's features and realistic base rates."""
    specs: list[FeatureSpec] = feature_specs()
    names = [s.name for s in specs]
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 1, (3, len(names))).astype(np.float32)
    latent = rng.normal(0, 1, (n_firms, 3)).astype(np.float32)  # size, innovation, health
    parts = []
    for k in range(years):
        latent += rng.normal(0, 0.2, latent.shape).astype(np.float32)
        X = latent @ w + rng.normal(0, 0.5, (n_firms, len(names))).astype(np.float32)
        X[rng.random(X.shape, dtype=np.float32) < 0.05] = np.nan
        cols = {n: X[:, j] for j, n in enumerate(names)}
        size, innov, health = latent[:, 0], latent[:, 1], latent[:, 2]
        roster = size > 2.05  # ~2 % of firms
        frame = {
            "uscc": np.char.add("F", np.arange(n_firms).astype(str)),
            "district": rng.choice(["420102", "420103", "420106", "420111", "420115"], n_firms),
            "section": rng.choice(["C", "F", "I", "M"], n_firms),
            "year": np.full(n_firms, 2020 + k, np.int32),
        }
        for t in TARGETS:
            at_risk = (
                roster if t == "delist" else (~roster if t == "upsize" else np.ones(n_firms, bool))
            )
            drive = {"upsize": size, "delist": -health - size}.get(t, innov + 0.5 * size)
            base = np.log(RATES[t] / (1 - RATES[t]))
            p = 1 / (1 + np.exp(-(base + 1.2 * drive - 0.72)))
            hit = (rng.random(n_firms) < p).astype(np.int8)
            frame[f"at_risk_{t}"] = at_risk
            frame[f"y_{t}"] = pl.Series(hit).set(pl.Series(~at_risk), None)
        held = {f"held_{t}": (rng.random(n_firms) < 0.01).astype(np.float32) for t in TIER_TARGETS}
        for t in TIER_TARGETS:
            frame[f"at_risk_{t}"] = held[f"held_{t}"] == 0
            frame[f"y_{t}"] = frame[f"y_{t}"].set(pl.Series(held[f"held_{t}"] == 1), None)
        cols.update(held, in_four_above=roster.astype(np.float32))
        parts.append(pl.DataFrame({**frame, **cols}))
    return Panel(frame=pl.concat(parts), features=tuple(names), specs=tuple(specs))


def main(argv: list[str] | None = None) -> None:
    from models.backtest import train_all
    from models.scoring import Champions

    ap = argparse.ArgumentParser(prog="bench_models")
    ap.add_argument("--firms", type=int, default=1_000_000)
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="OpenMP threads (default: all cores)")
    args, _ = ap.parse_known_args(argv)
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    t0 = time.perf_counter()
    panel = synthetic_panel(args.firms, args.years)
    t_panel = time.perf_counter() - t0
    print(f"panel: {panel.frame.height:,} firm-years × {len(panel.features)} features "
          f"({panel.frame.estimated_size('gb'):.1f} GB) built in {t_panel:.1f} s", flush=True)  # fmt: skip
    positives = {t: int(panel.frame[f"y_{t}"].sum()) for t in TARGETS}
    print(f"positives over {args.years} years: {positives}", flush=True)

    t1 = time.perf_counter()
    skipped: dict[str, str] = {}
    models = train_all(panel, skipped=skipped)
    t_train = time.perf_counter() - t1
    detail = {t: f"{m.n_iter_} it, {m.calibration_method_}" for t, m in models.items()}
    print(
        f"train all targets: {t_train:.1f} s (target ≤ 600 s) {detail} skipped={list(skipped)}",
        flush=True,
    )

    latest = panel.frame.filter(pl.col("year") == panel.frame["year"].max())
    champs = Champions(models=models)
    champs.predict(latest.head(1000))  # warm-up: first-call overheads are not per-firm costs
    from threadpoolctl import threadpool_limits

    for threads in (1, 2):
        with threadpool_limits(threads):
            t2 = time.perf_counter()
            out = champs.predict(latest, reasons=False)
            t_pred = time.perf_counter() - t2
            t3 = time.perf_counter()
            out = champs.predict(latest, reasons_top=2000)
            t_reasons = time.perf_counter() - t3
        print(f"predict {out.height:,} firms × {len(models)} targets, {threads} thread(s): "
              f"{t_pred:.1f} s (target ≤ 10 s); with reasons for the top 2,000 per target: "
              f"{t_reasons:.1f} s", flush=True)  # fmt: skip
    for t in TIER_TARGETS:
        assert out[f"p_{t}"].null_count() < out.height or t not in models


if __name__ == "__main__":
    main()
