"""validate_tables: each corruption the simulator's --dirty mode injects, cascade, fatal cases."""

from __future__ import annotations

import polars as pl
import pytest

from data_contracts.tables import TABLES
from data_contracts.validate import validate_tables


def _run(tables, as_of, **kw):
    r = validate_tables(tables, as_of, gx="off", **kw)
    for name, c in r.counts.items():
        assert c["rows_in"] == c["rows_valid"] + c["rows_quarantined"], name
        assert (
            c["rows_quarantined"] == r.quarantine.filter(pl.col("table") == name)["row"].n_unique()
        )
    return r


def _reasons(r, table):
    return r.quarantine.filter(pl.col("table") == table)


def test_clean_batch_passes(tables, as_of):
    r = _run(tables, as_of)
    assert r.ok and r.quarantine.height == 0
    assert {k: v.height for k, v in r.tables.items()} == {k: v.height for k, v in tables.items()}
    assert r.report["status"] == "ok"


def test_bad_uscc_check_names_the_right_character(tables, as_of, set_cell):
    good = tables["firms"]["uscc"][1]
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    tables["firms"] = set_cell(tables["firms"], 1, "uscc", wrong)
    r = _run(tables, as_of, max_bad_share=1.0)
    q = _reasons(r, "firms")
    assert q.select("row", "rule").rows() == [(1, "USCC-CHECK")]
    assert f"应为“{good[-1]}”" in q["message"][0] and wrong in q["message"][0]


def test_negative_money_is_quarantined_but_a_loss_is_not(tables, as_of, set_cell):
    tables["financials"] = set_cell(tables["financials"], 4, "rd_expense", -1.0)
    r = _run(tables, as_of)
    q = _reasons(r, "financials")
    assert q.select("row", "column", "rule", "value").rows() == [
        (4, "rd_expense", "MONEY-NEG", "-1.0")
    ]
    assert "研发费用不得为负数" in q["message"][0]
    # row 3 of the fixture has net_profit = -50 (a loss): valid
    assert r.tables["financials"].filter(pl.col("net_profit") < 0).height == 1


def test_missing_money_stays_valid_as_unknown_and_is_reported_in_null_rates(
    tables, as_of, set_cell
):
    tables["financials"] = set_cell(tables["financials"], 2, "revenue", None)
    r = _run(tables, as_of)
    assert r.quarantine.height == 0
    assert r.tables["financials"]["revenue"].null_count() == 1
    assert r.report["profile"]["financials"]["null_rate"]["revenue"] == pytest.approx(1 / 12)


def test_missing_key_is_quarantined(tables, as_of, set_cell):
    tables["financials"] = set_cell(tables["financials"], 2, "year", None)
    r = _run(tables, as_of)
    assert _reasons(r, "financials").select("row", "rule").rows() == [(2, "KEY-NULL")]


def test_duplicate_firm_quarantines_every_copy_and_their_children(tables, as_of):
    firms = tables["firms"]
    tables["firms"] = pl.concat([firms, firms[2]])
    dup = firms["uscc"][2]
    r = _run(tables, as_of, max_bad_share=1.0)
    q = _reasons(r, "firms")
    assert sorted(q.filter(pl.col("rule") == "KEY-DUP")["row"].to_list()) == [2, 6]
    fin = _reasons(r, "financials")
    assert set(fin["uscc"]) == {dup} and set(fin["rule"]) == {"PARENT-QUARANTINED"}
    assert fin["message"].str.contains("所属企业已隔离").all()
    assert dup not in r.tables["financials"]["uscc"].to_list()


def test_unknown_industry(tables, as_of, set_cell):
    tables["firms"] = set_cell(tables["firms"], 0, "industry", "9999")
    r = _run(tables, as_of, max_bad_share=1.0)
    assert _reasons(r, "firms").select("row", "rule", "value").rows() == [
        (0, "CODE-INDUSTRY", "9999")
    ]


