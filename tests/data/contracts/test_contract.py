"""The contract itself: complete alias table, every rule compilable, GX and polars agree."""

from __future__ import annotations

import polars as pl
import pytest

from data_contracts import rowcheck
from data_contracts.aliases import alias_table, resolve_header
from data_contracts.expectations import (
    ROW_TYPES,
    SCHEMA_TYPES,
    frame_expectations,
    parameters,
    table_expectations,
)
from data_contracts.tables import TABLES


def test_every_label_is_in_the_alias_table():
    aliases = {a for a, *_ in alias_table()}
    for spec in TABLES.values():
        for c in spec.columns:
            assert c.label in aliases, c.label
            assert resolve_header(c.label, spec.name) == c.name


@pytest.mark.parametrize(
    ("header", "table", "column"),
    [
        ("统一社会信用代码", "firms", "uscc"),
        ("社会信用代码", "financials", "uscc"),
        ("信用代码", "ip", "uscc"),
        ("营业收入", "financials", "revenue"),
        ("营业总收入", "financials", "revenue"),
        ("主营业务收入（万元）", "financials", "main_revenue"),
        (" 资产总计 ", "financials", "total_assets"),
        ("REVENUE", "financials", "revenue"),
        ("营业收入", "firms", None),  # not a firms column
        ("备注", "firms", None),
    ],
)
def test_header_aliases(header, table, column):
    assert resolve_header(header, table) == column


@pytest.mark.parametrize("table", [*TABLES, "frame"])
def test_every_expectation_is_compilable_and_documented(table):
    cfgs = frame_expectations() if table == "frame" else table_expectations(table)
    ids = [c["meta"]["id"] for c in cfgs]
    assert len(ids) == len(set(ids))
    for c in cfgs:
        assert c["type"] in ROW_TYPES | SCHEMA_TYPES, c["type"]
        assert c["meta"]["rule"] and c["meta"]["message"]
        assert c["meta"]["level"] in ("row", "schema")


def test_unknown_expectation_type_fails_loudly():
    bad = {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "x"}, "meta": {}}
    with pytest.raises(NotImplementedError, match="expect_column_mean_to_be_between"):
        rowcheck.failures(pl.DataFrame({"x": [1]}), [bad], {})


def test_contract_covers_the_issue_rules():
    fin = {
        (c["meta"]["rule"], str(c["kwargs"].get("column")))
        for c in table_expectations("financials")
    }
    assert ("MONEY-NEG", "revenue") in fin
    assert ("MONEY-NEG", "net_profit") not in fin  # a loss is a legitimate negative amount
    assert ("YEAR-FUTURE", "year") in fin
    rules = {c["meta"]["rule"] for c in table_expectations("financials")}
    assert {"CROSS-MAIN-REVENUE", "CROSS-RD-STAFF", "REF-FIRM", "KEY-DUP", "USCC"} <= rules
    firms = {c["meta"]["rule"] for c in table_expectations("firms")}
    assert {"CODE-INDUSTRY", "CODE-DISTRICT", "DATE-FUTURE", "KEY-DUP"} <= firms
    assert "REF-FIRM" not in firms


def _dirty(clean_tables, set_cell, AS_OF) -> dict[str, pl.DataFrame]:
    t = clean_tables()
    f = t["firms"]
    f = set_cell(f, 0, "uscc", f["uscc"][0][:-1] + ("0" if f["uscc"][0][-1] != "0" else "1"))
    f = set_cell(f, 1, "industry", "0000")
    f = set_cell(f, 2, "district", "420100")
    f = set_cell(f, 3, "registered_capital", -1.0)
    f = set_cell(f, 4, "status", "unknown")
    f = set_cell(f, 5, "established", AS_OF.replace(year=2030))
    f = pl.concat([f, f[2], f.with_columns(uscc=pl.lit(None, dtype=pl.String))[1]])
    fin = t["financials"]
    for row, col, val in [
        (0, "revenue", -5.0),
        (1, "main_revenue", 5000.0),
        (2, "year", 2031),
        (3, "rd_staff", 10_000),
        (4, "uscc", "91420100177855421C"),
        (5, "uscc", None),
        (6, "revenue", None),
        (7, "year", 2023),
        (8, "uscc", "9142"),
    ]:
        fin = set_cell(fin, row, col, val)
    cred = set_cell(t["credentials"], 0, "market_share_domestic", 1.5)
    cred = set_cell(cred, 1, "rd_institution_level", "galactic")
    cred = set_cell(cred, 2, "sci_award_year", 2040)
    rec = set_cell(t["recognitions"], 0, "expires", AS_OF.replace(year=2020))
    t.update(firms=f, financials=fin, credentials=cred, recognitions=rec)
    return t


