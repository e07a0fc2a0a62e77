"""Every band edge of every banded indicator: a value just below, on and just above the edge.

Expected points are the spec tables (criteria.md §2–§4) written out here, not read from the
packs. "Just below/above" is one unit of the last given decimal: 0.01 percentage point for
ratios (a two-decimal percentage), 0.01 万元 for money, 1 for counts, 0.01 year for years.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import points, run

#: hand-worked expectations hold for both backends of the engine (numpy and polars)
pytestmark = pytest.mark.usefixtures("both_backends")

Setter = Callable[[float], dict[str, Any]]


def rd_ratio(v: float) -> dict[str, Any]:  # R&D / revenue with revenue 10000.00 万元
    return {"revenue_y1": 10000.0, "rd_expense_y1": round(v * 10000, 2), "total_costs_y1": 1e9}


def staff_ratio(v: float) -> dict[str, Any]:  # staff / employees with 10000 employees
    return {"employees_y1": 10000, "rd_staff_y1": round(v * 10000)}


def cost_ratio(v: float) -> dict[str, Any]:  # TS-2 second basis (first basis at 0)
    return {"revenue_y1": 1e9, "total_costs_y1": 10000.0, "rd_expense_y1": round(v * 10000, 2)}


def main_share(v: float) -> dict[str, Any]:
    return {"revenue_y1": 10000.0, "main_revenue_y1": round(v * 10000, 2)}


def growth(v: float) -> dict[str, Any]:
    return {"main_revenue_y2": 10000.0, "main_revenue_y1": round((1 + v) * 10000, 2)}


def growth_2y(v: float) -> dict[str, Any]:  # both years grow by v → mean of the two = v
    return {
        "main_revenue_y3": 10000.0,
        "main_revenue_y2": round((1 + v) * 10000, 2),
        "main_revenue_y1": round((1 + v) ** 2 * 10000, 6),
        "revenue_y1": 1e6,
    }


def debt(v: float) -> dict[str, Any]:
    return {"total_assets_y1": 10000.0, "total_liabilities_y1": round(v * 10000, 2)}


def margin(v: float) -> dict[str, Any]:
    return {"revenue_y1": 10000.0, "net_profit_y1": round(v * 10000, 2)}


def rd_amount(v: float) -> dict[str, Any]:  # SP-11 amount basis, ratio basis kept at 0.1 %
    return {"revenue_y1": 1_000_000.0, "rd_expense_y1": round(v, 2)}


def niche(v: float) -> dict[str, Any]:
    return {"niche_years": v}


def digital(v: float) -> dict[str, Any]:
    return {"digital_level": int(v)}


# (pack, criterion, setter, step, direction, [(edge, points on/better side, points worse side)])
RATIO, MONEY = 0.0001, 0.01
BANDS: list[tuple[str, str, Setter, float, str, list[tuple[float, float, float]]]] = [
    (
        "tech_sme-2017",
        "TS-1",
        staff_ratio,
        RATIO,
        "higher",
        [(0.30, 20, 16), (0.25, 16, 12), (0.20, 12, 8), (0.15, 8, 4), (0.10, 4, 0)],
    ),
    (
        "tech_sme-2017",
        "TS-2",
        rd_ratio,
        RATIO,
        "higher",
        [(0.06, 50, 40), (0.05, 40, 30), (0.04, 30, 20), (0.03, 20, 10), (0.02, 10, 0)],
    ),
    (
        "tech_sme-2017",
        "TS-2",
        cost_ratio,
        RATIO,
        "higher",
        [(0.30, 50, 40), (0.25, 40, 30), (0.20, 30, 20), (0.15, 20, 10), (0.10, 10, 0)],
    ),
    (
        "innovative-2022",
        "IN-2",
        rd_ratio,
        RATIO,
        "higher",
        [(0.05, 20, 15), (0.03, 15, 10), (0.02, 10, 5), (0.01, 5, 0)],
    ),
    (
        "innovative-2022",
        "IN-3",
        growth,
        RATIO,
        "higher",
        [(0.15, 20, 15), (0.10, 15, 10), (0.05, 10, 5), (0.0, 5, 0)],
    ),
    ("innovative-2022", "IN-4", debt, RATIO, "lower", [(0.55, 10, 5), (0.75, 5, 0)]),
    (
        "innovative-2022",
        "IN-6",
        main_share,
        RATIO,
        "higher",
        [(0.70, 20, 15), (0.60, 15, 10), (0.55, 10, 5), (0.50, 5, 0)],
    ),
    (
        "specialized-2022",
        "SP-1",
        main_share,
        RATIO,
        "higher",
        [(0.80, 5, 3), (0.70, 3, 1), (0.60, 1, 0)],
    ),
    (
        "specialized-2022",
        "SP-2",
        growth_2y,
        RATIO,
        "higher",
        [(0.10, 10, 8), (0.08, 8, 6), (0.06, 6, 4), (0.04, 4, 2), (0.0, 2, 0)],
    ),
    (
        "specialized-2022",
        "SP-3",
        niche,
        MONEY,
        "higher",
        [(10, 5, 4), (8, 4, 3), (6, 3, 2), (4, 2, 1), (2, 1, 0)],
    ),
    ("specialized-2022", "SP-5", digital, 1, "higher", [(3, 5, 3), (2, 3, 0)]),
    (
        "specialized-2022",
        "SP-7",
        margin,
        RATIO,
        "higher",
        [(0.10, 10, 8), (0.08, 8, 6), (0.06, 6, 4), (0.04, 4, 2), (0.02, 2, 0)],
    ),
    ("specialized-2022", "SP-8", debt, RATIO, "lower", [(0.50, 5, 3), (0.60, 3, 1), (0.70, 1, 0)]),
    (
        "specialized-2022",
        "SP-11",
        rd_amount,
        MONEY,
        "higher",
        [(500, 10, 8), (400, 8, 6), (300, 6, 4), (200, 4, 2), (100, 2, 0)],
    ),
    (
        "specialized-2022",
        "SP-11",
        lambda v: {"revenue_y1": 100.0, "rd_expense_y1": round(v * 100, 4)},
        RATIO,
        "higher",
        [(0.10, 10, 8), (0.08, 8, 6), (0.06, 6, 4), (0.04, 4, 2), (0.03, 2, 0)],
    ),
    (
        "specialized-2022",
        "SP-12",
        staff_ratio,
        RATIO,
        "higher",
        [(0.20, 5, 3), (0.10, 3, 1), (0.05, 1, 0)],
    ),
]


def spec_points(value: float, direction: str, edges: list[tuple[float, float, float]]) -> float:
    """Points by the spec table: the best band whose edge the value reaches (edge inclusive)."""
    for edge, better, _ in edges:
        if (value >= edge - 1e-12) if direction == "higher" else (value <= edge + 1e-12):
            return better
    return edges[-1][2]


CASES: list[tuple[str, str, Setter, float, float]] = []
for pack, cid, setter, step, direction, edges in BANDS:
    for edge, better, worse in edges:
        for value in (edge - step, edge, edge + step):
            expected = spec_points(value, direction, edges)
            if value == edge:
                assert expected == better  # on the edge: the better band
            worse_side = edge - step if direction == "higher" else edge + step
            if value == worse_side:
                assert expected == worse  # just past the edge: the worse band
            CASES.append((pack, cid, setter, value, expected))


@functools.cache
def _results(pack: str) -> tuple[tuple[float | None, ...], tuple[int, ...]]:
    """Run every case of one pack in a single frame (fast); row i ↔ the i-th case of the pack."""
    idx = [i for i, c in enumerate(CASES) if c[0] == pack]
    a = run([CASES[i][2](CASES[i][3]) for i in idx], pack)
    got = tuple(points(a, pack, row)[CASES[i][1]] for row, i in enumerate(idx))
    return got, tuple(idx)


@pytest.mark.parametrize(
    "case", range(len(CASES)), ids=[f"{c[1]}-{c[2].__name__}-{c[3]:g}" for c in CASES]
)
def test_band_edges(case: int) -> None:
    pack, _cid, _setter, _value, expected = CASES[case]
    got, idx = _results(pack)
    assert got[idx.index(case)] == expected


def test_cases_are_exhaustive() -> None:
    """Every banded indicator of the spec is in the table above."""
    banded = {
        "TS-1",
        "TS-2",
        "IN-2",
        "IN-3",
        "IN-4",
        "IN-6",
        "SP-1",
        "SP-2",
        "SP-3",
        "SP-5",
        "SP-7",
        "SP-8",
        "SP-11",
        "SP-12",
    }
    assert {row[1] for row in BANDS} == banded
