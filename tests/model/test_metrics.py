"""Metrics: ECE, precision/recall at capacity, slices, calibration plots."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.metrics import (
    binary_metrics,
    calibration_plot,
    expected_calibration_error,
    precision_recall_at_k,
    scaled_k,
    slice_metrics,
)


@pytest.mark.parametrize(
    ("y", "p", "ece"),
    [
        ([0, 1], [0.0, 1.0], 0.0),  # perfect
        ([0, 0, 0, 0], [0.25] * 4, 0.25),  # over-confident by 0.25 everywhere
        ([1, 1], [1.0, 1.0], 0.0),  # p = 1.0 falls in the last bin
        ([1, 0, 0, 0], [0.05, 0.05, 0.95, 0.95], 0.7),  # 2/4·|0.5−0.05| + 2/4·|0−0.95|
    ],
)
def test_ece_known_values(y, p, ece):
    assert expected_calibration_error(np.array(y), np.array(p)) == pytest.approx(ece)


def test_ece_uses_ten_equal_width_bins():
    # 0.09 and 0.11 fall in different bins: no cancellation between them
    y = np.array([1, 0])
    p = np.array([0.09, 0.11])
    assert expected_calibration_error(y, p) == pytest.approx((0.91 + 0.11) / 2)


def test_precision_recall_at_k():
    y = np.array([1, 0, 1, 0, 0, 1])
    s = np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.05])
    assert precision_recall_at_k(y, s, 3) == pytest.approx((2 / 3, 2 / 3))
    assert precision_recall_at_k(y, s, 100) == pytest.approx((0.5, 1.0))


@pytest.mark.parametrize(
    ("k", "n", "out"), [(200, 1_000_000, 200), (1000, 50_000, 50), (200, 10, 1)]
)
def test_capacity_scaled_to_city_size(k, n, out):
    assert scaled_k(k, n) == out


def test_binary_metrics_for_a_ranking_score_has_no_brier():
    m = binary_metrics(np.array([0, 1, 0, 1]), np.array([-3.0, 5.0, 1.0, 2.0]), probabilistic=False)
    assert m["roc_auc"] == 1.0 and np.isnan(m["brier"]) and np.isnan(m["ece"])


def test_slices_by_district():
    df = pl.DataFrame(
        {"district": ["A", "A", "B", "B"], "y": [0, 1, 0, 0], "p": [0.1, 0.9, 0.2, 0.3]}
    )
    s = slice_metrics(df, "district")
    assert s["district"].to_list() == ["A", "B"]
    assert s["roc_auc"][0] == 1.0 and np.isnan(s["roc_auc"][1])
    assert s["positives"].to_list() == [1, 0]


def test_calibration_plot_is_a_png(tmp_path):
    rng = np.random.default_rng(0)
    p = rng.random(500)
    y = (rng.random(500) < p).astype(int)
    out = calibration_plot({"hgb": (y, p)}, tmp_path / "c.png", title="t")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
