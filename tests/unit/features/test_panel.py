"""Training panels: one point-in-time frame per date, stacked with ``as_of``."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.asof import assessment_frame
from features.catalog import CATALOG
from features.model_features import model_features
from features.panel import training_panel

DATES = [date(2025, 1, 1), date(2023, 1, 1), date(2024, 1, 1)]


def test_panel_stacks_the_per_date_frames_in_date_order(city):
    panel = training_panel(city, DATES)
    assert isinstance(panel, pl.LazyFrame)
    got = panel.collect()
    for d in sorted(DATES):
        one = model_features(assessment_frame(city, d, history=True)).collect()
        assert_frame_equal(got.filter(pl.col("as_of") == d), one)
    assert got["as_of"].is_sorted()
    assert set(CATALOG) <= set(got.columns)
    assert got.select(pl.struct("as_of", "uscc").is_unique().all()).item()


def test_panel_without_features_is_the_plain_frames(city):
    got = training_panel(city, DATES[:1], features=False, history=False).collect()
    assert_frame_equal(got, assessment_frame(city, DATES[0]).collect())


def test_a_later_date_never_changes_an_earlier_slice(city, build):
    early = training_panel(city, [date(2023, 1, 1)]).collect()
    perturbed = build.perturb_after(city, date(2023, 1, 1))
    both = training_panel(perturbed, [date(2023, 1, 1), date(2025, 1, 1)]).collect()
    assert_frame_equal(early, both.filter(pl.col("as_of") == date(2023, 1, 1)))


def test_no_dates_is_an_error(city):
    with pytest.raises(ValueError, match="at least one date"):
        training_panel(city, [])
