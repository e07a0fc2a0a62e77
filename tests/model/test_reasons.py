"""Reasons: Chinese, at most three, signs that agree with the model's direction."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.backtest import fit_target
from models.reasons import explain, format_value, used_features
from tests.model.conftest import LABELS


@pytest.fixture(scope="module")
def model(panel, fast_params):
    return fit_target(panel, "little_giant", [2020, 2021], 2022, fast_params)


def test_top_three_reasons_in_chinese_with_labels(model, panel):
    X = panel.frame.filter(pl.col("year") == 2023).head(50).select(model.feature_names_)
    labels = {k: v[0] for k, v in LABELS.items()}
    units = {k: v[1] for k, v in LABELS.items()}
    texts, _, eff = explain(model, X, labels=labels, units=units)
    assert len(texts) == 50
    assert all(len(t) <= 3 for t in texts)
    assert any(len(t) == 3 for t in texts)
    first = next(t for t in texts if t)[0]
    assert ("推高" in first or "拉低" in first) and any(lab in first for lab in labels.values())
    # ordered by absolute effect, and the sign of the text follows the effect
    assert (np.abs(eff[:, 0]) >= np.abs(eff[:, 1]) - 1e-12).all()
    for row_t, row_e in zip(texts, eff, strict=True):
        for txt, e in zip(row_t, row_e, strict=False):
            assert ("推高" in txt) == (e > 0)


def test_high_rd_is_a_reason_that_raises_the_chance(model, panel):
    row = panel.frame.filter(pl.col("year") == 2023).head(1).select(model.feature_names_)
    row = row.with_columns(pl.lit(5000.0).alias("rd_expense_y1"), pl.lit(15.0).alias("class1_ip"))
    _, idx, eff = explain(
        model, row, labels={"rd_expense_y1": "上年研发费用", "class1_ip": "Ⅰ类知识产权"}
    )
    names = [model.feature_names_[j] for j in idx[0] if j >= 0]
    assert {"rd_expense_y1", "class1_ip"} & set(names)
    for j, e in zip(idx[0], eff[0], strict=True):
        if j >= 0 and model.feature_names_[j] in ("rd_expense_y1", "class1_ip"):
            assert e > 0


def test_typical_firm_has_no_reasons(model):
    ref = pl.DataFrame([model.reference_], schema=model.feature_names_, orient="row")
    texts, idx, _ = explain(model, ref)
    assert texts == [[]]
    assert (idx == -1).all()


def test_only_features_used_by_trees_are_occluded(model):
    used = used_features(model)
    assert used and all(0 <= j < model.n_features_in_ for j in used)


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (1234.5, "万元", "1,234.5万元"),
        (0.0312, "比例", "3.1%"),
        (None, "", "缺失"),
        (3.0, "项", "3项"),
    ],
)
def test_format_value(value, unit, text):
    assert format_value(np.nan if value is None else value, unit) == text
