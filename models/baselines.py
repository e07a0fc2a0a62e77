"""Baselines the learned scorer must beat, reported beside it in every backtest.

* **Rule score** (tier targets): rank firms by how close the official rules say they are to the
  tier — the engine's verdict first (met > undetermined > unmet), then the share of the tier's
  criteria met. This is what a district would do without a model.
* **Naive 四上 rule** (小进规 / 退规): distance to the roster line × recent growth. The projected
  figure is ``latest × (1 + growth)`` (growth clipped to [−50 %, +100 %]) over the line of the
  firm's 四上 group (spec §8, ``features.catalog.FOUR_ABOVE_LINES``); 小进规 ranks high
  projections first, 退规 low projections first.
* **Logistic regression** on the same features (signed log, median imputation with missing
  indicators, standardisation): a simple, well-understood learned baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import polars as pl
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

__all__ = ["four_above_line", "logistic_baseline", "naive_roster_score", "rule_scores"]


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def logistic_baseline(
    X: np.ndarray, y: np.ndarray, *, max_rows: int = 200_000, random_state: int = 0
) -> Pipeline:
    """Fit the logistic baseline (case-control sampled like the main model when large)."""
    rng = np.random.default_rng(random_state)
    y = np.asarray(y).astype(int)
    w = np.ones(len(y))
    if len(y) > max_rows:
        pos = y == 1
        rate = min(1.0, max(max_rows - pos.sum(), pos.sum()) / max((~pos).sum(), 1))
        keep = pos | (rng.random(len(y)) < rate)
        w = np.where(pos, 1.0, 1.0 / rate)[keep]
        X, y = X[keep], y[keep]
    model = make_pipeline(
        FunctionTransformer(_signed_log),
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(C=0.1, max_iter=500),
    )
    return model.fit(X, y, logisticregression__sample_weight=w)


def four_above_line(industry: pl.Expr = pl.col("industry")) -> tuple[pl.Expr, pl.Expr]:
    """(which figure, line in 万元) of the firm's 四上 group as expressions; null where no money line.

    The lines are ``features.catalog.FOUR_ABOVE_LINES`` (which a features test keeps equal to the
    ``four-above`` rule pack), most specific scope first: 4-digit class, then 2-digit division.
    建筑业 and 房地产 are qualification / activity based (no money line).

    >>> df = pl.DataFrame({"industry": ["3911", "5211", "6110", "4700"]})
    >>> fig, line = four_above_line()
    >>> df.select(fig.alias("f"), line.alias("l")).rows()
    [('main_revenue', 2000.0), ('main_revenue', 500.0), ('main_revenue', 200.0), (None, None)]
    """
    from features.catalog import FOUR_ABOVE_LINES
    from tiering.codes import industries

    figs: dict[str, str] = {}
    lines: dict[str, float] = {}
    for code, division in industries().select("code", "division").iter_rows():
        spec = FOUR_ABOVE_LINES.get(code) or FOUR_ABOVE_LINES.get(division)
        if spec:
            figs[code], lines[code] = spec
    fig = industry.replace_strict(figs, default=None, return_dtype=pl.String)
    line = industry.replace_strict(lines, default=None, return_dtype=pl.Float64)
    return fig, line


def naive_roster_score(frame: pl.DataFrame, target: str) -> np.ndarray:
    """Distance to the 四上 line × recent growth: higher = more likely (upsize or delist).

    Needs ``industry``, ``revenue_y1``, ``revenue_y2``, ``main_revenue_y1``, ``main_revenue_y2``.
    Firms without a money line or figure get the lowest score (NaN-free ranking).
    """
    if target not in ("upsize", "delist"):
        raise ValueError(f"naive roster rule is for upsize/delist, not {target!r}")
    fig, line = four_above_line()
    lf = frame.lazy().with_columns(fig.alias("_fig"), line.alias("_line"))
    latest = (
        pl.when(pl.col("_fig") == "main_revenue").then("main_revenue_y1").otherwise("revenue_y1")
    )
    prior = (
        pl.when(pl.col("_fig") == "main_revenue").then("main_revenue_y2").otherwise("revenue_y2")
    )
    growth = (latest / prior - 1).clip(-0.5, 1.0)
    growth = pl.when(growth.is_finite()).then(growth).otherwise(0.0)
    proj = (latest * (1 + growth) / pl.col("_line")).fill_nan(None)
    score = proj if target == "upsize" else -proj
    out = lf.select(score.fill_null(-1e9).alias("s")).collect()
    return out["s"].to_numpy()


_VERDICT_RANK = {"met": 2.0, "undetermined": 1.0, "unmet": 0.0}


def rule_scores(
    frame: pl.DataFrame, as_of: date, targets: Sequence[str], *, packs: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Rule-engine closeness to each tier target: verdict rank + share of its criteria met.

    One ``assess`` call serves every target. Raises ImportError while the rule engine (issue 2)
    is not installed.
    """
    from tiering.engine import assess  # issue 2

    result = assess(frame, as_of, packs=packs)
    tiers = result.tiers.lazy() if isinstance(result.tiers, pl.DataFrame) else result.tiers
    crit = result.criteria.lazy() if isinstance(result.criteria, pl.DataFrame) else result.criteria
    tiers = tiers.filter(pl.col("tier").is_in(list(targets)))
    verdict = tiers.group_by("uscc", "tier").agg(
        pl.col("verdict").replace_strict(_VERDICT_RANK, default=0.0, return_dtype=pl.Float64).max()
    )
    share = (
        crit.join(tiers.select("uscc", "pack", "tier"), on=["uscc", "pack"])
        .group_by("uscc", "tier")
        .agg((pl.col("status") == "met").mean().alias("share"))
    )
    score = (
        verdict.join(share, on=["uscc", "tier"], how="left")
        .select("uscc", "tier", (pl.col("verdict") + pl.col("share").fill_null(0.0)).alias("s"))
        .collect()
    )
    base = frame.select("uscc")
    out = {}
    for t in targets:
        s = base.join(
            score.filter(pl.col("tier") == t), on="uscc", how="left", maintain_order="left"
        )
        out[t] = s["s"].fill_null(0.0).to_numpy()
    return out
