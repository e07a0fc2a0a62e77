"""Every threshold of the pass/fail criteria: a value just below, on and just above the edge.

Each row: pack, criterion, a setter building the inputs from the value (the other parts of the
criterion are made to pass), the operator and the edge from the spec. "Just below/above" is one
unit of the last given decimal (0.01 percentage point, 0.01 万元, 1 for counts and ranks,
0.01 for years and platform scores). All rows of a pack run in one frame.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import run, statuses

R, M, C, Y = 0.0001, 0.01, 1, 0.01  # steps: ratio, money, count, years/points
Setter = Callable[[float], dict[str, Any]]


def debt(v: float) -> dict[str, Any]:
    return {"total_assets_y1": 10000.0, "total_liabilities_y1": round(v * 10000, 2)}


def share(v: float) -> dict[str, Any]:
    return {
        "revenue_y1": 10000.0,
        "main_revenue_y1": round(v * 10000, 2),
        "rd_expense_y1": 500.0,
        "rd_expense_y2": 700.0,
        "revenue_y3": 5000.0,
    }


# (pack, criterion, setter, op, edge, step)
T: list[tuple[str, str, Setter, str, float, float]] = [
    ("tech_sme-2017", "TS-G2", lambda v: {"employees_y1": int(v)}, "<=", 500, C),
    ("tech_sme-2017", "TS-G2", lambda v: {"revenue_y1": v}, "<=", 20000, M),
    ("tech_sme-2017", "TS-G2", lambda v: {"total_assets_y1": v}, "<=", 20000, M),
    (
        "tech_sme-2017",
        "TS-D2",
        lambda v: {"sci_award_level": "national", "sci_award_year": 2024, "sci_award_rank": int(v)},
        "<=",
        3,
        C,
    ),
    (
        "tech_sme-2017",
        "TS-D2",
        lambda v: {"sci_award_level": "national", "sci_award_rank": 1, "sci_award_year": int(v)},
        ">=",
        2021,
        C,
    ),
    ("tech_sme-2017", "TS-D4", lambda v: {"standard_led_year": int(v)}, ">=", 2021, C),
    (
        "innovative-2022",
        "IN-D1",
        lambda v: {"sci_award_level": "provincial", "sci_award_year": int(v)},
        ">=",
        2023,
        C,
    ),
    (
        "innovative-2022",
        "IN-D4",
        lambda v: {
            "equity_financing_y1": round(v - 200, 2),
            "equity_financing_y2": 100.0,
            "equity_financing_y3": 100.0,
        },
        ">=",
        500,
        M,
    ),
    ("specialized-2022", "SP-M1", lambda v: {"niche_years": v}, ">=", 2, Y),
    (
        "specialized-2022",
        "SP-M2",
        lambda v: {"rd_expense_y1": round(v, 2), "revenue_y1": 1000.0},
        ">=",
        100,
        M,
    ),
    (
        "specialized-2022",
        "SP-M2",
        lambda v: {"rd_expense_y1": round(v * 10000, 2), "revenue_y1": 10000.0},
        ">=",
        0.03,
        R,
    ),
    ("specialized-2022", "SP-M3", lambda v: {"revenue_y1": round(v, 2)}, ">=", 1000, M),
    (
        "specialized-2022",
        "SP-M3",
        lambda v: {
            "revenue_y1": 500.0,
            "equity_financing_y1": round(v - 1000, 2),
            "equity_financing_y2": 1000.0,
        },
        ">=",
        2000,
        M,
    ),
    (
        "specialized-2022",
        "SP-Z1",
        lambda v: {
            "sci_award_level": "provincial",
            "sci_award_year": 2024,
            "sci_award_rank": int(v),
        },
        "<=",
        3,
        C,
    ),
    (
        "specialized-2022",
        "SP-Z1",
        lambda v: {"sci_award_level": "national", "sci_award_year": 2024, "sci_award_rank": int(v)},
        "<=",
        5,
        C,
    ),
    (
        "specialized-2022",
        "SP-Z2",
        lambda v: {"rd_expense_y1": round(v + 100, 2), "rd_expense_y2": round(v - 100, 2)},
        ">=",
        1000,
        M,
    ),
    (
        "specialized-2022",
        "SP-Z3",
        lambda v: {"equity_financing_y1": round(v - 3000, 2), "equity_financing_y2": 3000.0},
        ">=",
        6000,
        M,
    ),
    (
        "specialized-2022",
        "SP-Z4",
        lambda v: {"maker_china_rank": int(v), "maker_china_year": 2025},
        "<=",
        500,
        C,
    ),
    ("specialized-2026", "SP6-P1", lambda v: {"niche_years": v}, ">=", 3, Y),
    ("specialized-2026", "SP6-P2", lambda v: {"revenue_y1": round(v, 2)}, ">=", 1500, M),
    (
        "specialized-2026",
        "SP6-P2",
        lambda v: {"revenue_y1": 900.0, "equity_financing_y1": round(v, 2)},
        ">=",
        2000,
        M,
    ),
    ("specialized-2026", "SP6-P3", share, ">=", 0.80, R),
    ("specialized-2026", "SP6-P4", debt, "<=", 0.80, R),
    (
        "specialized-2026",
        "SP6-P5",
        lambda v: {"rd_expense_y2": round(v, 2), "revenue_y2": 1000.0},
        ">=",
        100,
        M,
    ),
    (
        "specialized-2026",
        "SP6-P5",
        lambda v: {"rd_expense_y2": round(v * 10000, 2), "revenue_y2": 10000.0},
        ">=",
        0.03,
        R,
    ),
    (
        "specialized-2026",
        "SP6-P6",
        lambda v: {"class1_ip": int(v), "rd_institution_level": "city"},
        ">=",
        1,
        C,
    ),
    ("specialized-2026", "SP6-P8", lambda v: {"platform_score_y0": v}, ">=", 50, Y),
    ("little_giant-2022", "LG-1", lambda v: {"niche_years": v}, ">=", 3, Y),
    ("little_giant-2022", "LG-2", share, ">=", 0.70, R),
    (
        "little_giant-2022",
        "LG-3",
        lambda v: {
            "main_revenue_y3": 10000.0,
            "main_revenue_y2": round((1 + v) * 10000, 2),
            "main_revenue_y1": round((1 + v) ** 2 * 10000, 6),
            "revenue_y1": 1e6,
        },
        ">=",
        0.05,
        R,
    ),
    ("little_giant-2022", "LG-4", lambda v: {"digital_level": int(v)}, ">=", 2, C),
    ("little_giant-2022", "LG-6", debt, "<=", 0.70, R),
    ("little_giant-2022", "LG-7", lambda v: {"market_share_domestic": v}, ">=", 0.10, R),
    (
        "little_giant-2022",
        "LG-9",
        lambda v: {
            "revenue_y1": 20000.0,
            "revenue_y2": 20000.0,
            "rd_expense_y2": 700.0,
            "rd_expense_y1": round(v * 20000, 2),
        },
        ">=",
        0.03,
        R,
    ),
    (
        "little_giant-2022",
        "LG-9",
        lambda v: {
            "revenue_y1": 8000.0,
            "revenue_y2": 8000.0,
            "rd_expense_y2": 600.0,
            "rd_expense_y1": round(v * 8000, 2),
        },
        ">=",
        0.06,
        R,
    ),
    (
        "little_giant-2022",
        "LG-9",
        lambda v: {
            "revenue_y1": 4000.0,
            "employees_y1": 100,
            "rd_staff_y1": 50,
            "equity_financing_y1": 8000.0,
            "equity_financing_y2": 0.0,
            "rd_expense_y1": round(v - 1000, 2),
            "rd_expense_y2": 1000.0,
        },
        ">=",
        3000,
        M,
    ),
    ("little_giant-2022", "LG-11", lambda v: {"class1_ip": int(v)}, ">=", 2, C),
    (
        "little_giant-2022",
        "LG-D2",
        lambda v: {"maker_china_rank": int(v), "maker_china_year": 2024},
        "<=",
        50,
        C,
    ),
    ("little_giant-2026", "LG6-X1", lambda v: {"niche_years": v}, ">=", 3, Y),
    (
        "little_giant-2026",
        "LG6-X2a",
        lambda v: {"revenue_y1": round(v, 2), "main_revenue_y1": round(v, 2)},
        ">=",
        5000,
        M,
    ),
    ("little_giant-2026", "LG6-X2b", share, ">=", 0.90, R),
    (
        "little_giant-2026",
        "LG6-X2c",
        lambda v: {"revenue_y3": 10000.0, "revenue_y1": round((1 + v) ** 2 * 10000, 6)},
        ">=",
        0.05,
        R,
    ),
    ("little_giant-2026", "LG6-X2d", debt, "<=", 0.75, R),
    (
        "little_giant-2026",
        "LG6-X3",
        lambda v: {
            "revenue_y1": 10000.0,
            "revenue_y2": 10000.0,
            "rd_expense_y1": round(v - 600, 2),
            "rd_expense_y2": 600.0,
        },
        ">=",
        1200,
        M,
    ),
    ("little_giant-2026", "LG6-X4", lambda v: {"class1_ip": int(v)}, ">=", 4, C),
    (
        "little_giant-2026",
        "LG6-X5",
        lambda v: {"market_share_domestic": v, "market_share_global": 0.0, "domestic_rank": 9},
        ">=",
        0.10,
        R,
    ),
    (
        "little_giant-2026",
        "LG6-X5",
        lambda v: {
            "market_share_domestic": 0.0,
            "market_share_global": 0.0,
            "domestic_rank": int(v),
        },
        "<=",
        3,
        C,
    ),
    ("little_giant-2026", "LG6-X7", lambda v: {"platform_score_y0": v}, ">=", 60, Y),
    ("champion-2023", "CH-1", lambda v: {"years_in_field": v}, ">=", 10, Y),
    ("champion-2023", "CH-1", lambda v: {"years_in_field": v, "new_product": True}, ">=", 5, Y),
    (
        "champion-2023",
        "CH-2",
        lambda v: {
            "main_revenue_y1": round(v + 100, 2),
            "main_revenue_y2": round(v, 2),
            "main_revenue_y3": round(v - 100, 2),
        },
        ">=",
        40000,
        M,
    ),
    ("champion-2023", "CH-3", lambda v: {"global_rank": int(v)}, "<=", 3, C),
]

CASES: list[tuple[int, float, str]] = []
for i, (_p, _c, _s, op, edge, step) in enumerate(T):
    for value in (edge - step, edge, edge + step):
        ok = value >= edge - 1e-12 if op == ">=" else value <= edge + 1e-12
        CASES.append((i, value, "met" if ok else "unmet"))


@functools.cache
def _results(pack: str) -> dict[int, str]:
    idx = [k for k, (i, _, _) in enumerate(CASES) if T[i][0] == pack]
    a = run([T[CASES[k][0]][2](CASES[k][1]) for k in idx], pack)
    return {k: statuses(a, pack, row)[T[CASES[k][0]][1]] for row, k in enumerate(idx)}


@pytest.mark.parametrize(
    "case", range(len(CASES)), ids=[f"{T[i][1]}-{T[i][4]:g}-{v:g}" for i, v, _ in CASES]
)
def test_threshold_edges(case: int) -> None:
    i, _value, expected = CASES[case]
    assert _results(T[i][0])[case] == expected
