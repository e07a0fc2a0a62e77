"""The scorer follows scikit-learn's contract, respects its constraints and calibrates."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from models.estimator import TierScorer
from models.metrics import expected_calibration_error

# scikit-learn's own checks, minus ``check_array_api_input``: TierScorer does not claim array-API
# support, and that check only skips itself (SCIPY_ARRAY_API unset) — a skip would be noise.
_CHECKS = parametrize_with_checks([TierScorer(max_iter=5, calibration="none")])
_PARAMS = [p for p in _CHECKS.args[1] if "check_array_api_input" not in repr(p[1])]


@pytest.mark.parametrize(_CHECKS.args[0], _PARAMS, **_CHECKS.kwargs)
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_init_stores_arguments_verbatim():
    mono = {"a": 1}
    m = TierScorer(mono, max_iter=7, calibration="isotonic")
    assert m.monotonic is mono
    assert m.get_params()["max_iter"] == 7
    assert not [k for k in vars(m) if k.endswith("_")]


@pytest.mark.parametrize(
    ("mono", "message"),
    [({"nope": 1}, "unknown features"), ({"x0": 2}, "must be -1, 0 or \\+1")],
)
def test_bad_constraints_are_named(mono, message):
    X = np.random.default_rng(0).normal(size=(50, 2))
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match=message):
        TierScorer(mono, max_iter=3).fit(X, y)


def test_single_class_training_is_refused_with_reason():
    X = np.zeros((20, 2))
    with pytest.raises(ValueError, match="no positives"):
        TierScorer(max_iter=3).fit(X, np.zeros(20, int))


def test_all_unknown_feature_does_not_break_fit():
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(size=300), np.full(300, np.nan)])
    y = (X[:, 0] + rng.normal(size=300) > 0.5).astype(int)
    m = TierScorer(max_iter=5).fit(X, y)
    assert m.empty_features_.tolist() == [1]
    assert np.isfinite(m.predict_proba(X)).all()


def test_case_control_sampling_keeps_probabilities_unbiased():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(20_000, 1))
    y = (rng.random(20_000) < 1 / (1 + np.exp(-(X[:, 0] * 1.5 - 4)))).astype(int)
    full = TierScorer(max_iter=40, max_train_rows=None, calibration="none").fit(X, y)
    sampled = TierScorer(max_iter=40, max_train_rows=3000, calibration="none").fit(X, y)
    assert sampled.negative_rate_ < 0.2
    assert abs(sampled.predict_proba(X)[:, 1].mean() - y.mean()) < 0.3 * y.mean()
    assert abs(full.predict_proba(X)[:, 1].mean() - sampled.predict_proba(X)[:, 1].mean()) < 0.01


def _miscalibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A later year whose base rate is three times the training years' (drift to calibrate)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    logit = 1.2 * X[:, 0] - 3.0 + (1.1 if seed else 0.0)
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def test_calibration_on_a_later_year_reduces_ece():
    X, y = _miscalibrated(6000, 0)
    Xc, yc = _miscalibrated(4000, 1)
    Xt, yt = _miscalibrated(4000, 2)
    raw = TierScorer(max_iter=30, calibration="none").fit(X, y)
    cal = TierScorer(max_iter=30, calibration="auto").fit(X, y, X_cal=Xc, y_cal=yc)
    assert cal.calibration_method_ in ("isotonic", "sigmoid")
    assert set(cal.calibration_scores_) == {"isotonic", "sigmoid"}
    chosen = min(cal.calibration_scores_, key=cal.calibration_scores_.get)
    assert cal.calibration_method_ == chosen
    ece_raw = expected_calibration_error(yt, raw.predict_proba(Xt)[:, 1])
    ece_cal = expected_calibration_error(yt, cal.predict_proba(Xt)[:, 1])
    assert ece_cal < ece_raw / 2


def test_isotonic_not_tried_with_few_positives():
    X, y = _miscalibrated(3000, 0)
    Xc, yc = _miscalibrated(400, 1)
    keep = np.flatnonzero(yc == 1)[:8]
    mask = (yc == 0) | np.isin(np.arange(len(yc)), keep)
    m = TierScorer(max_iter=10).fit(X, y, X_cal=Xc[mask], y_cal=yc[mask])
    assert m.calibration_method_ == "sigmoid"
    assert "isotonic" not in m.calibration_scores_


def test_calibration_year_without_positives_leaves_raw_probabilities():
    X, y = _miscalibrated(2000, 0)
    m = TierScorer(max_iter=10).fit(X, y, X_cal=X[:100], y_cal=np.zeros(100, int))
    assert m.calibration_method_ == "none"
    assert m.calibrator_ is None
