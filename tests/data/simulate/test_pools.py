"""Candidate pools change no grant: assessing every firm gives the same recognitions.

Why this test exists: the recognition rounds assess only firms passing each tier's necessary
conditions (tiering/simulate/pools.py) — the only way a 1 M-firm run fits in minutes. If a
filter were not truly necessary, pooled and exhaustive runs would grant different titles, or the
engine would call a firm outside its pool ``met``. Quotas are raised so that every tier grants
titles in this small city (otherwise equality would hold trivially).
"""

from __future__ import annotations

import polars as pl
import pytest

from tiering.simulate.assemble import assemble
from tiering.simulate.city import run_city
from tiering.simulate.recognitions import RecognitionProcess

N, SEED, YEARS = 4000, 22, (2021, 2025)
BOOST = {"little_giant": 3000.0, "champion": 3000.0, "specialized": 3000.0, "innovative": 5000.0}


def _run(exhaustive: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    proc = RecognitionProcess(N, SEED, *YEARS, exhaustive=exhaustive, quotas=BOOST)
    city = run_city(N, SEED, *YEARS, recognition=proc)
    return assemble(city, proc.table())["recognitions"], pl.DataFrame(proc.log)


@pytest.fixture(scope="module")
def runs():
    return _run(False), _run(True)


def test_pooled_and_exhaustive_rounds_grant_the_same_titles(runs):
    (pooled, plog), (full, flog) = runs
    assert pooled.equals(full)
    new = pooled.filter(pl.col("application") == "new")
    for tier in ("tech_sme", "innovative", "specialized", "little_giant", "champion"):
        assert new.filter(pl.col("tier") == tier).height > 0, tier
    # the exhaustive run really assessed more firms than the pooled one
    assert flog["assessed"].sum() > 2 * plog["assessed"].sum()


def test_no_firm_outside_its_pool_is_met(runs):
    _, (_, flog) = runs
    assert flog["met_outside_pool"].sum() == 0
