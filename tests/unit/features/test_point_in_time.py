"""Point-in-time correctness: nothing after D reaches the frame; moving D moves the right values."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from features.asof import assessment_frame

DATES = [
    date(2022, 2, 28),
    date(2024, 2, 29),
    date(2025, 6, 30),
    date(2025, 12, 31),
    date(2026, 1, 1),
]


@pytest.mark.parametrize("d", DATES, ids=str)
def test_perturbing_everything_after_d_leaves_the_frame_unchanged(city, build, d):
    before = assessment_frame(city, d, history=True).collect()
    after = assessment_frame(build.perturb_after(city, d, seed=d.toordinal()), d, history=True)
    assert_frame_equal(before, after.collect())
    assert before.height > 100  # the random city really populates the date


def test_the_perturbation_really_changes_the_future(city, build):
    d = date(2025, 6, 30)
    later = date(2027, 6, 30)
    before = assessment_frame(city, later).collect()
    after = assessment_frame(build.perturb_after(city, d), later).collect()
    assert not before.equals(after)


def test_random_city_exercises_every_branch(city):
    frame = assessment_frame(city, date(2025, 6, 30)).collect()
    for col in ("held_specialized", "abnormal_operation", "incident_3y", "in_four_above"):
        assert frame[col].sum() > 0, col
    assert frame["revenue_y1"].null_count() > 0  # missing years exist
    assert frame["platform_score_y0"].drop_nulls().len() > 0
    assert set(frame["status"]) > {"active"}


def test_moving_d_a_year_moves_the_year_columns(build):
    fin = [
        {"uscc": "F1", "year": y, "revenue": float(y), "rd_expense": y / 100}
        for y in range(2021, 2027)
    ]
    rec = [
        {
            "uscc": "F1",
            "tier": "innovative",
            "granted": date(2023, 3, 2),
            "expires": date(2026, 3, 1),
        }
    ]
    ev = [{"event_id": "E", "uscc": "F1", "kind": "quality_accident", "date": date(2023, 1, 15)}]
    tables = build.tables_of(firms=[build.firm()], financials=fin, recognitions=rec, events=ev)
    a = assessment_frame(tables, date(2025, 6, 30)).collect().row(0, named=True)
    b = assessment_frame(tables, date(2026, 6, 30)).collect().row(0, named=True)
    assert (a["revenue_y1"], a["revenue_y2"], a["revenue_y3"]) == (2024.0, 2023.0, 2022.0)
    assert (b["revenue_y1"], b["revenue_y2"], b["revenue_y3"]) == (2025.0, 2024.0, 2023.0)
    assert (a["rd_expense_y2"], b["rd_expense_y2"]) == (20.23, 20.24)
    assert (a["held_innovative"], a["innovative_expires"]) == (True, date(2026, 3, 1))
    assert (b["held_innovative"], b["innovative_expires"]) == (False, None)
    assert (a["incident_3y"], b["incident_3y"]) == (True, False)  # dated 2023-01-15
    c = assessment_frame(tables, date(2026, 1, 14)).collect().row(0, named=True)
    assert c["incident_3y"] is True
    assert assessment_frame(tables, date(2026, 1, 15)).collect()["incident_3y"].item() is False
    assert a["age_years"] < b["age_years"]


def test_same_inputs_same_bytes_regardless_of_row_order(city):
    d = date(2025, 6, 30)
    shuffled = {k: v.sample(fraction=1.0, shuffle=True, seed=3) for k, v in city.items()}
    assert_frame_equal(assessment_frame(city, d).collect(), assessment_frame(shuffled, d).collect())


def test_lazy_and_eager_inputs_agree(city):
    d = date(2025, 6, 30)
    lazy = {k: v.lazy() for k, v in city.items()}
    assert isinstance(assessment_frame(lazy, d), pl.LazyFrame)
    assert_frame_equal(assessment_frame(city, d).collect(), assessment_frame(lazy, d).collect())


@settings(max_examples=12, deadline=None, derandomize=True)
@given(
    d=st.dates(min_value=date(2018, 1, 1), max_value=date(2028, 12, 31)),
    seed=st.integers(0, 10_000),
)
def test_point_in_time_on_any_date(city, build, d, seed):
    """Property form of the perturbation test: any date, any rewrite of the future."""
    before = assessment_frame(city, d).collect()
    assert_frame_equal(before, assessment_frame(build.perturb_after(city, d, seed), d).collect())
