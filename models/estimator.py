"""The learned scorer: monotone gradient boosting, calibrated on a later held-out year.

Why this shape:

* ``HistGradientBoostingClassifier`` handles missing values natively (null means unknown, never
  zero), is fast on millions of rows and accepts **monotonic constraints**: where the direction is
  known (more R&D, more IP never lowers P(tier)) the model cannot learn the opposite from noise,
  which is both a fairness promise to firms and a guard against spurious splits.
* Positives are rare (hundreds of grants among a million firms), so training keeps every positive
  and a random share of negatives (case-control sampling, negatives re-weighted by 1/rate): the fit
  costs little and the probabilities stay unbiased before calibration.
* Probabilities are calibrated on a **later year** than the training years (time-only splits), with
  ``FrozenEstimator`` + ``CalibratedClassifierCV``. The method (isotonic or sigmoid) is chosen on
  the calibration year by the Brier score of cross-validated (out-of-fold) calibrated predictions;
  isotonic needs enough positives to be stable, so with fewer than ``min_isotonic_positives`` it is
  not tried.

The class follows scikit-learn's estimator contract: ``__init__`` stores its arguments verbatim,
everything learned lives in trailing-underscore attributes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

__all__ = ["CALIBRATION_METHODS", "TierScorer", "to_matrix"]

CALIBRATION_METHODS = ("auto", "isotonic", "sigmoid", "none")


def to_matrix(X: Any, columns: Sequence[str] | None = None) -> tuple[np.ndarray, list[str] | None]:
    """Turn a polars/pandas frame into a float64 matrix (+ its column names); arrays pass through.

    Frames are selected by ``columns`` when given, so extra columns (uscc, name, district, …) are
    ignored and column order never matters. Booleans become 0/1; nulls become NaN.

    >>> import polars as pl
    >>> m, names = to_matrix(pl.DataFrame({"b": [True, None], "a": [1.5, 2.0]}), ["a", "b"])
    >>> m.tolist(), names
    ([[1.5, 1.0], [2.0, nan]], ['a', 'b'])
    """
    mod = type(X).__module__
    if mod.startswith("polars"):
        import polars as pl

        if isinstance(X, pl.LazyFrame):
            X = X.collect()
        names = list(columns) if columns is not None else list(X.columns)
        missing = [c for c in names if c not in X.columns]
        if missing:
            raise ValueError(f"feature columns missing from the input frame: {missing}")
        sub = X.select([pl.col(c).cast(pl.Float64, strict=False) for c in names])
        return sub.to_numpy(), names
    if mod.startswith("pandas") and hasattr(X, "columns"):
        by_name = {str(c): c for c in X.columns}
        names = list(columns) if columns is not None else list(by_name)
        missing = [c for c in names if c not in by_name]
        if missing:
            raise ValueError(f"feature columns missing from the input frame: {missing}")
        return X[[by_name[c] for c in names]].astype("float64").to_numpy(), names
    return X, None


def _oof_brier(method: str, score: np.ndarray, hit: np.ndarray, cv: StratifiedKFold) -> float:
    """Brier score of out-of-fold calibrated probabilities (the cross-validated check).

    Works on the frozen model's log-odds, so the trees are evaluated once, not once per fold:
    ``sigmoid`` is a one-feature logistic fit (Platt scaling), ``isotonic`` a clipped isotonic fit.
    """
    oof = np.empty(len(hit))
    for fit_idx, val_idx in cv.split(score, hit):
        if method == "isotonic":
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            oof[val_idx] = iso.fit(score[fit_idx], hit[fit_idx]).predict(score[val_idx])
        else:
            lr = LogisticRegression(C=1e6).fit(score[fit_idx, None], hit[fit_idx])
            oof[val_idx] = lr.predict_proba(score[val_idx, None])[:, 1]
    return float(brier_score_loss(hit, oof))


class TierScorer(ClassifierMixin, BaseEstimator):
    """Monotone HistGradientBoosting + year-held-out calibration for one binary target.

    Parameters
    ----------
    monotonic : mapping feature name -> +1 / -1 (0 or absent = free). Requires named features.
    learning_rate, max_iter, max_leaf_nodes, min_samples_leaf, l2_regularization, early_stopping :
        passed to ``HistGradientBoostingClassifier``.
    max_train_rows : keep all positives and sample negatives so the training set has about this
        many rows (None = no sampling). Negatives are re-weighted by 1 / sampling rate.
    calibration : ``auto`` (choose isotonic or sigmoid on the calibration set), ``isotonic``,
        ``sigmoid`` or ``none``.
    calibration_folds : folds of the cross-validated check on the calibration set.
    min_isotonic_positives : isotonic is only considered with at least this many positives.
    random_state : seed of the sampling, the early-stopping split and the calibration folds.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 2)); y = (X[:, 0] + rng.normal(size=600) > 1).astype(int)
    >>> m = TierScorer(monotonic={"x0": 1}, max_iter=20).fit(X[:400], y[:400], X_cal=X[400:], y_cal=y[400:])
    >>> m.calibration_method_ in ("isotonic", "sigmoid"), m.predict_proba(X[:3]).shape
    (True, (3, 2))
    """

    def __init__(
        self,
        monotonic: Mapping[str, int] | None = None,
        *,
        learning_rate: float = 0.1,
        max_iter: int = 200,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 40,
        l2_regularization: float = 1.0,
        early_stopping: bool | str = "auto",
        max_train_rows: int | None = 400_000,
        calibration: str = "auto",
        calibration_folds: int = 5,
        min_isotonic_positives: int = 30,
        random_state: int | None = 0,
    ) -> None:
        self.monotonic = monotonic
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.early_stopping = early_stopping
        self.max_train_rows = max_train_rows
        self.calibration = calibration
        self.calibration_folds = calibration_folds
        self.min_isotonic_positives = min_isotonic_positives
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: np.ndarray | None = None,
        *,
        X_cal: Any = None,
        y_cal: Any = None,
    ) -> TierScorer:
        """Fit the boosted trees on (X, y); calibrate on (X_cal, y_cal) when given."""
        if self.calibration not in CALIBRATION_METHODS:
            raise ValueError(
                f"calibration={self.calibration!r}; expected one of {CALIBRATION_METHODS}"
            )
        Xm, names = to_matrix(X)
        Xm, y = validate_data(self, Xm, y, ensure_all_finite="allow-nan", dtype=np.float64)
        check_classification_targets(y)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"only one class ({self.classes_[0]!r}) in the training target: "
                "no positives in the training years, nothing to learn"
            )
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        self.feature_names_ = names or [f"x{i}" for i in range(self.n_features_in_)]
        cst = self._constraints(self.feature_names_)
        rng = np.random.default_rng(self.random_state)
        # A feature unknown for every training row carries no information; binning cannot handle
        # it, so it is held constant (never split on) — at prediction its value is then ignored.
        self.empty_features_ = (
            np.flatnonzero(np.isnan(Xm).all(axis=0)) if len(Xm) else np.array([], int)
        )
        if len(self.empty_features_):
            Xm = Xm.copy()
            Xm[:, self.empty_features_] = 0.0
        Xs, ys, ws = self._sample(Xm, y, sample_weight, rng)
        binary = len(self.classes_) == 2
        self.estimator_ = HistGradientBoostingClassifier(
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            early_stopping=self.early_stopping,
            monotonic_cst=cst if (binary and any(cst)) else None,
            random_state=self.random_state,
        ).fit(Xs, ys, sample_weight=ws)
        self.n_iter_ = self.estimator_.n_iter_
        self.monotonic_cst_ = np.asarray(cst, dtype=np.int8)
        self.reference_ = np.nan_to_num(np.nanmedian(np.where(np.isfinite(Xm), Xm, np.nan), axis=0))
        self.calibrator_ = None
        self.calibration_method_ = "none"
        self.calibration_scores_: dict[str, float] = {}
        if X_cal is not None and self.calibration != "none":
            self._calibrate(X_cal, y_cal)
        return self

    def _constraints(self, names: list[str]) -> list[int]:
        mono = dict(self.monotonic or {})
        unknown = sorted(set(mono) - set(names))
        if unknown:
            raise ValueError(f"monotonic constraints name unknown features: {unknown}")
        bad = {k: v for k, v in mono.items() if v not in (-1, 0, 1)}
        if bad:
            raise ValueError(f"monotonic directions must be -1, 0 or +1, got {bad}")
        return [int(mono.get(n, 0)) for n in names]

    def _sample(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray | None, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Case-control sampling: all positives, a share of negatives re-weighted by 1/rate."""
        n = len(y)
        self.negative_rate_ = 1.0
        if self.max_train_rows is None or n <= self.max_train_rows or len(self.classes_) != 2:
            return X, y, w
        pos = y == self.classes_[1]
        n_pos = int(pos.sum())
        n_neg = n - n_pos
        rate = min(1.0, max(self.max_train_rows - n_pos, n_pos) / max(n_neg, 1))
        keep = pos | (rng.random(n) < rate)
        self.negative_rate_ = rate
        weight = np.where(pos, 1.0, 1.0 / rate)
        if w is not None:
            weight = weight * np.asarray(w, dtype=float)
        return X[keep], y[keep], weight[keep]

    def _calibrate(self, X_cal: Any, y_cal: Any) -> None:
        is_frame = type(X_cal).__module__.startswith(("polars", "pandas"))
        Xc, _ = to_matrix(
            X_cal, list(self.feature_names_in_) if (self._named and is_frame) else None
        )
        Xc = check_array(Xc, ensure_all_finite="allow-nan", dtype=np.float64)
        yc = np.asarray(y_cal)
        n_pos = int((yc == self.classes_[-1]).sum())
        if len(np.unique(yc)) < 2 or n_pos < 2 or len(self.classes_) != 2:
            self.calibration_method_ = "none"  # nothing to calibrate against: raw probabilities
            return
        frozen = FrozenEstimator(self.estimator_)
        if self.calibration == "auto":
            methods = ["sigmoid"] + (["isotonic"] if n_pos >= self.min_isotonic_positives else [])
        else:
            methods = [self.calibration]
        folds = min(self.calibration_folds, n_pos, int((yc != self.classes_[-1]).sum()))
        if len(methods) > 1 and folds >= 2:
            hit = (yc == self.classes_[-1]).astype(int)
            score = self.estimator_.decision_function(Xc)
            cv = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            self.calibration_scores_ = {m: _oof_brier(m, score, hit, cv) for m in methods}
            best = min(self.calibration_scores_, key=self.calibration_scores_.__getitem__)
        else:
            best = methods[0]
        self.calibrator_ = CalibratedClassifierCV(frozen, method=best).fit(Xc, yc)
        self.calibration_method_ = best

    # -- prediction ------------------------------------------------------------------------
    @property
    def _named(self) -> bool:
        return hasattr(self, "feature_names_in_")

    def _matrix(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        is_frame = type(X).__module__.startswith(("polars", "pandas"))
        Xm, _ = to_matrix(X, list(self.feature_names_in_) if (self._named and is_frame) else None)
        Xm = check_array(Xm, ensure_all_finite="allow-nan", dtype=np.float64)
        if Xm.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {Xm.shape[1]} features, but TierScorer is expecting "
                f"{self.n_features_in_} features as input"
            )
        return Xm

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated class probabilities (raw boosted probabilities when uncalibrated)."""
        Xm = self._matrix(X)
        model = self.calibrator_ if self.calibrator_ is not None else self.estimator_
        return model.predict_proba(Xm)

    def decision_function(self, X: Any) -> np.ndarray:
        """Uncalibrated log-odds of the boosted trees (used for reasons: no flat isotonic steps)."""
        Xm = self._matrix(X)
        return self.estimator_.decision_function(Xm)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        """Declare that missing values are accepted (null means unknown)."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