@pytest.fixture
def dirty(clean_tables, set_cell, as_of) -> dict[str, pl.DataFrame]:
    return _dirty(clean_tables, set_cell, as_of)


@pytest.mark.parametrize("table", list(TABLES))
def test_gx_and_polars_flag_the_same_rows(dirty, table, as_of):
    """Parity: real GX (pandas, COMPLETE, unexpected_index_column_names) vs the polars path."""
    from data_contracts.suites import run_suite

    df = dirty[table]
    params = parameters(as_of, dirty["firms"]["uscc"].drop_nulls().to_list())
    cfgs = table_expectations(table)
    results = run_suite(table, df, cfgs, params)
    assert not [r for r in results if r["error"]], [r["error"] for r in results if r["error"]]
    gx_pairs = {(row, r["id"]) for r in results for row in r["rows"]}
    fl = rowcheck.failures(df, cfgs, params)
    polars_pairs = set(zip(fl["row"].to_list(), fl["id"].to_list(), strict=True))
    assert polars_pairs == gx_pairs
    if table in ("firms", "financials", "credentials", "recognitions"):
        assert polars_pairs  # the corrupted tables must actually fail something
    run_ids = {r["id"] for r in results}
    row_ids = {c["meta"]["id"] for c in cfgs if c["meta"]["level"] == "row"}
    assert row_ids <= run_ids  # every row rule really ran in GX


def _frame(as_of):
    from tiering.frame import FRAME_COLUMNS
    from tiering.uscc import complete

    codes = [complete(f"9142010{i}MA4K0000{i}") for i in range(5)]
    rows = {
        "uscc": [codes[0], codes[1][:-1] + "Z", codes[2], codes[3], codes[4]],
        "district": ["420111", "420111", "420100", "420111", "420111"],
        "revenue_y1": [100.0, 100.0, -1.0, 100.0, 100.0],
        "main_revenue_y1": [101.0, 90.0, None, 102.0, 90.0],
        "market_share_domestic": [0.1, None, None, None, 1.5],
        "sci_award_year": [as_of.year, None, None, None, as_of.year + 1],
    }
    schema = {c.name: c.dtype for c in FRAME_COLUMNS}
    return pl.DataFrame({k: rows.get(k, [None] * 5) for k in schema}, schema=schema)


def test_validate_frame_sets_aside_bad_firms_with_reasons(as_of):
    from data_contracts.validate import validate_frame

    r = validate_frame(_frame(as_of), as_of)
    got = {(row, rule) for row, rule in r.quarantine.select("row", "rule").iter_rows()}
    assert got == {
        (1, "USCC-CHAR"),
        (2, "CODE-DISTRICT"),
        (2, "MONEY-NEG"),
        (3, "CROSS-MAIN-REVENUE"),
        (4, "RATIO"),
        (4, "YEAR-FUTURE"),
    }
    assert r.counts["frame"] == {"rows_in": 5, "rows_valid": 1, "rows_quarantined": 4}
    assert r.tables["frame"]["uscc"].to_list() == [_frame(as_of)["uscc"][0]]
    assert validate_frame(_frame(as_of).drop("uscc"), as_of).fatal


def test_frame_suite_gx_parity(as_of):
    from data_contracts.suites import run_suite

    df = _frame(as_of)
    cfgs = frame_expectations(df.columns)
    results = run_suite("frame", df, cfgs, parameters(as_of))
    assert not [r["error"] for r in results if r["error"]]
    fl = rowcheck.failures(df, cfgs, parameters(as_of))
    assert set(zip(fl["row"], fl["id"], strict=True)) == {
        (row, r["id"]) for r in results for row in r["rows"]
    }