@pytest.mark.parametrize(
    ("table", "column", "value", "rule"),
    [
        ("firms", "established", "2025-07-01", "DATE-FUTURE"),
        ("events", "date", "2030-01-01", "DATE-FUTURE"),
        ("recognitions", "granted", "2026-01-01", "DATE-FUTURE"),
        ("financials", "year", 2026, "YEAR-FUTURE"),
    ],
)
def test_future_dates_and_years(tables, as_of, set_cell, table, column, value, rule):
    from datetime import date

    v = date.fromisoformat(value) if isinstance(value, str) else value
    tables[table] = set_cell(tables[table], 0, column, v)
    r = _run(tables, as_of, max_bad_share=1.0)
    q = _reasons(r, table)
    assert (0, column, rule) in q.select("row", "column", "rule").rows()


def test_dates_on_the_run_date_are_fine(tables, as_of, set_cell):
    tables["firms"] = set_cell(tables["firms"], 0, "established", as_of)
    tables["financials"] = set_cell(tables["financials"], 1, "year", as_of.year)
    assert _run(tables, as_of).quarantine.height == 0


def test_orphan_child(tables, as_of, set_cell):
    from tiering.uscc import complete

    stranger = complete("91420100MA4K99999")
    tables["ip"] = set_cell(tables["ip"], 5, "uscc", stranger)
    r = _run(tables, as_of)
    assert _reasons(r, "ip").select("row", "rule", "value").rows() == [(5, "REF-FIRM", stranger)]


def test_cross_column_rules(tables, as_of, set_cell):
    fin = tables["financials"]
    rev = fin["revenue"][0]
    fin = set_cell(fin, 0, "main_revenue", rev * 1.01)  # on the tolerance: fine
    fin = set_cell(fin, 1, "main_revenue", fin["revenue"][1] * 1.02)  # above: quarantined
    fin = set_cell(fin, 2, "rd_staff", fin["employees"][2] + 1)
    fin = set_cell(fin, 3, "rd_staff", fin["employees"][3])  # equal: fine
    tables["financials"] = fin
    r = _run(tables, as_of)
    assert _reasons(r, "financials").select("row", "rule").rows() == [
        (1, "CROSS-MAIN-REVENUE"),
        (2, "CROSS-RD-STAFF"),
    ]


def test_a_row_with_several_problems_counts_once_with_all_reasons(tables, as_of, set_cell):
    fin = set_cell(tables["financials"], 0, "revenue", -1.0)
    fin = set_cell(fin, 0, "total_assets", -2.0)
    fin = set_cell(fin, 0, "year", 2099)
    tables["financials"] = fin
    r = _run(tables, as_of)
    q = _reasons(r, "financials")
    assert set(q["rule"]) == {"MONEY-NEG", "YEAR-FUTURE", "CROSS-MAIN-REVENUE"}
    assert q.height == 4 and r.counts["financials"]["rows_quarantined"] == 1


def test_enums_and_ratios(tables, as_of, set_cell):
    cred = set_cell(tables["credentials"], 0, "market_share_domestic", 1.2)
    cred = set_cell(cred, 1, "rd_institution_level", "国家级")
    tables["credentials"] = cred
    r = _run(tables, as_of)
    assert _reasons(r, "credentials").select("row", "rule").rows() == [(0, "RATIO"), (1, "ENUM")]


def test_missing_table_is_fatal(tables, as_of):
    del tables["ip"]
    r = _run(tables, as_of)
    assert r.fatal and "知识产权（ip）" in r.reason


def test_missing_required_column_is_fatal(tables, as_of):
    tables["financials"] = tables["financials"].drop("revenue")
    r = _run(tables, as_of)
    assert r.fatal and "revenue（营业收入）" in r.reason


def test_missing_optional_column_is_added_as_null(tables, as_of):
    tables["financials"] = tables["financials"].drop("export_revenue")
    r = _run(tables, as_of)
    assert r.ok and r.tables["financials"]["export_revenue"].null_count() == 12


