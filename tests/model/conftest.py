"""Fixtures of the model tests: a small synthetic training panel with known structure.

Why synthetic here: the model tests check the learning machinery (monotone constraints,
calibration, registry, promotion) and must stay fast and independent of the simulator; the
end-to-end path on the simulated city is exercised by the notebook test.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from models.dataset import FeatureSpec, Panel
from models.targets import TIER_TARGETS

FEATURES = (
    "rd_expense_y1",
    "class1_ip",
    "revenue_y1",
    "revenue_y2",
    "main_revenue_y1",
    "main_revenue_y2",
    "debt_ratio_y1",
    "held_innovative",
    "in_four_above",
)
LABELS = {
    "rd_expense_y1": ("上年研发费用", "万元"),
    "class1_ip": ("主导产品Ⅰ类知识产权", "项"),
    "revenue_y1": ("上年营业收入", "万元"),
    "revenue_y2": ("前年营业收入", "万元"),
    "main_revenue_y1": ("上年主营业务收入", "万元"),
    "main_revenue_y2": ("前年主营业务收入", "万元"),
    "debt_ratio_y1": ("上年末资产负债率", "比例"),
    "held_innovative": ("持有有效创新型中小企业称号", ""),
    "in_four_above": ("上年在四上名录", ""),
}
UP = ("rd_expense_y1", "class1_ip")


def _outcome(at_risk: np.ndarray, hit: np.ndarray) -> pl.Series:
    """0/1 outcome for at-risk rows, null elsewhere (not at risk = no outcome)."""
    return pl.Series(hit.astype(np.int8)).set(pl.Series(~at_risk), None).cast(pl.Int8)


def make_panel(
    n: int = 2500, years: tuple[int, ...] = (2020, 2021, 2022, 2023), seed: int = 0
) -> Panel:
    """Firms whose chance of each title rises with R&D and IP; roster moves follow revenue."""
    rng = np.random.default_rng(seed)
    parts = []
    for y in years:
        rev = rng.lognormal(6.5, 1.2, n)
        growth = rng.normal(0.05, 0.2, n)
        rd = rev * rng.uniform(0, 0.08, n)
        ip = rng.poisson(1.0, n).astype(float)
        rd[rng.random(n) < 0.05] = np.nan  # unknown, not zero
        score = -3.2 + 0.9 * np.log1p(np.nan_to_num(rd, nan=0.0)) / 3 + 0.5 * ip
        held = rng.random(n) < 0.1
        in_roster = rev >= 2000
        frame = {
            "uscc": [f"F{i:06d}" for i in range(n)],
            "name": [f"企业{i}" for i in range(n)],
            "district": rng.choice(["420102", "420103", "420111", "420115"], n),
            "industry": rng.choice(["3911", "5211", "6513"], n),
            "section": None,
            "year": np.full(n, y, dtype=np.int32),
            "rd_expense_y1": rd,
            "class1_ip": ip,
            "revenue_y1": rev,
            "revenue_y2": rev / (1 + growth),
            "main_revenue_y1": rev * 0.9,
            "main_revenue_y2": rev * 0.9 / (1 + growth),
            "debt_ratio_y1": rng.uniform(0.1, 0.9, n),
            "held_innovative": held.astype(float),
            "in_four_above": in_roster.astype(float),
        }
        for k, t in enumerate(TIER_TARGETS):
            p = 1 / (1 + np.exp(-(score - 0.8 * k)))
            frame[f"at_risk_{t}"] = ~held if t == "innovative" else np.ones(n, bool)
            frame[f"y_{t}"] = _outcome(frame[f"at_risk_{t}"], rng.random(n) < p)
        nxt = rev * (1 + growth + rng.normal(0, 0.1, n))
        frame["at_risk_upsize"] = ~in_roster
        frame["y_upsize"] = _outcome(~in_roster, nxt >= 2000)
        frame["at_risk_delist"] = in_roster
        frame["y_delist"] = _outcome(in_roster, nxt < 2000)
        df = pl.DataFrame(frame).with_columns(
            pl.col("industry")
            .replace_strict({"3911": "C", "5211": "F", "6513": "I"})
            .alias("section"),
        )
        parts.append(df)
    specs = tuple(
        FeatureSpec(
            f, LABELS[f][0], LABELS[f][1], tuple((t, 1) for t in TIER_TARGETS) if f in UP else ()
        )
        for f in FEATURES
    )
    return Panel(frame=pl.concat(parts), features=FEATURES, specs=specs)


@pytest.fixture(scope="session")
def panel() -> Panel:
    return make_panel()


@pytest.fixture(scope="session")
def fast_params() -> dict:
    return {"max_iter": 30, "learning_rate": 0.2, "min_samples_leaf": 20}


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """One OpenMP thread: on a shared 2-core machine, spinning thread pools cost more than they
    bring for these tiny fits (measured 8x slower under load)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory) -> Path:
    """One migrated, empty MLflow sqlite store; tests copy it (creating the schema costs seconds)."""
    from mlflow import MlflowClient

    db = tmp_path_factory.mktemp("mlflow_template") / "mlflow.db"
    MlflowClient(f"sqlite:///{db}").search_experiments()
    return db


@pytest.fixture(scope="session")
def new_store(mlflow_template) -> Callable[[Path], str]:
    """``new_store(folder)``: copy the empty template store into ``folder``; its sqlite URI."""

    def copy(folder: Path) -> str:
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / "mlflow.db"
        shutil.copyfile(mlflow_template, db)
        return f"sqlite:///{db}"

    return copy


@pytest.fixture
def fresh_store(new_store, tmp_path) -> str:
    """A fresh, empty MLflow store (a copy of the template) for one test."""
    return new_store(tmp_path)


@pytest.fixture(scope="session")
def city_dir(tmp_path_factory) -> Path:
    """A small simulated city written as ``<table>.parquet`` (shared by pipeline and notebook)."""
    from tiering.simulate import simulate

    out = tmp_path_factory.mktemp("city")
    for name, table in simulate(2500, seed=3, years=(2019, 2025)).items():
        table.write_parquet(out / f"{name}.parquet")
    return out


@pytest.fixture(scope="session")
def city(city_dir) -> dict[str, pl.DataFrame]:
    """The small simulated city's tables, in memory."""
    return {p.stem: pl.read_parquet(p) for p in sorted(city_dir.glob("*.parquet"))}
