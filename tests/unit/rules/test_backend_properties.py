"""Property test of backend parity: random small frames with many nulls and values exactly on
the edges of the shipped packs (thresholds, band edges, and ratios such as 3.00 / 100.00 = 0.03)
give the same Assessment from the numpy backend and the polars backend."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.rules.conftest import SCHEMA, frame
from tests.unit.rules.test_batch_parity import ALL_TIER_PACKS, _both, _same
from tiering.pack_loader import list_packs, load_pack
from tiering.pack_model import AllOf, AnyOf, Cmp, NotOf, Pack


def _edges() -> list[float]:
    """Every numeric threshold and band edge of every shipped pack."""
    out: set[float] = set()

    def walk(t: Any) -> None:
        if isinstance(t, Cmp) and isinstance(t.threshold, int | float):
            out.add(float(t.threshold))
        elif isinstance(t, AllOf | AnyOf):
            for s in t.all if isinstance(t, AllOf) else t.any:
                walk(s)
        elif isinstance(t, NotOf):
            walk(t.not_)

    for pid in list_packs():
        pk = load_pack(pid)
        if not isinstance(pk, Pack):
            continue
        for c in pk.criteria:
            for t in (c.test, c.review_test):
                if t is not None:
                    walk(t)
            if c.bands is not None:
                out.update(float(e) for b in c.bands.bases for e in b.edges)
            if c.cases is not None:
                for s in c.cases.steps:
                    walk(s.when)
            if c.count is not None:
                for t in c.count.items:
                    walk(t)
    return sorted(out)


EDGES = _edges()
# values on an edge, a cent either side, and edge × 100 / 1000 (so a ratio over a revenue of
# 100.00 or 1000.00 lands exactly on a ratio edge such as 0.03 or 0.55)
_VALUES = sorted(
    {round(v, 2) for e in EDGES for v in (e, e - 0.01, e + 0.01, e * 100, e * 1000) if v >= 0}
    | {0.0, 100.0, 1000.0, 10000.0}
)
_INTS = sorted({int(e) for e in EDGES if e == int(e) and 0 <= e < 10000} | {0, 1, 2, 3})

_NUMERIC = [c for c, t in SCHEMA.items() if t.is_numeric() and c != "uscc"]
_BOOLS = [c for c, t in SCHEMA.items() if t == pl.Boolean]


def _num(col: str) -> st.SearchStrategy:
    if SCHEMA[col].is_integer():
        return st.one_of(st.none(), st.sampled_from(_INTS), st.integers(0, 3000))
    return st.one_of(
        st.none(),
        st.sampled_from(_VALUES),
        st.floats(0, 50000, allow_nan=False).map(lambda x: round(x, 2)),
    )


def _null_heavy(s: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), s)


ROW = st.fixed_dictionaries(
    {},
    optional={
        **{c: _num(c) for c in _NUMERIC},
        **{c: _null_heavy(st.booleans()) for c in _BOOLS},
        "industry": st.sampled_from([None, "3973", "6513", "1311", "3911", "4710", "7010", "0000"]),
        "rd_institution_level": st.sampled_from([None, "none", "city", "provincial", "national"]),
        "niche_domain": st.sampled_from([None, "breakthrough", "foundation", "none"]),
        "sci_award_level": st.sampled_from([None, "none", "provincial", "national"]),
        "quality_award_level": st.sampled_from([None, "none", "city", "provincial", "national"]),
        **{
            f"{t}_expires": st.one_of(
                st.none(), st.dates(dt.date(2025, 1, 1), dt.date(2028, 6, 30))
            )
            for t in ("tech_sme", "innovative", "specialized", "little_giant", "champion")
        },
    },
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(ROW, min_size=1, max_size=6),
    as_of=st.sampled_from([dt.date(2026, 3, 31), dt.date(2026, 4, 1), dt.date(2026, 6, 30)]),
    application=st.sampled_from(["new", "review"]),
)
def test_backends_agree_on_edges_and_nulls(
    rows: list[dict[str, Any]], as_of: dt.date, application: str
) -> None:
    f = frame(*rows)
    with pytest.MonkeyPatch.context() as mp:
        _same(*_both(f, as_of, mp, packs=ALL_TIER_PACKS, application=application))


def test_edge_values_reach_the_edges() -> None:
    """The strategy really contains values on edges (else the property test proves little)."""
    assert {0.03, 2000.0, 0.55} <= set(EDGES)
    assert 3.0 in _VALUES and 100.0 in _VALUES and 55.0 in _VALUES
