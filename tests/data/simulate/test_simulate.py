"""Behaviour of the simulated city: contract shape, clean-mode invariants, determinism, dirt."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import polars as pl
import pytest
from typer.testing import CliRunner

from data_contracts.tables import EVENT_KINDS, TABLES
from tiering.codes import WUHAN_DISTRICTS, industries, streets
from tiering.simulate import simulate
from tiering.simulate.dirty import KINDS
from tiering.uscc import uscc_problem_expr, validate

MONEY = ("revenue", "main_revenue", "total_costs", "total_assets", "total_liabilities",
         "rd_expense", "equity_financing", "export_revenue")  # fmt: skip


def test_seven_tables_with_contract_columns_and_dtypes(small_city):
    assert list(small_city) == list(TABLES)
    for name, spec in TABLES.items():
        assert small_city[name].schema == pl.Schema(spec.schema()), name


def test_keys_unique_and_usccs_valid(small_city):
    for name, spec in TABLES.items():
        df = small_city[name]
        assert df.select(spec.key).is_duplicated().sum() == 0, name
        assert df.select(uscc_problem_expr("uscc").is_not_null().sum()).item() == 0, name
    firms = small_city["firms"]
    # region code of the USCC is the firm's district
    assert (firms["uscc"].str.slice(2, 6) == firms["district"]).all()
    assert set(firms["district"]) <= WUHAN_DISTRICTS
    for child in ("financials", "ip", "credentials", "stats_roster", "events"):
        assert small_city[child]["uscc"].is_in(firms["uscc"].implode()).all(), child


def test_codes_are_real(small_city):
    firms = small_city["firms"]
    assert firms["industry"].is_in(industries()["code"].implode()).all()
    st = streets()
    joined = firms.join(
        st.select(street="code", st_district="district", st_zone="zone"), on="street"
    )
    assert joined.height == firms.height
    assert (joined["st_district"] == joined["district"]).all()
    assert (joined["zone"].fill_null("-") == joined["st_zone"].fill_null("-")).all()
    assert small_city["events"]["kind"].is_in(list(EVENT_KINDS)).all()


def test_clean_mode_invariants(small_city):
    fin = small_city["financials"]
    for c in MONEY:
        assert (fin[c] >= 0).all(), c
        assert fin[c].null_count() == 0, c
    assert (fin["main_revenue"] <= fin["revenue"]).all()
    assert (fin["rd_staff"] <= fin["employees"]).all()
    assert (fin["rd_expense"] <= fin["revenue"]).all()
    ip = small_city["ip"]
    assert (ip["class1_self_developed"] <= ip["class1_ip"]).all()
    assert (ip["class1_high_value"] <= ip["class1_ip"]).all()
    assert (ip["class1_ip"] <= ip["invention_patents"]).all()
    firms = small_city["firms"]
    assert (firms["established"] <= dt.date(2025, 12, 31)).all()
    closed = firms.filter(pl.col("closed").is_not_null())
    assert (closed["status"] != "active").all() and (closed["closed"] > closed["established"]).all()
    assert (firms.filter(pl.col("closed").is_null())["status"] == "active").all()


def test_rows_only_while_registered(small_city):
    fin = small_city["financials"].join(small_city["firms"], on="uscc")
    assert (fin["year"] >= fin["established"].dt.year()).all()
    assert fin.filter(
        pl.col("closed").is_not_null() & (pl.col("year") >= pl.col("closed").dt.year())
    ).is_empty()


def test_heavy_tail_and_cluster_overrepresentation(small_city):
    rev = small_city["financials"].filter(pl.col("year") == 2024)["revenue"]
    assert rev.quantile(0.99) > 20 * rev.median()
    share = small_city["firms"]["industry"].str.slice(0, 2).value_counts(normalize=True)
    c39 = share.filter(pl.col("industry") == "39")["proportion"].item()
    c13 = share.filter(pl.col("industry") == "13")["proportion"]  # 农副食品加工: no boost
    assert c39 > (c13.item() if c13.len() else 0.0)


def test_platform_score_only_from_2025(small_city):
    cred = small_city["credentials"]
    assert (
        cred.filter(pl.col("year") < 2025)["platform_score"].null_count()
        == cred.filter(pl.col("year") < 2025).height
    )
    scored = cred.filter(pl.col("platform_score").is_not_null())
    assert scored.height > 0
    assert (scored["platform_score_date"].dt.year() == scored["year"]).all()
    assert scored["platform_score"].is_between(0, 100).all()


def test_roster_follows_last_years_line(small_city):
    """§8: a firm on year Y's roster met its line on Y−1 figures (industry: main revenue ≥ 2000)."""
    roster = small_city["stats_roster"].filter(
        pl.col("in_roster") & (pl.col("four_above_kind") == "工业")
    )
    prev = small_city["financials"].select("uscc", pl.col("year") + 1, "main_revenue")
    joined = roster.join(prev, on=["uscc", "year"], how="left")
    assert (joined["main_revenue"] >= 2000).all()
    leaving = (
        small_city["stats_roster"].filter(~pl.col("in_roster")).join(prev, on=["uscc", "year"])
    )
    assert leaving.height > 0  # 退规 rows exist


