"""Base rates of the simulated city at N = 50,000 (scale 0.05 of the city's million firms).

Targets per million firms (the city's planning documents, issue #3): ~18,000 on the 四上 roster;
per year ~1,000 new 创新型, ~500 new 专精特新, 60–100 new 小巨人, 5–10 new 单项冠军; by 2025 a
stock of ~4,000 专精特新, ~500 小巨人, ~30 单项冠军. Tolerances are stated per test: each allows
the target range ± 3 Poisson standard deviations of the expected count at this N (plus the
model's own spread for the large counts). 单项冠军 are too rare here (≈ 0.3 a year) for a
two-sided count test: the test checks their candidate pool — firms that truly meet CH-0..CH-3 —
is large enough for the quota, and an upper bound on the count; the bench prints the count at
N = 1 M (bench/bench_simulate.py).
"""

from __future__ import annotations

import datetime as dt
import math

import polars as pl

MID_N = 50_000  # = conftest.MID_N (checked below)
SCALE = MID_N / 1_000_000


def _new(city, tier, years):
    rec = city["recognitions"].filter(
        (pl.col("tier") == tier) & (pl.col("application") == "new")
        & pl.col("granted").dt.year().is_in(list(years))
    )  # fmt: skip
    return rec.height


def _stock(city, tier, on=dt.date(2025, 12, 31)):
    rec = city["recognitions"].filter(
        (pl.col("tier") == tier) & (pl.col("granted") <= on) & (pl.col("expires") >= on)
        & (pl.col("revoked").is_null() | (pl.col("revoked") > on))
    )  # fmt: skip
    return rec["uscc"].n_unique()


def _bounds(low_per_m: float, high_per_m: float, years: int = 1) -> tuple[float, float]:
    """Target range scaled to MID_N and widened by 3 Poisson sd at each end."""
    lo, hi = low_per_m * SCALE * years, high_per_m * SCALE * years
    return max(lo - 3 * math.sqrt(lo), 0.0), hi + 3 * math.sqrt(hi)


def test_four_above_roster_about_18k_per_million(mid_city):
    assert mid_city["firms"].height == MID_N
    n = mid_city["stats_roster"].filter((pl.col("year") == 2025) & pl.col("in_roster")).height
    assert 0.85 * 18_000 * SCALE <= n <= 1.15 * 18_000 * SCALE


def test_new_innovative_about_1000_a_year_per_million(mid_city):
    lo, hi = _bounds(850, 1150, years=3)  # 2023–2025: 150 expected, sd ≈ 12
    assert lo <= _new(mid_city, "innovative", (2023, 2024, 2025)) <= hi


def test_new_specialized_about_500_a_year_per_million(mid_city):
    lo, hi = _bounds(400, 600, years=6)  # 2020–2025: 150 expected
    assert lo <= _new(mid_city, "specialized", range(2020, 2026)) <= hi


def test_new_little_giant_60_to_100_a_year_per_million(mid_city):
    lo, hi = _bounds(60, 100, years=6)  # 2020–2025: 18–30 expected → [5.3, 46.4]
    assert lo <= _new(mid_city, "little_giant", range(2020, 2026)) <= hi


def test_champion_count_bounded_and_pool_fills_the_quota(mid_city):
    # count: 5–10 a year per million → 1.5–3 over 2020–2025 here; P(Poisson(3) > 10) < 0.001
    assert _new(mid_city, "champion", range(2020, 2026)) <= 10
    # pool: firm-years 2023–2025 truly meeting CH-0..CH-3 on the figures of Y−1 (Y−3..Y−1)
    fin = mid_city["financials"].select("uscc", "year", "main_revenue")
    cred = mid_city["credentials"].select("uscc", "year", "years_in_field", "global_rank",
                                          "new_product")  # fmt: skip
    firms = mid_city["firms"].filter(pl.col("industry").is_in(_section_c()))
    mean3 = (
        fin.with_columns(pl.col("main_revenue").rolling_mean(3).over("uscc", order_by="year"))
        .join(cred, on=["uscc", "year"])
        .join(firms.select("uscc"), on="uscc")
        .filter(
            pl.col("year").is_between(2022, 2024)
            & (pl.col("main_revenue") >= 40000)
            & (pl.col("global_rank") <= 3)
            & (
                (pl.col("years_in_field") >= 10)
                | (pl.col("new_product") & (pl.col("years_in_field") >= 5))
            )
        )
    )
    # quota 5 a year per million → 0.75 grants over three years here; the pool of truly
    # qualifying firm-years must be ≥ 10× that (≈ 20 expected; 8 is > 3 sd below)
    assert mean3.height >= 8


def _section_c():
    from tiering.codes import industries

    return industries().filter(pl.col("section") == "C")["code"].implode()


def test_stock_by_2025(mid_city):
    lo, hi = _bounds(3500, 4500)
    assert lo <= _stock(mid_city, "specialized") <= hi
    lo, hi = _bounds(400, 600)
    assert lo <= _stock(mid_city, "little_giant") <= hi
    assert _stock(mid_city, "champion") <= 10  # ~1.5 expected


def test_titles_expire_and_are_reviewed(mid_city):
    rec = mid_city["recognitions"]
    years = pl.when(pl.col("tier") == "tech_sme").then(pl.lit("1y")).otherwise(pl.lit("3y"))
    expected = pl.col("granted").dt.offset_by(years).dt.offset_by("-1d")
    assert rec.select((pl.col("expires") == expected).all()).item()  # same day N years on − 1
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


def test_ladder_prerequisites(mid_city):
    rec = mid_city["recognitions"]
    for tier, pre, since in (("specialized", "innovative", dt.date(2022, 7, 1)),
                             ("little_giant", "specialized", dt.date(2020, 1, 1))):  # fmt: skip
        new = rec.filter(
            (pl.col("tier") == tier) & (pl.col("application") == "new")
            & (pl.col("granted") >= since)
        )  # fmt: skip
        held = rec.filter(pl.col("tier") == pre).select("uscc", ig="granted", ie="expires")
        j = new.join(held, on="uscc", how="left").filter(
            (pl.col("ig") <= pl.col("granted")) & (pl.col("ie") >= pl.col("granted"))
        )
        assert new.height > 0 and j["uscc"].n_unique() == new["uscc"].n_unique(), tier


def test_unobserved_traits_are_nowhere_in_outputs(mid_city):
    cols = {c for df in mid_city.values() for c in df.columns}
    assert not cols & {"engagement", "coverage", "tech", "quality", "lead"}
