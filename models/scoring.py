"""Serving: load the ``champion`` models once, score firms, explain the top of each list.

The batch (issue 7) and the API (issue 8) call :func:`load_champions` at start-up (or the cached
:func:`predict`). With no registered champion at all, :func:`load_champions` returns ``None`` and
:func:`predict` returns ``None``: the service then runs the rules only and says so
(``NO_MODEL_NOTE``). Each champion's SHA-256 is checked when it is loaded (``models.registry``).

Output of ``predict``: one row per input firm, in input order, with ``p_<target>`` (calibrated
probability of the event during the assessment year; null where the firm is not at risk — it
already holds the title, or is already on / off the 四上 roster) and ``reasons_<target>`` (up to
three Chinese reasons; computed for the ``reasons_top`` most likely firms of each target, empty
for the others). ``champion`` (单项冠军) is never scored: rules only (``RULES_ONLY_NOTE``).

Train/serve skew guard: models are trained on frames built with ``history=True`` (Y−2…Y−4 figures
behind features such as ``revenue_trend_4y``). A scoring frame without those history columns would
silently read them as unknown, so :meth:`Champions.predict` refuses it (``MissingHistoryError``)
unless the input ``tables`` are passed (the history is then computed exactly as in training) or the
caller opts in with ``missing_history="unknown"`` (a hand-edited what-if row has no history).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np
import polars as pl

from models.estimator import TierScorer
from models.reasons import explain
from models.targets import RULES_ONLY_NOTE, TARGETS, TIER_TARGETS
from tiering.errors import TieringError

__all__ = [
    "NO_MODEL_NOTE",
    "Champions",
    "MissingHistoryError",
    "at_risk_mask",
    "history_features",
    "load_champions",
    "predict",
    "score_matrix",
]

log = logging.getLogger(__name__)
NO_MODEL_NOTE = "未登记冠军模型：仅按规则判定，不输出概率。"


class MissingHistoryError(TieringError):
    """The scoring frame lacks history columns the models were trained on (train/serve skew)."""


def history_features(names: Sequence[str]) -> list[str]:
    """The features of ``names`` that need history columns (``features.catalog`` ``needs_history``)."""
    try:
        from features.catalog import CATALOG
    except ImportError:
        return []
    return [n for n in names if n in CATALOG and CATALOG[n].needs_history]


def _history_columns() -> tuple[str, ...]:
    try:
        from features.asof import HISTORY_COLUMNS
    except ImportError:
        return ()
    return tuple(HISTORY_COLUMNS)


def at_risk_mask(frame: pl.DataFrame, target: str) -> np.ndarray:
    """Which firms can have the event: tier not held / not on the roster / on the roster.

    An unknown roster status (null) is not at risk for 小进规 or 退规 (no probability is given).
    """
    if target in TIER_TARGETS:
        col = f"held_{target}"
        held = frame[col].cast(pl.Boolean).fill_null(False) if col in frame.columns else None
        return np.ones(frame.height, bool) if held is None else ~held.to_numpy()
    roster = frame["in_four_above"].cast(pl.Boolean) if "in_four_above" in frame.columns else None
    if roster is None:
        return np.zeros(frame.height, bool)
    return (roster == (target == "delist")).fill_null(False).to_numpy()


def score_matrix(feats: pl.DataFrame, names: Sequence[str], used: set[str]) -> np.ndarray:
    """The column-major float64 matrix the trees read; columns no tree splits on stay NaN.

    Why: the tree predictor runs ~3x faster on a column-major matrix, and a feature no tree uses
    cannot change a prediction or a reason (reasons occlude used features only), so converting
    it from polars would be wasted work — typically half the catalogue.
    """
    missing = [c for c in names if c in used and c not in feats.columns]
    if missing:
        raise ValueError(f"feature columns missing from the input frame: {missing}")
    X = np.full((feats.height, len(names)), np.nan, order="F")
    for j, c in enumerate(names):
        if c in used:
            col = feats[c].cast(pl.Float64, strict=False)
            X[:, j] = col.to_numpy() if col.null_count() == 0 else col.fill_null(np.nan).to_numpy()
    return X


def _reason_column(name: str, n: int, idx: np.ndarray, rows: list[list[str]]) -> pl.Series:
    """A ``list[str]`` column of length ``n``: ``rows`` at positions ``idx``, empty lists elsewhere.

    Built column-wise (no per-firm Python objects for the unexplained majority).
    """
    empty = pl.lit([], dtype=pl.List(pl.String))
    base = pl.select(pl.int_range(n, dtype=pl.Int64).alias("i"))
    if len(idx):
        got = pl.DataFrame(
            {"i": pl.Series(idx, dtype=pl.Int64), "r": pl.Series(rows, dtype=pl.List(pl.String))}
        )
        base = base.join(got, on="i", how="left", maintain_order="left")
        return base.select(pl.col("r").fill_null(empty).alias(name)).to_series()
    return base.select(pl.repeat(empty, n).alias(name)).to_series()


@dataclass
class Champions:
    """The loaded champion models (target → model) and their registry versions."""

    models: dict[str, TierScorer]
    versions: dict[str, int] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def predict(
        self,
        frame: pl.DataFrame | pl.LazyFrame,
        *,
        as_of: date | None = None,
        tables: Mapping[str, pl.DataFrame | pl.LazyFrame] | None = None,
        reasons: bool = True,
        reasons_top: int | None = 5000,
        missing_history: Literal["raise", "unknown"] = "raise",
    ) -> pl.DataFrame:
        """Per-firm ``p_<target>`` and ``reasons_<target>`` for a §11 frame (or model features).

        ``as_of`` (default: the frame's ``as_of`` column) dates the feature computation. The
        models read history features; give them one of: a frame built with
        ``assessment_frame(tables, as_of, history=True)`` (cheapest), or the input ``tables``
        (the history columns are then joined from them), or ``missing_history="unknown"`` to
        accept them as unknown (what-if rows; the probabilities then differ from training's).
        Otherwise :class:`MissingHistoryError` is raised rather than scoring with a skew.
        """
        df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
        if missing_history not in ("raise", "unknown"):
            raise ValueError(f"missing_history={missing_history!r}; expected 'raise' or 'unknown'")
        if tables is None and missing_history == "raise":
            self.check_history(df)
        feats = self._features(df, as_of, tables)
        out: dict[str, Any] = {"uscc": df["uscc"]}
        matrices: dict[tuple[str, ...], np.ndarray] = {}
        for t in TARGETS:
            model = self.models.get(t)
            if model is None:
                out[f"p_{t}"] = pl.Series(f"p_{t}", [None] * df.height, dtype=pl.Float64)
                out[f"reasons_{t}"] = _reason_column(
                    f"reasons_{t}", df.height, np.array([], int), []
                )
                continue
            key = tuple(model.feature_names_)
            if key not in matrices:  # one float matrix per feature list, shared by the targets
                matrices[key] = score_matrix(feats, key, self._used(key))
            X = matrices[key]
            risk = at_risk_mask(df, t)
            p = np.full(df.height, np.nan)
            if risk.mean() > 0.5:
                # most firms at risk: score all and mask (a row subset would copy the matrix and
                # lose its column-major layout, on which the tree predictor runs ~3x faster)
                p = model.predict_proba(X)[:, 1]
                p[~risk] = np.nan
            elif risk.any():
                p[risk] = model.predict_proba(np.asfortranarray(X[risk]))[:, 1]
            idx, rows = np.array([], int), []
            if reasons and risk.any():
                idx = np.flatnonzero(risk)
                if reasons_top is not None and len(idx) > reasons_top:
                    idx = idx[np.argsort(-p[idx], kind="stable")[:reasons_top]]
                rows, _, _ = explain(
                    model,
                    X[idx],
                    labels=getattr(model, "feature_labels_", None),
                    units=getattr(model, "feature_units_", None),
                )
            out[f"p_{t}"] = pl.Series(f"p_{t}", p, dtype=pl.Float64).fill_nan(None)
            out[f"reasons_{t}"] = _reason_column(f"reasons_{t}", df.height, idx, rows)
        return pl.DataFrame(out)

    def _used(self, names: tuple[str, ...]) -> set[str]:
        """Features of ``names`` that some tree of a model with that feature list splits on."""
        from models.reasons import used_features

        used: set[str] = set()
        for m in self.models.values():
            if tuple(m.feature_names_) == names:
                used.update(names[j] for j in used_features(m))
        return used

    def check_history(self, df: pl.DataFrame) -> None:
        """Raise :class:`MissingHistoryError` if the history the models were trained on is absent.

        A §11 frame must carry the raw history columns (``HISTORY_COLUMNS``). A frame of
        precomputed model features is accepted unless every history feature the models read is
        null in every row — the mark of features computed without history.
        """
        uses = sorted({f for m in self.models.values() for f in history_features(m.feature_names_)})
        cols = set(df.columns)
        missing = [c for c in _history_columns() if c not in cols]
        precomputed = set(uses) <= cols
        if precomputed and (df.height == 0 or any(df[f].null_count() < df.height for f in uses)):
            return
        if uses and missing:
            raise MissingHistoryError(
                "评分帧缺少模型训练时使用的历史列（"
                + "、".join(missing[:4])
                + (" 等" if len(missing) > 4 else "")
                + f"，影响特征 {'、'.join(uses[:3])} 等）：请用 assessment_frame(tables, as_of, "
                "history=True) 构建评分帧，或传入 tables=原始表；what-if 单行可显式传 "
                'missing_history="unknown"（历史特征按未知处理）',
                field=missing[0],
                rule="MODEL-HISTORY",
            )

    def _features(
        self,
        df: pl.DataFrame,
        as_of: date | None,
        tables: Mapping[str, pl.DataFrame | pl.LazyFrame] | None,
    ) -> pl.DataFrame:
        needed = {n for m in self.models.values() for n in m.feature_names_}
        if needed <= set(df.columns):
            return df
        from models.dataset import model_frame

        if as_of is None:
            if "as_of" not in df.columns:
                raise ValueError("需要评估日期：帧中无 as_of 列且未给出 as_of 参数")
            as_of = df["as_of"].max()
        return model_frame(df, as_of, tables).collect()


def load_champions(
    tracking_uri: str | None = None, targets: Sequence[str] = TARGETS
) -> Champions | None:
    """Load every target's ``champion`` (SHA-256 checked); None if no target has one."""
    from mlflow.exceptions import MlflowException

    from models.registry import CHAMPION, load_model
    from models.tracking import configure

    configure(tracking_uri)
    models: dict[str, TierScorer] = {}
    versions: dict[str, int] = {}
    notes: dict[str, str] = {"champion": RULES_ONLY_NOTE}
    for t in targets:
        try:
            m, mv = load_model(t, CHAMPION)
        except MlflowException:
            notes[t] = f"{t} 无冠军模型，仅按规则判定"
            continue
        models[t], versions[t] = m, int(mv.version)
    if not models:
        log.info("no champion model registered: rules only")
        return None
    log.info("champions loaded: %s", versions)
    return Champions(models=models, versions=versions, notes=notes)


@functools.cache
def _cached(tracking_uri: str | None) -> Champions | None:
    return load_champions(tracking_uri)


def predict(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    as_of: date | None = None,
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame] | None = None,
    tracking_uri: str | None = None,
    reasons: bool = True,
    reasons_top: int | None = 5000,
    missing_history: Literal["raise", "unknown"] = "raise",
) -> pl.DataFrame | None:
    """Score with the champions loaded once per process; None when no model is registered."""
    champions = _cached(tracking_uri)
    if champions is None:
        return None
    return champions.predict(
        frame,
        as_of=as_of,
        tables=tables,
        reasons=reasons,
        reasons_top=reasons_top,
        missing_history=missing_history,
    )