def test_same_seed_same_tables_other_seed_differs():
    a = simulate(400, seed=9, years=(2022, 2024), recognitions=False)
    b = simulate(400, seed=9, years=(2022, 2024), recognitions=False)
    c = simulate(400, seed=10, years=(2022, 2024), recognitions=False)
    for name in TABLES:
        assert a[name].equals(b[name]), name
    assert not a["financials"].equals(c["financials"])


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_cli_writes_byte_identical_folders(tmp_path):
    from tiering.cli.main import app

    runner = CliRunner()
    args = [
        "simulate",
        "--firms",
        "600",
        "--seed",
        "4",
        "--years",
        "2021-2024",
        "--no-recognitions",
    ]
    for d in ("a", "b"):
        res = runner.invoke(app, [*args, "--out", str(tmp_path / d)])
        assert res.exit_code == 0, res.output
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    manifest = json.loads((tmp_path / "a" / "simulation.json").read_text(encoding="utf-8"))
    assert manifest["rows"]["firms"] == 600 and manifest["arguments"]["seed"] == 4
    assert "营业收入" in (tmp_path / "a" / "columns.md").read_text(encoding="utf-8")
    back = pl.read_parquet(tmp_path / "a" / "financials.parquet")
    assert back.schema == pl.Schema(TABLES["financials"].schema())


def test_cli_gbk_csv_with_chinese_headers(tmp_path):
    from tiering.cli.main import app

    res = CliRunner().invoke(app, ["simulate", "--firms", "300", "--years", "2023-2024", "--out",
                                   str(tmp_path), "--format", "csv", "--encoding", "gbk",
                                   "--headers", "zh", "--no-recognitions"])  # fmt: skip
    assert res.exit_code == 0, res.output
    raw = (tmp_path / "firms.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gbk")
    assert text.splitlines()[0].split(",")[:3] == ["统一社会信用代码", "企业名称", "成立日期"]
    df = pl.read_csv(text.encode("utf-8"), infer_schema=False)
    assert df.height == 300


def test_parquet_refuses_gbk(tmp_path):
    from tiering.cli.main import app

    res = CliRunner().invoke(app, ["simulate", "--firms", "50", "--out", str(tmp_path),
                                   "--encoding", "gbk", "--no-recognitions"])  # fmt: skip
    assert res.exit_code != 0


def test_dirty_ledger_points_at_each_defect(dirty_run):
    t, inj = dirty_run.tables, dirty_run.injected
    assert set(inj["kind"]) == set(KINDS)
    for table, row, uscc, column, kind in inj.iter_rows():
        rec = t[table].row(row, named=True)
        assert rec["uscc"] == uscc, (table, row, kind)
        value = rec[column]
        if kind == "bad_uscc_check":
            with pytest.raises(Exception, match="校验码"):
                validate(value)
        elif kind == "negative_money":
            assert value < 0
        elif kind == "missing_money":
            assert value is None
        elif kind == "unknown_industry":
            assert value not in set(industries()["code"])
        elif kind == "future_date":
            assert value > dt.date(2024, 12, 31)
        elif kind == "duplicate_firm":
            assert t["firms"].filter(pl.col("uscc") == uscc).height == 2
        elif kind == "orphan_child":
            assert uscc not in set(t["firms"]["uscc"])
            validate(uscc)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="dirty"):
        simulate(10, seed=1, dirty=0.9, recognitions=False)
    with pytest.raises(ValueError, match="年份"):
        simulate(10, seed=1, years=(2025, 2019), recognitions=False)


def test_recognition_rounds_are_deterministic_and_titles_feed_back():
    """Same seed → same titles (per-firm keyed draws); titled firms out-invest their peers."""
    a = simulate(2500, seed=13, years=(2022, 2024))
    b = simulate(2500, seed=13, years=(2022, 2024))
    for name in TABLES:
        assert a[name].equals(b[name]), name
    rec = a["recognitions"]
    assert rec.height > 0 and set(rec["tier"]) >= {"tech_sme", "innovative"}
    spec = rec.filter(pl.col("tier").is_in(["specialized", "little_giant"]))["uscc"].implode()
    fin = a["financials"].filter(pl.col("year") == 2024)
    titled = fin.filter(pl.col("uscc").is_in(spec))
    others = fin.filter(~pl.col("uscc").is_in(spec) & (pl.col("rd_expense") > 0))
    ratio = pl.col("rd_expense") / pl.col("revenue")
    assert titled.select(ratio.median()).item() > others.select(ratio.median()).item()


@pytest.mark.parametrize("n", [1, 10, 60])
def test_tiny_cities_give_every_table_with_contract_columns(n):
    """A city so small that some year has no IP or roster rows still gives all seven tables."""
    tables = simulate(n, seed=11, years=(2021, 2024))
    assert tables["firms"].height == n
    for name, spec in TABLES.items():
        assert tables[name].columns == [c.name for c in spec.columns], name
        assert tables[name].schema == pl.Schema({c.name: c.dtype for c in spec.columns}), name
