"""Hand-built input tables for the data-contract tests.

Why hand-built: every value is visible here, so a test can corrupt one cell and assert exactly
which row, column and rule come back. Six clean firms, two years of yearly rows each.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from data_contracts.tables import TABLES
from tiering.uscc import complete

AS_OF = date(2025, 6, 30)
USCCS = [complete(f"9142010{i}MA4K{i:04d}X".replace("X", "0")[:17]) for i in range(1, 7)]
YEARS = (2023, 2024)


def _typed(table: str, rows: dict[str, list]) -> pl.DataFrame:
    schema = TABLES[table].schema()
    n = len(next(iter(rows.values())))
    cols = {c: rows.get(c, [None] * n) for c in schema}
    return pl.DataFrame(cols, schema=schema)


def clean_tables() -> dict[str, pl.DataFrame]:
    """Seven valid tables: 6 firms, financials/ip/credentials/stats_roster for 2 years."""
    n = len(USCCS)
    firms = _typed(
        "firms",
        {
            "uscc": USCCS,
            "name": [f"武汉测试{i}科技有限公司" for i in range(n)],
            "established": [date(2010 + i, 1, 1) for i in range(n)],
            "closed": [None] * n,
            "status": ["active"] * n,
            "district": ["420102", "420103", "420104", "420105", "420106", "420111"],
            "street": [None] * n,
            "zone": [None] * n,
            "industry": ["3973", "3911", "6513", "2710", "3483", "5191"],
            "registered_capital": [100.0, 500.0, 1000.0, 50.0, 3000.0, 200.0],
            "resident": [True] * n,
        },
    )
    u2 = [u for u in USCCS for _ in YEARS]
    y2 = [y for _ in USCCS for y in YEARS]
    m = len(u2)
    fin = _typed(
        "financials",
        {
            "uscc": u2,
            "year": y2,
            "revenue": [1000.0 + 10 * i for i in range(m)],
            "main_revenue": [900.0 + 10 * i for i in range(m)],
            "total_costs": [800.0] * m,
            "net_profit": [-50.0 if i == 3 else 100.0 for i in range(m)],
            "total_assets": [2000.0] * m,
            "total_liabilities": [900.0] * m,
            "employees": [50 + i for i in range(m)],
            "rd_staff": [10] * m,
            "rd_expense": [60.0] * m,
            "equity_financing": [0.0] * m,
            "export_revenue": [None] * m,
        },
    )
    ip = _typed(
        "ip",
        {
            "uscc": u2,
            "year": y2,
            "class1_ip": [2] * m,
            "class1_self_developed": [1] * m,
            "class1_high_value": [1] * m,
            "class2_ip": [5] * m,
            "invention_patents": [2] * m,
        },
    )
    cred = _typed(
        "credentials",
        {
            "uscc": u2,
            "year": y2,
            "high_tech": [True] * m,
            "rd_institution_level": ["city"] * m,
            "digital_level": [2] * m,
            "iso9001": [True] * m,
            "quality_award_level": ["none"] * m,
            "own_brand": [False] * m,
            "standards_count": [0] * m,
            "sci_award_level": ["none"] * m,
            "niche_years": [5.0] * m,
            "market_share_domestic": [0.1] * m,
        },
    )
    rec = _typed(
        "recognitions",
        {
            "uscc": USCCS[:2],
            "tier": ["innovative", "specialized"],
            "level": ["provincial", "provincial"],
            "granted": [date(2023, 5, 1), date(2024, 5, 1)],
            "expires": [date(2026, 4, 30), date(2027, 4, 30)],
            "revoked": [None, None],
            "rule_version": ["innovative-2022", "specialized-2022"],
            "application": ["new", "new"],
        },
    )
    roster = _typed(
        "stats_roster",
        {"uscc": u2, "year": y2, "four_above_kind": ["工业"] * m, "in_roster": [True] * m},
    )
    events = _typed(
        "events",
        {
            "event_id": ["E1"],
            "uscc": [USCCS[5]],
            "kind": ["abnormal_operation"],
            "date": [date(2024, 3, 1)],
            "end_date": [None],
        },
    )
    return {
        "firms": firms,
        "financials": fin,
        "ip": ip,
        "credentials": cred,
        "recognitions": rec,
        "stats_roster": roster,
        "events": events,
    }


def set_cell(df: pl.DataFrame, row: int, column: str, value) -> pl.DataFrame:
    """Copy of ``df`` with one cell replaced (keeps the column's dtype)."""
    s = df[column].to_list()
    s[row] = value
    return df.with_columns(pl.Series(column, s, dtype=df.schema[column]))


@pytest.fixture
def tables() -> dict[str, pl.DataFrame]:
    return clean_tables()


@pytest.fixture
def as_of() -> date:
    return AS_OF


@pytest.fixture(name="set_cell")
def _set_cell_fixture():
    """The :func:`set_cell` helper (tests run in importlib mode: no ``from conftest import``)."""
    return set_cell


@pytest.fixture(name="clean_tables")
def _clean_tables_fixture():
    return clean_tables
