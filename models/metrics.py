"""Metrics a district can act on: ranking, calibration and capacity-limited precision/recall.

Why these: ROC-AUC and PR-AUC say how well the list is ordered (PR-AUC is the honest one when
positives are rare); Brier and the expected calibration error (ECE, 10 equal-width bins) say
whether "30 %" means 30 %; precision and recall at k say what staff get when they can visit only k
firms. Capacities are stated for the whole city (``CITY_FIRMS``) and scaled to the size of the
population scored, so a small simulated city is judged at the same *share* of firms.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

__all__ = [
    "CAPACITIES",
    "CITY_FIRMS",
    "binary_metrics",
    "calibration_plot",
    "expected_calibration_error",
    "precision_recall_at_k",
    "scaled_k",
    "slice_metrics",
]

CAPACITIES: tuple[int, ...] = (200, 500, 1000)
# Firms the nominal capacities refer to: the 1 M-firm city of the benchmark (roughly Wuhan's SMEs).
CITY_FIRMS = 1_000_000


def scaled_k(k: int, n_firms: int, city_firms: int = CITY_FIRMS) -> int:
    """Capacity ``k`` (stated for the whole city) scaled to a population of ``n_firms``.

    >>> scaled_k(200, 1_000_000), scaled_k(200, 20_000), scaled_k(200, 100)
    (200, 4, 1)
    """
    return max(1, round(k * n_firms / city_firms))


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """ECE with ``n_bins`` equal-width bins on [0, 1]: Σ (n_b / n) · |mean(y_b) − mean(p_b)|.

    The right edge 1.0 falls in the last bin.

    >>> expected_calibration_error(np.array([0, 1]), np.array([0.0, 1.0]))
    0.0
    >>> round(expected_calibration_error(np.array([0, 0, 1, 1]), np.array([0.5] * 4)), 3)
    0.0
    >>> round(expected_calibration_error(np.array([0, 0, 0, 0]), np.array([0.25] * 4)), 3)
    0.25
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if len(y) == 0:
        return float("nan")
    idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
    sum_p = np.bincount(idx, weights=p, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y, minlength=n_bins)
    return float(np.abs(sum_y - sum_p).sum() / len(y))


def precision_recall_at_k(y: np.ndarray, score: np.ndarray, k: int) -> tuple[float, float]:
    """Precision and recall of the top ``k`` firms by ``score`` (ties broken by position).

    >>> precision_recall_at_k(np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.1, 0.2]), 2)
    (0.5, 0.5)
    """
    y = np.asarray(y, dtype=float)
    k = min(k, len(y))
    if k == 0:
        return float("nan"), float("nan")
    top = np.argsort(-np.asarray(score, dtype=float), kind="stable")[:k]
    hits = float(y[top].sum())
    total = float(y.sum())
    return hits / k, (hits / total if total else float("nan"))


def binary_metrics(
    y: np.ndarray,
    p: np.ndarray,
    *,
    capacities: Sequence[int] = CAPACITIES,
    n_firms: int | None = None,
    city_firms: int = CITY_FIRMS,
    probabilistic: bool = True,
) -> dict[str, float]:
    """All metrics of one target on one test year.

    ``n_firms`` (the whole population scored, default ``len(y)``) scales the capacities.
    ``probabilistic=False`` marks a ranking score (e.g. a rule score): Brier and ECE are NaN.
    """
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    n = len(y)
    pos = int(y.sum())
    both = 0 < pos < n
    out: dict[str, float] = {
        "n": float(n),
        "positives": float(pos),
        "base_rate": pos / n if n else float("nan"),
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)) if probabilistic and n else float("nan"),
        "ece": expected_calibration_error(y, p) if probabilistic else float("nan"),
    }
    population = n if n_firms is None else n_firms
    for k in capacities:
        kk = scaled_k(k, population, city_firms)
        prec, rec = precision_recall_at_k(y, p, kk)
        out[f"precision_at_{k}"] = prec
        out[f"recall_at_{k}"] = rec
    return out


def slice_metrics(
    frame: pl.DataFrame,
    by: str,
    *,
    y: str = "y",
    p: str = "p",
    min_positives: int = 1,
) -> pl.DataFrame:
    """Per-slice (district, industry section…) n, positives, ROC-AUC, PR-AUC, Brier, mean p vs rate.

    Slices with fewer than ``min_positives`` positives get NaN ranking metrics (nothing to rank).
    """
    rows = []
    for key, part in frame.group_by(by, maintain_order=True):
        yy = part[y].cast(pl.Int64).to_numpy()
        pp = part[p].cast(pl.Float64).to_numpy()
        pos = int(yy.sum())
        ok = pos >= min_positives and pos < len(yy)
        rows.append(
            {
                by: key[0],
                "n": len(yy),
                "positives": pos,
                "rate": pos / len(yy),
                "mean_p": float(pp.mean()),
                "roc_auc": float(roc_auc_score(yy, pp)) if ok else math.nan,
                "pr_auc": float(average_precision_score(yy, pp)) if ok else math.nan,
                "brier": float(brier_score_loss(yy, pp)),
            }
        )
    return pl.DataFrame(rows).sort(by)


def calibration_plot(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    path: Path,
    *,
    title: str,
    n_bins: int = 10,
) -> Path:
    """Write a reliability diagram (one line per model) as a PNG; returns the path.

    Uses the non-interactive Agg backend: safe on servers and in tests.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect")
    for label, (y, p) in curves.items():
        y = np.asarray(y, dtype=float)
        p = np.asarray(p, dtype=float)
        idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
        count = np.bincount(idx, minlength=n_bins)
        mask = count > 0
        mean_p = np.bincount(idx, weights=p, minlength=n_bins)[mask] / count[mask]
        rate = np.bincount(idx, weights=y, minlength=n_bins)[mask] / count[mask]
        ece = expected_calibration_error(y, p, n_bins)
        ax.plot(mean_p, rate, marker="o", label=f"{label} (ECE {ece:.3f})")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
