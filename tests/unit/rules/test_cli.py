"""CLI: ``tiering assess`` writes the three parquet files; ``rules list|show|diff``."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from tiering.cli.main import app

from .conftest import frame

runner = CliRunner()


def _input(tmp_path: Path) -> Path:
    p = tmp_path / "frame.parquet"
    frame(
        {}, {"rd_expense_y1": 10.0}, {"niche_years": 1.0, "market_position_ok": None}
    ).write_parquet(p)
    return p


def test_assess_writes_three_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = runner.invoke(
        app,
        ["assess", "--input", str(_input(tmp_path)), "--as-of", "2026-06-30", "--out", str(out)],
    )
    assert r.exit_code == 0, r.output
    crit = pl.read_parquet(out / "criteria.parquet")
    tiers = pl.read_parquet(out / "tiers.parquet")
    firms = pl.read_parquet(out / "firms.parquet")
    assert set(crit.columns) >= {
        "uscc",
        "pack",
        "criterion_id",
        "status",
        "value",
        "threshold",
        "points",
        "max_points",
        "gap",
    }
    assert set(tiers["pack"].cast(pl.String)) == {
        "tech_sme-2017",
        "innovative-2022",
        "specialized-2026",
        "little_giant-2026",
        "champion-2023",
    }
    assert firms.height == 3 and "eligible_tier" in firms.columns
    assert "EL" in set(crit["pack"].cast(pl.String))


def test_assess_explicit_packs_and_review(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = runner.invoke(
        app,
        [
            "assess",
            "-i",
            str(_input(tmp_path)),
            "--as-of",
            "2026-06-30",
            "-o",
            str(out),
            "--packs",
            "specialized-2022,specialized-2026",
            "--application",
            "review",
        ],
    )
    assert r.exit_code == 0, r.output
    tiers = pl.read_parquet(out / "tiers.parquet")
    assert sorted(set(tiers["pack"].cast(pl.String))) == ["specialized-2022", "specialized-2026"]


def test_assess_errors_are_reported(tmp_path: Path) -> None:
    p = tmp_path / "bad.parquet"
    frame().drop("revenue_y1").write_parquet(p)
    r = runner.invoke(
        app, ["assess", "-i", str(p), "--as-of", "2026-06-30", "-o", str(tmp_path / "o")]
    )
    assert r.exit_code == 2 and "revenue_y1" in r.output
    r = runner.invoke(
        app, ["assess", "-i", str(p), "--as-of", "30/06/2026", "-o", str(tmp_path / "o")]
    )
    assert r.exit_code != 0


def test_rules_list_and_show() -> None:
    r = runner.invoke(app, ["rules", "list"])
    assert (
        r.exit_code == 0 and "specialized-2026" in r.output and "工信部企业〔2026〕2号" in r.output
    )
    r = runner.invoke(app, ["rules", "show", "innovative-2022"])
    assert (
        r.exit_code == 0
        and "IN-2" in r.output
        and "不低于 20 分" in r.output
        and "0.05" in r.output
    )
    r = runner.invoke(app, ["rules", "show", "nope"])
    assert r.exit_code == 2


def test_rules_diff(tmp_path: Path) -> None:
    out = tmp_path / "diff.xlsx"
    r = runner.invoke(
        app,
        [
            "rules",
            "diff",
            "-i",
            str(_input(tmp_path)),
            "--from",
            "specialized-2022",
            "--to",
            "specialized-2026",
            "--as-of",
            "2026-06-30",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert out.exists() and "结论变化企业" in r.output
