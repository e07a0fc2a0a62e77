"""End to end against the simulator: every defect ``tiering simulate --dirty`` injects is caught.

Why against the simulator: the hand-built fixtures prove each rule on one cell; this proves the
contract on a whole city as the simulator writes it — each injected defect lands in quarantine
under the rule meant for it, missing money stays in the valid rows as *unknown*, nothing else is
set aside (no false alarms on clean simulated rows), and the GBK CSV export with Chinese headers
reads back to the same tables as the parquet files. Small city (300 firms, 4 years, no
recognition rounds) to stay fast; the CLI path is the one staff use.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from data_contracts.readers import read_table_info, read_tables
from data_contracts.tables import TABLES

SIM_ARGS = ["--firms", "300", "--seed", "3", "--years", "2021-2024", "--no-recognitions"]
AS_OF = "2024-12-31"  # the end of the simulated window
# The rule each injected kind must be caught by (on the injected row itself).
EXPECTED_RULE = {
    "bad_uscc_check": "USCC-CHECK",
    "negative_money": "MONEY-NEG",
    "duplicate_firm": "KEY-DUP",
    "unknown_industry": "CODE-INDUSTRY",
    "future_date": "DATE-FUTURE",
    "orphan_child": "REF-FIRM",
}


def _invoke(args: list[str]) -> None:
    from tiering.cli.main import app

    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output + repr(res.exception)


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> dict[str, Path]:
    """One dirty city written as parquet and as GBK CSV with Chinese headers, then validated."""
    root = tmp_path_factory.mktemp("city")
    pq, csv, out = root / "parquet", root / "csv_gbk", root / "validated"
    _invoke(["simulate", "--out", str(pq), "--dirty", "0.03", *SIM_ARGS])
    gbk = ["--format", "csv", "--encoding", "gbk", "--headers", "zh"]
    _invoke(["simulate", "--out", str(csv), "--dirty", "0.03", *SIM_ARGS, *gbk])
    _invoke(["validate", "--data", str(pq), "--as-of", AS_OF, "--out", str(out)])
    return {"parquet": pq, "csv": csv, "out": out}


@pytest.fixture(scope="module")
def ledger(city) -> pl.DataFrame:
    injected = pl.read_parquet(city["parquet"] / "injected.parquet")
    assert set(injected["kind"]) == {*EXPECTED_RULE, "missing_money"}  # every kind was injected
    return injected


@pytest.fixture(scope="module")
def quarantine(city) -> pl.DataFrame:
    return pl.read_parquet(city["out"] / "quarantine.parquet")


@pytest.mark.parametrize("kind", sorted(EXPECTED_RULE))
def test_every_injected_defect_is_caught_by_its_rule(ledger, quarantine, kind):
    want = ledger.filter(pl.col("kind") == kind)
    caught = want.join(
        quarantine.filter(pl.col("rule") == EXPECTED_RULE[kind]).select("table", "row", "uscc"),
        on=["table", "row"],
        how="semi",
    )
    missed = want.join(caught, on=["table", "row"], how="anti")
    assert missed.height == 0, missed
    if kind == "bad_uscc_check":  # the message names the right check character
        msgs = quarantine.filter(pl.col("rule") == "USCC-CHECK")["message"]
        assert msgs.str.contains("第18位校验码错误").all() and msgs.str.contains("应为“").all()


def test_injected_columns_are_named_in_the_reasons(ledger, quarantine):
    on_column = {"negative_money", "unknown_industry", "future_date"}
    want = ledger.filter(pl.col("kind").is_in(on_column)).select("table", "row", "column")
    missed = want.join(quarantine.select("table", "row", "column"), on=want.columns, how="anti")
    assert missed.height == 0, missed


def test_missing_money_is_unknown_not_quarantined(city, ledger, quarantine):
    missing = ledger.filter(pl.col("kind") == "missing_money")
    # no reason ever points at the emptied money cell ...
    blamed = missing.join(quarantine, on=["table", "row", "column"], how="semi")
    assert blamed.height == 0, blamed
    # ... and the rows are kept unless another (injected) defect of the same firm removed them
    dropped_firms = set(ledger.filter(pl.col("table") == "firms")["uscc"])
    removed = missing.join(quarantine, on=["table", "row"], how="semi")
    assert set(removed["uscc"]) <= dropped_firms | set(
        ledger.filter(pl.col("kind") == "bad_uscc_check")["uscc"]
    )
    # the empty cells are counted in the null rates of the report
    report = json.loads((city["out"] / "report.json").read_text(encoding="utf-8"))
    fin = pl.read_parquet(city["parquet"] / "financials.parquet")
    rates = report["profile"]["financials"]["null_rate"]
    for column, n in missing.group_by("column").len().iter_rows():
        assert rates[column] == pytest.approx(fin[column].null_count() / fin.height)
        assert fin[column].null_count() >= n


def test_nothing_clean_is_quarantined(ledger, quarantine):
    """Precision: each quarantined row is an injected defect or a child of a quarantined firm."""
    spoiled = ledger.filter(pl.col("kind") != "missing_money").select("table", "row")
    other = quarantine.join(spoiled, on=["table", "row"], how="anti")
    firm_defects = set(ledger.filter(pl.col("table") == "firms")["uscc"])
    # the ledger lists the second copy of a duplicated firm; the first copy goes too (KEY-DUP)
    dup = set(ledger.filter(pl.col("kind") == "duplicate_firm")["uscc"])
    first_copies = other.filter(pl.col("rule") == "KEY-DUP")
    assert set(first_copies["table"]) == {"firms"} and set(first_copies["uscc"]) == dup
    rest = other.filter(pl.col("rule") != "KEY-DUP")
    assert set(rest["rule"]) <= {"PARENT-QUARANTINED"}, rest
    assert set(rest["uscc"]) <= firm_defects


def test_report_accounts_for_every_row_and_gx_agrees(city, quarantine):
    report = json.loads((city["out"] / "report.json").read_text(encoding="utf-8"))
    assert report["status"] == "ok" and not report["fatal"]
    for name, t in report["tables"].items():
        assert t["rows_in"] == t["rows_valid"] + t["rows_quarantined"], name
        n_rows = quarantine.filter(pl.col("table") == name)["row"].n_unique()
        assert t["rows_quarantined"] == n_rows, name
    cor = report["contract_of_record"]
    assert cor["mode"] == "sample"
    for name, t in cor["tables"].items():
        assert t["drift"] == [] and t["errors"] == [], (name, t)


def test_gbk_csv_with_chinese_headers_reads_back_identically(city):
    from_parquet = read_tables(city["parquet"])
    for name in TABLES:
        info = read_table_info(city["csv"] / f"{name}.csv", name)
        if info.frame.height:
            assert info.encoding == "gbk", name
        assert not info.ignored_columns and info.parse_errors == 0, info.summary()
        assert set(info.header_map) == {c.label for c in TABLES[name].columns}
        assert_frame_equal(info.frame, from_parquet[name], check_exact=True)


def test_a_clean_simulated_city_passes_untouched():
    """No false alarms on a clean city, recognition rounds (titles, grants, expiries) included."""
    from datetime import date

    from data_contracts.validate import validate_tables
    from tiering.simulate import simulate_run

    sim = simulate_run(400, 5, (2020, 2024), recognitions=True)
    assert sim.tables["recognitions"].height > 0
    r = validate_tables(sim.tables, date(2024, 12, 31), gx="off")
    assert r.ok and r.quarantine.height == 0, r.quarantine
    assert {k: v.height for k, v in r.tables.items()} == {
        k: v.height for k, v in sim.tables.items()
    }
