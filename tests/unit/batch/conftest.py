"""Batch fixtures: a tiny hand-built city and fake stages with the real components' shapes.

The fakes stand in for contracts, features, rules and models so the run mechanics (temporary
folder, manifest, reconciliation, publishing, candidate lists) are tested on their own, fast and
exactly; ``test_real_pipeline.py`` runs the real components end to end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tiering.batch.stages import ModelOutput, Stages
from tiering.settings import Settings
from tiering.store import Store
from tiering.uscc import complete

AS_OF = dt.date(2025, 6, 30)
N_FIRMS = 40
DISTRICTS = ["420111", "420106", "420102"]
INDUSTRIES = ["3911", "6511", "5171"]
PACKS = {
    "innovative": "innovative-2022",
    "specialized": "specialized-2022",
    "little_giant": "little_giant-2022",
}


def usccs(n: int) -> list[str]:
    return [complete(f"91420100{i:09d}") for i in range(n)]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Input files (their bytes are hashed; the fake reader reads them back)."""
    d = tmp_path / "data"
    d.mkdir()
    ids = usccs(N_FIRMS)
    pl.DataFrame(
        {
            "uscc": ids,
            "name": [f"武汉样例{i}科技有限公司" for i in range(N_FIRMS)],
            "district": [DISTRICTS[i % 3] for i in range(N_FIRMS)],
            "industry": [INDUSTRIES[i % 3] for i in range(N_FIRMS)],
            "established": [
                dt.date(2030, 1, 1) if i == 7 else dt.date(2015, 1, 1) for i in range(N_FIRMS)
            ],
            "bad": [i in (3, 11) for i in range(N_FIRMS)],
        }
    ).write_parquet(d / "firms.parquet")
    pl.DataFrame(
        {
            "uscc": ids,
            "year": [2024] * N_FIRMS,
            "revenue": [500.0 + 250.0 * i for i in range(N_FIRMS)],
            "rd_expense": [10.0 + 9.0 * i for i in range(N_FIRMS)],
        }
    ).write_parquet(d / "financials.parquet")
    return d


@dataclass
class FakeValidation:
    tables: dict[str, pl.DataFrame]
    quarantine: pl.DataFrame
    report: dict[str, Any] = field(default_factory=dict)
    fatal: bool = False
    reason: str | None = None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


READ_OPTIONS: list[dict[str, Any]] = []


def fake_read(files: Mapping[str, Path], **options: Any) -> dict[str, pl.DataFrame]:
    READ_OPTIONS.append(options)
    return {k: pl.read_parquet(v) for k, v in files.items()}


def fake_validate(
    tables: Mapping[str, pl.DataFrame], as_of: dt.date, gx: str, previous: Any
) -> FakeValidation:
    firms = tables["firms"]
    bad = firms.filter("bad")
    valid_firms = firms.filter(~pl.col("bad")).drop("bad")
    fin = tables["financials"]
    fin_bad = fin.filter(pl.col("uscc").is_in(bad["uscc"].implode()))
    q = pl.concat(
        [
            bad.select(pl.lit("firms").alias("table"), "uscc", pl.lit("USCC-CHECK").alias("rule")),
            fin_bad.select(
                pl.lit("financials").alias("table"),
                "uscc",
                pl.lit("PARENT-QUARANTINED").alias("rule"),
            ),
        ]
    )
    return FakeValidation(
        tables={
            "firms": valid_firms,
            "financials": fin.filter(~pl.col("uscc").is_in(bad["uscc"].implode())),
        },
        quarantine=q,
        report={"status": "ok", "profile": {"firms": firms.height}},
        counts={
            "firms": {
                "rows_in": firms.height,
                "rows_valid": valid_firms.height,
                "rows_quarantined": bad.height,
            },
            "financials": {
                "rows_in": fin.height,
                "rows_valid": fin.height - fin_bad.height,
                "rows_quarantined": fin_bad.height,
            },
        },
    )


def fake_features(
    tables: Mapping[str, pl.DataFrame], as_of: dt.date, *, history: bool = False
) -> pl.DataFrame:
    """The §11 shape; with ``history`` one older figure, as ``assessment_frame`` adds them."""
    fin = tables["financials"].select(
        "uscc", pl.col("revenue").alias("revenue_y1"), pl.col("rd_expense").alias("rd_expense_y1")
    )
    return (
        tables["firms"]
        .filter(pl.col("established") <= as_of)
        .join(fin, on="uscc", how="left")
        .select("uscc", "name", "district", "industry", "revenue_y1", "rd_expense_y1")
        .with_columns(pl.lit(None, pl.Int64).alias("employees_y1"))
        .with_columns(*([pl.col("revenue_y1").alias("revenue_y4")] if history else []))
        .sort("uscc")
    )


@dataclass
class FakeAssessment:
    criteria: pl.DataFrame
    tiers: pl.DataFrame
    firms: pl.DataFrame


