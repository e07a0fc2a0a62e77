"""Training and evaluation jobs: input folder → panel → backtest → final models → MLflow.

Why a job module: the CLI, the notebook and the benchmark run the same steps in the same order,
and the pure steps (panel, backtest, fit) stay apart from the side effects (reading files,
logging to MLflow, registering models), which happen only here.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from models.backtest import DEFAULT_PARAMS, BacktestResult, backtest, train_all
from models.dataset import Panel, build_panel
from models.estimator import TierScorer
from models.targets import TARGETS

__all__ = ["TrainResult", "attach_metadata", "evaluate", "load_tables", "outcome_years", "train"]

log = logging.getLogger(__name__)
Tables = Mapping[str, pl.LazyFrame | pl.DataFrame]


def load_tables(data: Path | Tables) -> dict[str, pl.LazyFrame]:
    """The input tables of a folder (``<table>.parquet``), or the mapping given, as lazy frames."""
    if isinstance(data, Mapping):
        return {k: (v.lazy() if isinstance(v, pl.DataFrame) else v) for k, v in data.items()}
    root = Path(data)
    if not root.is_dir():
        raise FileNotFoundError(f"数据目录不存在：{root}")
    from data_contracts.tables import TABLES

    out = {
        name: pl.scan_parquet(root / f"{name}.parquet")
        for name in TABLES
        if (root / f"{name}.parquet").exists()
    }
    missing = [t for t in ("firms", "financials", "recognitions") if t not in out]
    if missing:
        raise FileNotFoundError(f"{root} 缺少输入表：{', '.join(f'{m}.parquet' for m in missing)}")
    return out


def outcome_years(tables: Tables, until: int | None = None) -> list[int]:
    """Target years with both a prior financial year (features) and recorded outcomes."""
    fin = tables["financials"].lazy().select(pl.col("year").min().alias("lo")).collect().item()
    rec = tables["recognitions"].lazy().select(pl.col("granted").max().dt.year()).collect().item()
    hi = rec
    if "stats_roster" in tables:
        ros = tables["stats_roster"].lazy().select(pl.col("year").max()).collect().item()
        hi = max(hi or 0, ros or 0)
    if fin is None or hi is None:
        raise ValueError("no financial years or no outcomes (recognitions / roster) in the input")
    if until is not None:
        hi = min(hi, until)
    return list(range(fin + 1, hi + 1))


def attach_metadata(model: TierScorer, target: str, panel: Panel) -> TierScorer:
    """Store target and the features' Chinese labels/units on the fitted model (for reasons)."""
    model.target_ = target
    model.feature_labels_ = {s.name: s.label for s in panel.specs}
    model.feature_units_ = {s.name: ("bool" if s.kind == "bool" else s.unit) for s in panel.specs}
    return model


@dataclass
class TrainResult:
    """What a training job produced."""

    models: dict[str, TierScorer]
    backtest: BacktestResult
    fingerprint: str
    run_id: str | None = None
    versions: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def evaluate(
    data: Path | Tables,
    *,
    until: int | None = None,
    targets: Sequence[str] = TARGETS,
    params: Mapping[str, Any] | None = None,
    plot_dir: Path | None = None,
) -> tuple[Panel, BacktestResult]:
    """Rolling backtest of the scorer and baselines on an input folder (nothing registered)."""
    tables = load_tables(data)
    panel = build_panel(tables, outcome_years(tables, until))
    return panel, backtest(panel, targets=targets, params=params, plot_dir=plot_dir)


def train(
    data: Path | Tables,
    *,
    until: int | None = None,
    targets: Sequence[str] = TARGETS,
    params: Mapping[str, Any] | None = None,
    tracking_uri: str | None = None,
    register: bool = True,
    run_backtest: bool = True,
) -> TrainResult:
    """Backtest, fit the final models (train ≤ until−1, calibrate on until), log and register.

    Registered versions get the alias ``challenger``; ``tiering models promote`` decides whether
    they become ``champion``.
    """
    from models.tracking import data_fingerprint, pack_versions

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    tables = load_tables(data)
    years = outcome_years(tables, until)
    panel = build_panel(tables, years, baselines=run_backtest)
    timings["panel_s"] = time.perf_counter() - t0
    log.info(
        "panel: %d rows × %d features, years %s", panel.frame.height, len(panel.features), years
    )
    fingerprint = data_fingerprint(panel.frame)
    with tempfile.TemporaryDirectory() as tmp:
        t1 = time.perf_counter()
        bt = (
            backtest(panel, targets=targets, params=params, plot_dir=Path(tmp))
            if run_backtest
            else BacktestResult(pl.DataFrame(), pl.DataFrame())
        )
        timings["backtest_s"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        skipped: dict[str, str] = {}
        fitted = train_all(panel, until=until, targets=targets, params=params, skipped=skipped)
        fitted = {t: attach_metadata(m, t, panel) for t, m in fitted.items()}
        timings["fit_s"] = time.perf_counter() - t2
        result = TrainResult(
            models=fitted, backtest=bt, fingerprint=fingerprint, timings=timings, skipped=skipped
        )
        if register:
            _log_and_register(result, panel, {**DEFAULT_PARAMS, **(params or {})}, tracking_uri,
                              pack_versions(date(max(years), 1, 1)), until)  # fmt: skip
    return result


def _log_and_register(
    result: TrainResult,
    panel: Panel,
    params: Mapping[str, Any],
    tracking_uri: str | None,
    packs: Mapping[str, str],
    until: int | None,
) -> None:
    import mlflow

    from models.registry import register
    from models.tracking import configure, log_training_run

    configure(tracking_uri)
    with mlflow.start_run(run_name=f"train-until-{until or max(panel.years)}") as run:
        log_training_run(
            params={
                **params,
                "until": until or max(panel.years),
                "years": panel.years,
                "rows": panel.frame.height,
                "targets": list(result.models),
            },
            metrics=result.backtest.metrics,
            features=panel.features,
            fingerprint=result.fingerprint,
            packs=packs,
            plots=result.backtest.plots,
            tables={"backtest_slices": result.backtest.slices}
            if result.backtest.slices.height
            else None,
        )
        for t, why in result.skipped.items():
            mlflow.set_tag(f"{t}.skipped", why)
        for t, m in result.models.items():
            mlflow.log_param(f"{t}.calibration", m.calibration_method_)
            mlflow.log_param(f"{t}.n_iter", m.n_iter_)
            result.versions[t] = int(register(m, t, backtest=result.backtest.metrics).version)
        result.run_id = run.info.run_id
