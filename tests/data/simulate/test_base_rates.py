"""Base rates of the simulated city at N = 20,000 (scale 0.02 of the city's million firms).

Tolerances reflect Poisson noise at this scale (a yearly count of ~20 has sd ≈ 4.5); targets are
the planning documents' figures per million firms. 小巨人 and 单项冠军 are too rare at this N to
test (1.6 and 0.14 a year); the bench prints them at N = 1 M.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

SCALE = 20_000 / 1_000_000


def _new(city, tier, years=(2023, 2024, 2025)):
    rec = city["recognitions"].filter(
        (pl.col("tier") == tier) & (pl.col("application") == "new")
        & pl.col("granted").dt.year().is_in(list(years))
    )  # fmt: skip
    return rec.height / len(years)


def test_four_above_roster_about_18k_per_million(mid_city):
    n = mid_city["stats_roster"].filter((pl.col("year") == 2025) & pl.col("in_roster")).height
    assert 0.80 * 18_000 * SCALE <= n <= 1.20 * 18_000 * SCALE


def test_new_innovative_about_1000_a_year_per_million(mid_city):
    assert 0.6 * 1000 * SCALE <= _new(mid_city, "innovative") <= 1.4 * 1000 * SCALE


def test_new_specialized_about_500_a_year_per_million(mid_city):
    assert 0.4 * 500 * SCALE <= _new(mid_city, "specialized") <= 1.6 * 500 * SCALE


def test_titles_expire_and_are_reviewed(mid_city):
    rec = mid_city["recognitions"]
    three = rec.filter(pl.col("tier") != "tech_sme")
    days = (three["expires"] - three["granted"]).dt.total_days()
    assert days.is_between(365 * 3 - 2, 365 * 3 + 1).all()
    assert (
        (
            rec.filter(pl.col("tier") == "tech_sme").select(
                (pl.col("expires") - pl.col("granted")).dt.total_days() < 367
            )
        )
        .to_series()
        .all()
    )
    assert rec.filter(pl.col("application") == "review").height > 0
    assert rec["granted"].max() <= dt.date(2025, 12, 31)


def test_revocations_follow_events_or_closures(mid_city):
    rec = mid_city["recognitions"].filter(pl.col("revoked").is_not_null())
    assert rec.height > 0
    assert ((rec["revoked"] >= rec["granted"]) & (rec["revoked"] <= rec["expires"])).all()
    firms = mid_city["firms"].select("uscc", "closed")
    ev = mid_city["events"].select("uscc", "date")
    cause = rec.join(firms, on="uscc", how="left").join(ev, on="uscc", how="left")
    ok = cause.filter(
        (pl.col("closed") == pl.col("revoked")) | (pl.col("date") == pl.col("revoked"))
    )
    assert ok.select("uscc", "tier", "granted").unique().height == rec.height


def test_ladder_prerequisite_specialized_needs_innovative_from_2022(mid_city):
    rec = mid_city["recognitions"]
    spec = rec.filter(
        (pl.col("tier") == "specialized")
        & (pl.col("application") == "new")
        & (pl.col("granted") >= dt.date(2022, 7, 1))
    )
    inn = rec.filter(pl.col("tier") == "innovative").select("uscc", ig="granted", ie="expires")
    j = spec.join(inn, on="uscc", how="left").filter(
        (pl.col("ig") <= pl.col("granted")) & (pl.col("ie") >= pl.col("granted"))
    )
    assert j["uscc"].n_unique() == spec["uscc"].n_unique()


def test_unobserved_engagement_is_nowhere_in_outputs(mid_city):
    cols = {c for df in mid_city.values() for c in df.columns}
    assert not cols & {"engagement", "coverage", "tech", "quality"}
