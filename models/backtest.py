"""Time-only splits and the rolling backtest.

Why time only: a firm's 2023 snapshot and its 2024 snapshot are not independent, and staff use the
model on a year it has never seen. So for each test year T: train on target years ≤ T−2, calibrate
on T−1, test on T — and roll T over every year that leaves at least one training year. Random
splits would leak a firm's future into its past and flatter every metric.

The final model of ``train_all`` uses the same shape shifted to the latest year with outcomes:
train ≤ latest−1, calibrate on latest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from models.dataset import Panel
from models.estimator import TierScorer, to_matrix
from models.metrics import binary_metrics, calibration_plot, slice_metrics
from models.targets import TARGETS

__all__ = [
    "DEFAULT_PARAMS",
    "MIN_POSITIVES",
    "BacktestResult",
    "backtest",
    "fit_target",
    "split_years",
    "train_all",
]

DEFAULT_PARAMS: dict[str, Any] = {"max_iter": 200, "learning_rate": 0.1, "max_leaf_nodes": 31}
# Below this many positives in the training years a target is not modelled (rules only).
MIN_POSITIVES = 10


def split_years(years: Sequence[int]) -> list[tuple[list[int], int, int]]:
    """Rolling (train years, calibration year, test year) triples.

    >>> split_years([2019, 2020, 2021, 2022])
    [([2019], 2020, 2021), ([2019, 2020], 2021, 2022)]
    """
    ys = sorted(set(years))
    return [([y for y in ys if y <= t - 2], t - 1, t) for t in ys if t - 1 in ys and ys[0] <= t - 2]


def _xy(
    panel: Panel, target: str, years: Sequence[int]
) -> tuple[pl.DataFrame, pl.DataFrame, np.ndarray]:
    """At-risk rows, their feature columns (named, in model order) and the 0/1 outcome."""
    rows = panel.rows(target, years)
    return rows, rows.select(panel.features), rows[f"y_{target}"].to_numpy().astype(int)


def fit_target(
    panel: Panel,
    target: str,
    train_years: Sequence[int],
    cal_year: int | None,
    params: Mapping[str, Any] | None = None,
) -> TierScorer:
    """Fit one target's scorer on ``train_years``, calibrated on ``cal_year``.

    On large panels the case-control sampling of negatives is done here, on the polars rows,
    before any float matrix is built (same rule as the scorer's ``max_train_rows``: all positives,
    negatives at rate r weighted 1/r), so memory stays bounded at millions of firm-years.
    """
    model = TierScorer(monotonic=panel.monotonic(target), **{**DEFAULT_PARAMS, **(params or {})})
    rows = panel.rows(target, train_years)
    if rows.height == 0:
        raise ValueError(
            f"{target}: no at-risk rows with known outcome in years {list(train_years)}"
        )
    weight = None
    cap = model.max_train_rows
    if cap is not None and rows.height > cap:
        hit = pl.col(f"y_{target}") == 1
        n_pos = int(rows.select(hit.sum()).item())
        rate = min(1.0, max(cap - n_pos, n_pos) / max(rows.height - n_pos, 1))
        u = np.random.default_rng(model.random_state).random(rows.height)
        rows = rows.with_columns(pl.Series("_u", u)).filter(hit | (pl.col("_u") < rate))
        weight = np.where(rows[f"y_{target}"].to_numpy() == 1, 1.0, 1.0 / rate)
    X, y = rows.select(panel.features), rows[f"y_{target}"].to_numpy().astype(int)
    Xc, yc = (None, None)
    if cal_year is not None:
        _, Xc, yc = _xy(panel, target, [cal_year])
    return model.fit(X, y, sample_weight=weight, X_cal=Xc, y_cal=yc)


def train_all(
    panel: Panel,
    *,
    until: int | None = None,
    targets: Sequence[str] = TARGETS,
    params: Mapping[str, Any] | None = None,
    skipped: dict[str, str] | None = None,
) -> dict[str, TierScorer]:
    """Final models: train on years ≤ until−1, calibrate on ``until`` (default: latest year).

    A target with fewer than ``MIN_POSITIVES`` positives in its training years is not modelled;
    the reason is written to ``skipped`` (the batch then reports it as rules-only).
    """
    out: dict[str, TierScorer] = {}
    for t in targets:
        rows = panel.rows(t, panel.years)
        if until is not None:
            rows = rows.filter(pl.col("year") <= until)
        years = sorted(set(rows["year"].to_list()))
        n_pos = rows.filter(pl.col("year").is_in(years[:-1]))[f"y_{t}"].sum() if years else 0
        if len(years) < 2 or n_pos < MIN_POSITIVES:
            why = f"训练年份 {years[:-1]} 正样本 {n_pos} 个（至少需 {MIN_POSITIVES} 个，且需另一年校准）"
            if skipped is not None:
                skipped[t] = why
            continue
        out[t] = fit_target(panel, t, years[:-1], years[-1], params)
    return out


@dataclass
class BacktestResult:
    """Per target × test year × model metrics, slices of the scorer and calibration plots."""

    metrics: pl.DataFrame
    slices: pl.DataFrame
    plots: list[Path] = field(default_factory=list)

    def latest(self, model: str = "hgb") -> pl.DataFrame:
        """Metrics of ``model`` on each target's latest test year."""
        m = self.metrics.filter(pl.col("model") == model)
        return m.filter(pl.col("year") == pl.col("year").max().over("target")).sort("target")


