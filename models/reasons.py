"""Top reasons per firm, in Chinese: which inputs pushed the probability up or down.

Method (per-feature occlusion against a reference firm):

1. The reference value of each feature is its median over the training rows (stored in the
   scorer as ``reference_``) — "a typical firm".
2. For feature j, every firm's row is copied with feature j set to its reference value and the
   model's *uncalibrated* log-odds are recomputed. The effect of j is
   ``logit(firm) − logit(firm with j typical)``: positive = this input raised the firm's chance
   compared with a typical value, negative = lowered it. Log-odds are used because calibration
   (isotonic in particular) is monotone but flat in places; it never changes the sign.
3. The three inputs with the largest |effect| (non-zero) are the reasons, worded with the
   feature's Chinese label, the firm's value and the reference value.

It is vectorised over firms and features: the occluded copies of all firms for a block of features
are scored in one model evaluation (a feature never used by any tree has effect 0 and is skipped). Cost grows with firms × used features,
so the scorer explains the firms staff will look at (the top of each list), not necessarily all.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from models.estimator import TierScorer, to_matrix

__all__ = ["explain", "explain_frame", "format_value", "used_features"]

_BLOCK_ROWS = 200_000  # rows per occlusion block (~200 MB at 130 features)


def used_features(model: TierScorer) -> list[int]:
    """Indices of the features some tree of the boosted model splits on."""
    used: set[int] = set()
    for it in model.estimator_._predictors:
        for tree in it:
            nodes = tree.nodes
            used.update(int(i) for i in np.unique(nodes["feature_idx"][nodes["is_leaf"] == 0]))
    return sorted(used)


def format_value(v: float, unit: str = "") -> str:
    """Human form of a feature value for a reason text.

    >>> format_value(520.0, "万元"), format_value(0.034, "比例"), format_value(float("nan")), format_value(1.0, "bool")
    ('520万元', '3.4%', '缺失', '是')
    """
    if v is None or not np.isfinite(v):
        return "缺失"
    if unit == "bool":
        return "是" if v else "否"
    if unit == "比例":
        return f"{v * 100:.1f}%"
    txt = f"{v:,.2f}".rstrip("0").rstrip(".")
    return f"{txt}{unit}"


def explain(
    model: TierScorer,
    X: pl.DataFrame,
    *,
    labels: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    top: int = 3,
) -> tuple[list[list[str]], np.ndarray, np.ndarray]:
    """Reasons for each row of ``X`` (the model's feature columns).

    Returns ``(texts, feature_index, effect)``: per row a list of up to ``top`` Chinese texts,
    and the matrices (n × top) of feature indices (−1 = none) and log-odds effects behind them.
    """
    names = list(model.feature_names_)
    Xm, _ = to_matrix(X, names) if not isinstance(X, np.ndarray) else (X, None)
    n = len(Xm)
    labels = labels or {}
    units = units or {}
    base = model.estimator_.decision_function(Xm)
    used = used_features(model)
    effects = np.zeros((n, len(used)))
    ref = model.reference_
    # Occlusions are evaluated in blocks: the firms' rows are stacked once per feature of the
    # block (that feature set to its reference) and the trees run once per block, not once per
    # feature — far fewer predictor calls for many firms and a model using many features.
    per_block = max(1, _BLOCK_ROWS // max(n, 1))
    for start in range(0, len(used), per_block):
        block = used[start : start + per_block]
        stack = np.empty((len(block) * n, Xm.shape[1]), order="F")
        for k, j in enumerate(block):
            stack[k * n : (k + 1) * n] = Xm
            stack[k * n : (k + 1) * n, j] = ref[j]
        occluded = model.estimator_.decision_function(stack).reshape(len(block), n)
        for k, j in enumerate(block):
            differs = ~(Xm[:, j] == ref[j])
            effects[:, start + k] = np.where(differs, base - occluded[k], 0.0)
    order = np.argsort(-np.abs(effects), axis=1)[:, :top] if len(used) else np.zeros((n, 0), int)
    top_eff = np.take_along_axis(effects, order, axis=1) if len(used) else np.zeros((n, 0))
    used_arr = np.asarray(used, dtype=int)
    top_idx = np.where(np.abs(top_eff) > 1e-9, used_arr[order] if len(used) else order, -1)
    texts: list[list[str]] = []
    for i in range(n):
        row = []
        for j, e in zip(top_idx[i], top_eff[i], strict=True):
            if j < 0:
                continue
            name = names[j]
            lab = labels.get(name, name)
            unit = units.get(name, "")
            val = format_value(Xm[i, j], unit)
            ref = format_value(model.reference_[j], unit)
            verb = "推高" if e > 0 else "拉低"
            if unit == "bool":
                row.append(f"{lab}：{val}（一般企业：{ref}），{verb}了可能性")
            else:
                row.append(f"{lab}为{val}（一般企业约{ref}），{verb}了可能性")
        texts.append(row)
    return texts, top_idx, top_eff


def explain_frame(
    model: TierScorer,
    X: pl.DataFrame,
    labels: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    top: int = 3,
) -> pl.Series:
    """The reason texts of :func:`explain` as a ``list[str]`` polars Series."""
    texts, _, _ = explain(model, X, labels=labels, units=units, top=top)
    return pl.Series("reasons", texts, dtype=pl.List(pl.String))
