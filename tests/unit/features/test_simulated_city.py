"""The frame on a small simulated Wuhan (``tiering.simulate``): population, titles, roster, PIT."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.asof import assessment_frame
from features.model_features import model_features

pytestmark = pytest.mark.slow
D = date(2024, 6, 30)


@pytest.fixture(scope="module")
def sim() -> dict[str, pl.DataFrame]:
    from tiering.simulate import simulate

    return simulate(600, seed=5, years=(2019, 2025))


def test_population_is_registered_and_not_long_gone(sim):
    frame = assessment_frame(sim, D).collect()
    f = sim["firms"]
    expected = f.filter(
        (pl.col("established") <= D)
        & (pl.col("closed").is_null() | (pl.col("closed") >= date(2023, 1, 1)))
    )
    assert sorted(frame["uscc"]) == sorted(expected["uscc"])
    closed_later = expected.filter(pl.col("closed") > D)["uscc"]
    assert set(frame.filter(pl.col("uscc").is_in(closed_later.implode()))["status"]) <= {"active"}


def test_titles_and_roster_agree_with_the_registers(sim):
    frame = assessment_frame(sim, D).collect()
    rec = sim["recognitions"].filter(
        (pl.col("granted") <= D)
        & (pl.col("expires") >= D)
        & (pl.col("revoked").is_null() | (pl.col("revoked") > D))
    )
    for tier in ("tech_sme", "innovative", "specialized"):
        holders = set(rec.filter(pl.col("tier") == tier)["uscc"])
        assert set(frame.filter(pl.col(f"held_{tier}"))["uscc"]) == holders & set(frame["uscc"])
    roster = sim["stats_roster"].filter((pl.col("year") == 2023) & pl.col("in_roster"))
    assert set(frame.filter(pl.col("in_four_above"))["uscc"]) == set(roster["uscc"]) & set(
        frame["uscc"]
    )
    fin = sim["financials"].filter(pl.col("year") == 2023).select("uscc", "revenue")
    joined = frame.join(fin, on="uscc", how="left")
    assert joined.select((pl.col("revenue_y1").eq_missing(pl.col("revenue"))).all()).item()


def test_simulated_city_is_point_in_time(sim, build):
    before = model_features(assessment_frame(sim, D, history=True)).collect()
    after = model_features(assessment_frame(build.perturb_after(sim, D), D, history=True))
    assert_frame_equal(before, after.collect())