def test_key_of_the_wrong_type_is_fatal(tables, as_of):
    tables["financials"] = tables["financials"].with_columns(pl.col("year").cast(pl.String))
    r = _run(tables, as_of)
    assert r.fatal and "主键字段year" in r.reason


def test_lossless_int_width_is_accepted(tables, as_of):
    tables["financials"] = tables["financials"].with_columns(pl.col("year").cast(pl.Int32))
    assert _run(tables, as_of).ok


def test_too_many_bad_rows_is_fatal(tables, as_of, set_cell):
    firms = tables["firms"]
    for i in range(3):
        firms = set_cell(firms, i, "industry", "0000")
    tables["firms"] = firms
    r = _run(tables, as_of, max_bad_share=0.2)
    assert r.fatal and "隔离比例50.0%超过上限20%" in r.reason
    assert _run(tables, as_of, max_bad_share=0.6).ok


def test_empty_firms_is_fatal(tables, as_of):
    tables["firms"] = tables["firms"].head(0)
    r = _run(tables, as_of)
    assert r.fatal and "没有数据行" in r.reason


def test_batch_checks_against_previous_run(tables, as_of):
    first = _run(tables, as_of)
    again = _run(tables, as_of, previous=first.report)
    assert again.ok and again.report["batch_findings"] == []
    half = dict(tables, firms=tables["firms"].head(2))
    r = validate_tables(half, as_of, previous=first.report, gx="off", max_bad_share=1.0)
    rows = [f for f in r.report["batch_findings"] if f["check"] == "rows" and f["table"] == "firms"]
    assert rows and rows[0]["level"] == "failure" and r.fatal
    shifted = dict(tables, firms=tables["firms"].with_columns(district=pl.lit("420111")))
    r = validate_tables(shifted, as_of, previous=first.report, gx="off")
    assert any(
        f["check"] == "distribution" and f["column"] == "district"
        for f in r.report["batch_findings"]
    )


def test_contract_of_record_runs_gx_and_finds_no_drift(tables, as_of, set_cell):
    tables["financials"] = set_cell(tables["financials"], 0, "revenue", -1.0)
    r = validate_tables(tables, as_of, gx="sample")
    cor = r.report["contract_of_record"]["tables"]
    assert cor["financials"]["drift"] == [] and cor["financials"]["errors"] == []
    assert [f["rule"] for f in cor["financials"]["failed"]] == [
        "MONEY-NEG",
        "CROSS-MAIN-REVENUE",
    ] or {f["rule"] for f in cor["financials"]["failed"]} == {"MONEY-NEG", "CROSS-MAIN-REVENUE"}


def test_only_contract_columns_travel_on(tables, as_of):
    tables["firms"] = (
        tables["firms"]
        .with_columns(legal_person=pl.lit("张三"))
        .select("legal_person", *tables["firms"].columns[::-1])
    )
    r = _run(tables, as_of)
    assert r.ok and r.tables["firms"].columns == list(TABLES["firms"].schema())
    assert r.report["ignored_columns"] == {"firms": ["legal_person"]}


def test_an_empty_child_table_is_usable_but_warned(tables, as_of):
    from data_contracts.report import render_markdown

    tables["events"] = tables["events"].head(0)
    r = _run(tables, as_of)
    warn = [f for f in r.report["batch_findings"] if f["table"] == "events"]
    assert r.ok and [(f["level"], f["check"]) for f in warn] == [("warning", "rows")]
    md = render_markdown(r)
    assert "【警告】信用与事故事件没有数据行" in md and "未提供上次运行的报告" in md


def test_gx_contract_run_makes_no_network_call(tables, as_of, monkeypatch):
    """Runs offline: GX analytics off, no version check, no socket opened during a GX run."""
    import socket

    attempts: list[object] = []

    def refuse(self, address, *a, **k):
        attempts.append(address)
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    r = validate_tables(tables, as_of, gx="full")
    assert r.ok and attempts == []
    assert all(t["drift"] == [] for t in r.report["contract_of_record"]["tables"].values())