def backtest(
    panel: Panel,
    *,
    targets: Sequence[str] = TARGETS,
    params: Mapping[str, Any] | None = None,
    plot_dir: Path | None = None,
    city_firms: int | None = None,
) -> BacktestResult:
    """Rolling backtest of the scorer and its baselines over every available test year."""
    from models.baselines import logistic_baseline

    rows: list[dict[str, Any]] = []
    slices: list[pl.DataFrame] = []
    plots: list[Path] = []
    for t in targets:
        years = sorted(set(panel.rows(t, panel.years)["year"].to_list()))
        for train_years, cal, test in split_years(years):
            test_rows, Xt, yt = _xy(panel, t, [test])
            _, Xtr, ytr = _xy(panel, t, train_years)
            if ytr.sum() < MIN_POSITIVES or len(yt) == 0:
                continue
            n_firms = panel.frame.filter(pl.col("year") == test).height
            kw = {"n_firms": n_firms} | ({"city_firms": city_firms} if city_firms else {})
            model = fit_target(panel, t, train_years, cal, params)
            p = model.predict_proba(Xt)[:, 1]
            scores = {"hgb": (p, True)}
            Xtr_m, Xt_m = to_matrix(Xtr)[0], to_matrix(Xt)[0]
            scores["logistic"] = (logistic_baseline(Xtr_m, ytr).predict_proba(Xt_m)[:, 1], True)
            rule = test_rows[f"rule_{t}"] if f"rule_{t}" in test_rows.columns else None
            if rule is not None and rule.null_count() < len(rule):
                scores["rule"] = (rule.fill_null(-1e9).to_numpy(), False)
            for name, (s, prob) in scores.items():
                m = binary_metrics(yt, s, probabilistic=prob, **kw)
                rows.append({"target": t, "year": test, "model": name, **m})
            rows[-len(scores)]["calibration"] = model.calibration_method_
            sl = test_rows.select(*[c for c in ("district", "section") if c in test_rows.columns])
            sl = sl.with_columns(y=pl.Series(yt), p=pl.Series(p))
            for by in ("district", "section"):
                if by in sl.columns:
                    slices.append(
                        slice_metrics(sl, by)
                        .rename({by: "slice"})
                        .with_columns(
                            pl.lit(t).alias("target"),
                            pl.lit(test).alias("year"),
                            pl.lit(by).alias("by"),
                        )
                    )
            if plot_dir is not None:
                curves = {k: (yt, v[0]) for k, v in scores.items() if v[1]}
                plots.append(
                    calibration_plot(
                        curves, Path(plot_dir) / f"calibration_{t}_{test}.png", title=f"{t} {test}"
                    )
                )
    metrics = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
    sl = pl.concat(slices, how="diagonal_relaxed") if slices else pl.DataFrame()
    return BacktestResult(metrics=metrics, slices=sl, plots=plots)
