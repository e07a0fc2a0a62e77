"""Readers (GBK CSV, BOM, XLSX, empty, unparseable cells) and the ``tiering validate`` command."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest
from typer.testing import CliRunner

from data_contracts.readers import ReadError, read_table, read_table_info, read_tables
from data_contracts.tables import TABLES
from data_contracts.validate import validate_tables


def _chinese_csv(df: pl.DataFrame, table: str) -> str:
    labels = {c.name: c.label for c in TABLES[table].columns}
    return df.rename(labels).write_csv()


def test_gbk_csv_with_chinese_headers_and_yuan(tmp_path, tables):
    text = _chinese_csv(tables["financials"], "financials").replace(
        "营业收入,", "营业收入（元）,", 1
    )
    p = tmp_path / "financials.csv"
    p.write_bytes(text.encode("gbk"))
    info = read_table_info(p, "financials", money_unit="yuan")
    assert info.encoding == "gbk" and info.header_map["营业收入（元）"] == "revenue"
    df = info.frame
    assert df.schema == pl.Schema(TABLES["financials"].schema())
    assert df["revenue"][0] == pytest.approx(tables["financials"]["revenue"][0] / 10_000)
    assert df["employees"].to_list() == tables["financials"]["employees"].to_list()  # not money


def test_gb18030_and_utf8_bom(tmp_path, tables):
    firms = tables["firms"].with_columns(name=pl.lit("武汉㐀科技有限公司"))  # outside GBK
    text = _chinese_csv(firms, "firms")
    (tmp_path / "a.csv").write_bytes(text.encode("gb18030"))
    (tmp_path / "b.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    a = read_table_info(tmp_path / "a.csv", "firms")
    b = read_table_info(tmp_path / "b.csv", "firms")
    assert (a.encoding, b.encoding) == ("gb18030", "utf-8-sig")
    assert a.frame["name"][0] == b.frame["name"][0] == "武汉㐀科技有限公司"
    assert a.frame["established"].to_list() == tables["firms"]["established"].to_list()


def test_xlsx_with_dates_numbers_and_flags(tmp_path):
    import xlsxwriter

    from tiering.uscc import complete

    p = tmp_path / "企业基本信息（工商登记）.xlsx"
    wb = xlsxwriter.Workbook(p)
    ws = wb.add_worksheet()
    ws.write_row(
        0,
        0,
        [
            "统一社会信用代码",
            "企业名称",
            "成立日期",
            "登记状态",
            "所属区",
            "行业代码",
            "注册资本（万元）",
            "居民企业",
        ],
    )
    u = complete("91420100MA4K12345")
    ws.write_row(1, 0, [u, "甲公司", date(2015, 3, 2), "active", "420111", "3973", 1500, "是"])
    ws.write_row(
        2, 0, [u[:-1] + "Z", "乙公司", "2018/7/9", "active", "420106", "3911", "1,000.5", "否"]
    )
    wb.close()
    got = read_tables(tmp_path)
    assert list(got) == ["firms"]
    df = got["firms"]
    assert df["established"].to_list() == [date(2015, 3, 2), date(2018, 7, 9)]
    assert df["registered_capital"].to_list() == [1500.0, 1000.5]
    assert df["resident"].to_list() == [True, False]
    assert df["closed"].null_count() == 2  # optional column added


def test_unparseable_cell_becomes_a_type_reason(tmp_path, tables, as_of):
    fin = tables["financials"].with_columns(pl.col("revenue").cast(pl.String))
    fin = fin.with_columns(
        revenue=pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("一千")).otherwise("revenue")
    )
    p = tmp_path / "financials.csv"
    p.write_text(_chinese_csv(fin, "financials"), encoding="utf-8")
    tables["financials"] = read_table(p, "financials")
    r = validate_tables(tables, as_of, gx="off")
    q = r.quarantine
    assert q.select("table", "row", "line", "column", "rule", "value").rows() == [
        ("financials", 3, 5, "revenue", "TYPE", "一千")
    ]
    assert "营业收入“一千”无法识别为数值" in q["message"][0]
    assert "_parse_errors" not in r.tables["financials"].columns


def test_empty_file_raises(tmp_path):
    (tmp_path / "firms.csv").write_bytes(b"")
    with pytest.raises(ReadError, match="为空"):
        read_table(tmp_path / "firms.csv", "firms")


def test_two_headers_for_one_column_raise(tmp_path):
    (tmp_path / "f.csv").write_text("统一社会信用代码,营业收入,营业总收入,年度\n", encoding="utf-8")
    with pytest.raises(ReadError, match=r"营业收入.*营业总收入"):
        read_table(tmp_path / "f.csv", "financials")


def _write_dir(tables, d):
    d.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.write_parquet(d / f"{name}.parquet")


def test_cli_writes_outputs_and_exits_zero_when_only_rows_are_set_aside(tmp_path, tables, set_cell):
    from tiering.cli.main import app

    tables["financials"] = set_cell(tables["financials"], 0, "revenue", -1.0)
    _write_dir(tables, tmp_path / "in")
    res = CliRunner().invoke(
        app,
        [
            "validate",
            "--data",
            str(tmp_path / "in"),
            "--as-of",
            "2025-06-30",
            "--out",
            str(tmp_path / "out"),
            "--gx",
            "off",
        ],
    )
    assert res.exit_code == 0, res.output
    q = pl.read_parquet(tmp_path / "out" / "quarantine.parquet")
    assert q.height == 2 and set(q["row"]) == {0}
    rep = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert rep["tables"]["financials"]["rows_quarantined"] == 1 and not rep["fatal"]
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "本批数据可用" in md and "营业收入不得为负数" in md


def test_cli_fails_with_a_clear_message_on_a_missing_column(tmp_path, tables):
    from tiering.cli.main import app

    tables["firms"] = tables["firms"].drop("industry")
    _write_dir(tables, tmp_path / "in")
    res = CliRunner().invoke(
        app,
        [
            "validate",
            "--data",
            str(tmp_path / "in"),
            "--as-of",
            "2025-06-30",
            "--out",
            str(tmp_path / "out"),
            "--gx",
            "off",
        ],
    )
    assert res.exit_code == 2
    assert "industry（行业代码）" in res.output
    assert "不可用" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")


def test_cli_fails_on_an_empty_file(tmp_path, tables):
    from tiering.cli.main import app

    _write_dir(tables, tmp_path / "in")
    (tmp_path / "in" / "events.parquet").unlink()
    (tmp_path / "in" / "events.csv").write_bytes(b"")
    res = CliRunner().invoke(
        app,
        ["validate", "--data", str(tmp_path / "in"), "--out", str(tmp_path / "o"), "--gx", "off"],
    )
    assert res.exit_code == 2 and "events.csv为空" in res.output
    md = (tmp_path / "o" / "report.md").read_text(encoding="utf-8")
    assert "本批数据不可用" in md and "events.csv为空" in md
    rep = json.loads((tmp_path / "o" / "report.json").read_text(encoding="utf-8"))
    assert rep["fatal"] and rep["status"] == "unusable"


def test_cli_rejects_an_unreadable_previous_report(tmp_path, tables):
    from tiering.cli.main import app

    _write_dir(tables, tmp_path / "in")
    (tmp_path / "prev.json").write_text("{not json", encoding="utf-8")
    args = ["validate", "--data", str(tmp_path / "in"), "--out", str(tmp_path / "o"), "--gx", "off"]
    res = CliRunner().invoke(app, [*args, "--previous", str(tmp_path / "prev.json")])
    assert res.exit_code == 2 and "无法读取上次运行的报告" in res.output


@pytest.mark.parametrize(
    ("industry_codes", "expected", "recoded"),
    [
        ("current", ["9231", "9232", "3973"], 0),
        ("pre2019", ["9232", "9233", "3973"], 2),  # 人民法院 9231->9232, 人民检察院 9232->9233
    ],
)
def test_pre2019_industry_codes_are_mapped_only_when_declared(
    tmp_path, tables, industry_codes, expected, recoded
):
    firms = tables["firms"].head(3).with_columns(industry=pl.Series(["9231", "9232", "3973"]))
    p = tmp_path / "firms.csv"
    p.write_bytes(_chinese_csv(firms, "firms").encode("gbk"))
    info = read_table_info(p, "firms", industry_codes=industry_codes)
    assert info.frame["industry"].to_list() == expected
    assert info.summary()["industry_recoded"] == recoded
    with pytest.raises(ReadError, match="行业代码版本"):
        read_table_info(p, "firms", industry_codes="2011")  # type: ignore[arg-type]


def test_register_with_amended_codes_warns(tables, as_of, set_cell):
    assert not [
        f
        for f in validate_tables(tables, as_of, gx="off").report["batch_findings"]
        if f["check"] == "industry_edition"
    ]
    tables["firms"] = set_cell(tables["firms"], 0, "industry", "9232")
    r = validate_tables(tables, as_of, gx="off")
    found = [f for f in r.report["batch_findings"] if f["check"] == "industry_edition"]
    assert r.ok and len(found) == 1 and found[0]["level"] == "warning"
    assert (
        "第1号修改单" in found[0]["message"] and "--industry-codes pre2019" in found[0]["message"]
    )


def test_cli_industry_codes_option(tmp_path, tables):
    from tiering.cli.main import app

    tables["firms"] = tables["firms"].with_columns(
        industry=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("9231")).otherwise("industry")
    )
    (tmp_path / "in").mkdir()
    for name, df in tables.items():
        (tmp_path / "in" / f"{name}.csv").write_text(_chinese_csv(df, name), encoding="utf-8")
    args = ["validate", "--data", str(tmp_path / "in"), "--as-of", "2025-06-30", "--gx", "off"]
    res = CliRunner().invoke(
        app, [*args, "--out", str(tmp_path / "o"), "--industry-codes", "pre2019"]
    )
    assert res.exit_code == 0, res.output
    rep = json.loads((tmp_path / "o" / "report.json").read_text(encoding="utf-8"))
    assert rep["sources"]["firms"]["industry_recoded"] == 1
    assert "映射1行" in (tmp_path / "o" / "report.md").read_text(encoding="utf-8")
    bad = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "p"), "--industry-codes", "x"])
    assert bad.exit_code == 2 and "current 或 pre2019" in bad.output


def test_parquet_numbers_of_another_width_never_change_silently(tmp_path, tables, as_of):
    fin = tables["financials"].with_columns(
        pl.col("employees").cast(pl.Float64), pl.col("revenue").cast(pl.Float32)
    )
    fin = fin.with_columns(
        employees=pl.when(pl.int_range(pl.len()) == 4).then(12.5).otherwise("employees")
    )
    fin.write_parquet(tmp_path / "financials.parquet")
    info = read_table_info(tmp_path / "financials.parquet", "financials")
    df = info.frame
    assert df.schema["employees"] == pl.Int64 and df.schema["revenue"] == pl.Float64
    assert df["employees"][4] is None and info.parse_errors == 1
    assert df["employees"][5] == tables["financials"]["employees"][5]
    tables["financials"] = df
    q = validate_tables(tables, as_of, gx="off").quarantine
    assert q.select("row", "column", "rule", "value").rows() == [(4, "employees", "TYPE", "12.5")]
    assert "从业人员“12.5”无法识别为整数" in q["message"][0]


def test_malformed_csv_raises_a_read_error(tmp_path):
    (tmp_path / "firms.csv").write_text("统一社会信用代码,企业名称\na,b,c,d\n", encoding="utf-8")
    with pytest.raises(ReadError, match=r"firms\.csv格式错误"):
        read_table(tmp_path / "firms.csv", "firms")


def test_key_of_the_wrong_type_is_named_in_plain_chinese(tables, as_of):
    tables["financials"] = tables["financials"].with_columns(pl.col("year").cast(pl.String))
    r = validate_tables(tables, as_of, gx="off")
    assert r.fatal and "主键字段year（年度）类型应为整数（Int64），实际为文本（String）" in r.reason
