"""Behavioural tests (Made-With-ML style): invariance, direction, minimum function."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.backtest import fit_target
from models.scoring import Champions


@pytest.fixture(scope="module")
def champions(panel, fast_params) -> Champions:
    models = {
        t: fit_target(panel, t, [2020, 2021], 2022, fast_params)
        for t in ("little_giant", "specialized")
    }
    return Champions(models=models)


@pytest.fixture(scope="module")
def firms(panel) -> pl.DataFrame:
    return panel.frame.filter(pl.col("year") == 2023).head(400)


def test_row_order_does_not_change_scores(champions, firms):
    a = champions.predict(firms, reasons=False)
    shuffled = firms.sample(fraction=1.0, shuffle=True, seed=3)
    b = champions.predict(shuffled, reasons=False)
    joined = a.join(b, on="uscc", suffix="_b")
    assert joined.height == firms.height
    for t in ("little_giant", "specialized"):
        np.testing.assert_array_equal(joined[f"p_{t}"].to_numpy(), joined[f"p_{t}_b"].to_numpy())


def test_firm_name_and_id_do_not_change_scores(champions, firms):
    a = champions.predict(firms, reasons=True)
    renamed = firms.with_columns(
        pl.lit("某某科技有限公司").alias("name"), pl.col("uscc").str.reverse()
    )
    b = champions.predict(renamed, reasons=True)
    assert a["p_little_giant"].to_list() == b["p_little_giant"].to_list()
    assert a["reasons_little_giant"].to_list() == b["reasons_little_giant"].to_list()


@pytest.mark.parametrize("feature", ["rd_expense_y1", "class1_ip"])
@pytest.mark.parametrize("target", ["little_giant", "specialized"])
def test_more_rd_or_ip_never_lowers_the_chance(champions, firms, feature, target):
    model = champions.models[target]
    X = firms.select(model.feature_names_)
    base = model.predict_proba(X)[:, 1]
    for bump in (1.0, 10.0, 1000.0):
        more = X.with_columns((pl.col(feature).fill_null(0) + bump).alias(feature))
        assert (model.predict_proba(more)[:, 1] >= base - 1e-12).all(), (feature, bump)


def test_firm_meeting_every_criterion_ranks_above_one_meeting_none(champions, firms):
    """小巨人: heavy R&D, many Ⅰ类 IP, large and growing vs none of that."""
    template = firms.head(2)
    strong = {"rd_expense_y1": 3000.0, "class1_ip": 12.0, "revenue_y1": 60000.0,
              "revenue_y2": 50000.0, "main_revenue_y1": 58000.0, "main_revenue_y2": 48000.0,
              "debt_ratio_y1": 0.3, "held_innovative": 1.0, "in_four_above": 1.0}  # fmt: skip
    weak = {"rd_expense_y1": 0.0, "class1_ip": 0.0, "revenue_y1": 50.0, "revenue_y2": 60.0,
            "main_revenue_y1": 20.0, "main_revenue_y2": 30.0, "debt_ratio_y1": 0.95,
            "held_innovative": 0.0, "in_four_above": 0.0}  # fmt: skip
    rows = template.with_columns(
        *[pl.Series(k, [strong[k], weak[k]], dtype=pl.Float64) for k in strong]
    )
    p = champions.predict(rows, reasons=False)["p_little_giant"].to_list()
    assert p[0] > p[1]