def fake_rules(frame: pl.DataFrame, as_of: dt.date) -> FakeAssessment:
    """Rules with the §11 output shapes: R&D ratio ≥ 5 % and revenue ≥ 1000/3000/6000 per tier."""
    ratio = pl.col("rd_expense_y1") / pl.col("revenue_y1")
    crit, tiers = [], []
    for (tier, pack), line in zip(PACKS.items(), (1000.0, 3000.0, 6000.0), strict=True):
        rd_gap = (0.05 - ratio) * 100
        crit.append(
            frame.select(
                "uscc",
                pl.lit(pack).alias("pack"),
                pl.lit(f"{pack}-RD").alias("criterion_id"),
                pl.lit("研发费用占比").alias("label"),
                pl.when(ratio >= 0.05)
                .then(pl.lit("met"))
                .otherwise(pl.lit("unmet"))
                .alias("status"),
                ratio.alias("value"),
                pl.lit(0.05).alias("threshold"),
                pl.when(ratio < 0.05).then(rd_gap).alias("gap"),
                pl.when(ratio < 0.05)
                .then(pl.format("研发费用占比差 {} 个百分点", rd_gap.round(1)))
                .alias("gap_text"),
            )
        )
        crit.append(
            frame.select(
                "uscc",
                pl.lit(pack).alias("pack"),
                pl.lit(f"{pack}-REV").alias("criterion_id"),
                pl.lit("营业收入").alias("label"),
                pl.when(pl.col("revenue_y1") >= line)
                .then(pl.lit("met"))
                .otherwise(pl.lit("unmet"))
                .alias("status"),
                pl.col("revenue_y1").alias("value"),
                pl.lit(line).alias("threshold"),
                pl.when(pl.col("revenue_y1") < line).then(line - pl.col("revenue_y1")).alias("gap"),
                pl.lit(None, pl.String).alias("gap_text"),
            )
        )
        met = (ratio >= 0.05) & (pl.col("revenue_y1") >= line)
        tiers.append(
            frame.select(
                "uscc",
                pl.lit(pack).alias("pack"),
                pl.lit(tier).alias("tier"),
                pl.when(met).then(pl.lit("met")).otherwise(pl.lit("unmet")).alias("verdict"),
                (pl.col("revenue_y1") / 100).alias("score"),
            )
        )
    tiers_df = pl.concat(tiers)
    order = list(PACKS)
    elig = (
        tiers_df.filter(pl.col("verdict") == "met")
        .with_columns(pl.col("tier").replace_strict({t: i for i, t in enumerate(order)}).alias("r"))
        .group_by("uscc")
        .agg(pl.col("tier").sort_by("r").last().alias("eligible_tier"))
    )
    firms = (
        frame.select("uscc", "revenue_y1")
        .with_row_index("i")
        .join(elig, on="uscc", how="left")
        .select(
            "uscc",
            pl.when(pl.col("i") % 5 == 0).then(pl.lit("innovative")).alias("held_tier"),
            "eligible_tier",
            pl.when(pl.col("i") % 5 == 0)
            .then(pl.lit("specialized"))
            .otherwise(pl.lit("innovative"))
            .alias("next_tier"),
            (pl.col("revenue_y1") < 1500).alias("upsize_candidate"),
            pl.lit(False).alias("hidden_four_above"),
            (pl.col("i") % 7 == 0).alias("delist_risk"),
            (pl.col("i") % 10 == 0).alias("review_risk"),
            pl.lit(False).alias("revocation"),
            pl.lit("small").alias("size_class"),
        )
    )
    # engine order is pack-major (all firms of a pack, then the next): the batch must regroup
    return FakeAssessment(pl.concat(crit), tiers_df, firms)


FAKE_LOADED = object()
"""What ``fake_load_models`` returns: the fake models stage insists on receiving it."""


def fake_load_models() -> object:
    return FAKE_LOADED


def fake_models(
    frame: pl.DataFrame, tables: Mapping[str, pl.DataFrame] | None, as_of: dt.date, loaded: Any
) -> ModelOutput:
    assert loaded is FAKE_LOADED, "the models stage gets what the background load returned"
    assert "revenue_y4" in frame.columns, "the models stage gets the frame with its history"
    n = frame.height
    preds = frame.select("uscc").with_columns(
        pl.Series("p_innovative", [round((i * 37 % 100) / 100, 2) for i in range(n)]),
        pl.Series("p_specialized", [round((i * 53 % 100) / 100, 2) for i in range(n)]),
        pl.Series("p_little_giant", [round((i * 11 % 100) / 100, 2) for i in range(n)]),
        pl.Series("p_upsize", [round((i * 29 % 100) / 100, 2) for i in range(n)]),
        pl.Series("p_delist", [round((i * 17 % 100) / 100, 2) for i in range(n)]),
        pl.Series("reasons", [["研发投入强度", "营业收入增长"]] * n),
    )
    info = {
        "used": True,
        "items": [
            {
                "target": "specialized",
                "name": "tiering-specialized",
                "version": "3",
                "sha256": "ab" * 32,
            }
        ],
    }
    return ModelOutput(preds, info)


@pytest.fixture
def fake_stages() -> Stages:
    return Stages(
        read=fake_read,
        validate=fake_validate,
        features=fake_features,
        rules=fake_rules,
        load_models=fake_load_models,
        models=fake_models,
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(f"sqlite:///{tmp_path / 'store.db'}", settings=Settings(home=tmp_path / "home"))
    s.upgrade()
    return s
