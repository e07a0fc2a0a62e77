"""Store fixtures: every store test runs on SQLite, and on PostgreSQL when
``TIERING_TEST_POSTGRES_URL`` is set (each test in its own schema, dropped afterwards)."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import create_engine, text

from tiering.settings import Settings
from tiering.store import Store
from tiering.store.engine import make_engine

PG_URL = os.environ.get("TIERING_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    settings = Settings(home=tmp_path / "home", api_key_pepper="test-pepper")
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'store.db'}", settings=settings)
        s.upgrade()
        yield s
        s.dispose()
        return
    assert PG_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    s = Store(PG_URL, engine=engine, settings=settings)
    s.upgrade()
    try:
        yield s
    finally:
        s.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def make_run_dir(
    root: Path,
    run_id: str,
    usccs: list[str],
    *,
    as_of: str = "2025-06-30",
    districts: list[str] | None = None,
    held: list[str | None] | None = None,
) -> Path:
    """A minimal but complete run folder, built by hand (manifest, scores, criteria, quarantine)."""
    run_dir = root / run_id
    run_dir.mkdir(parents=True)
    n = len(usccs)
    districts = districts or ["420111"] * n
    held = held or [None] * n
    criteria = pl.DataFrame(
        {
            "uscc": [u for u in usccs for _ in range(2)],
            "pack": ["specialized-2022"] * (2 * n),
            "criterion_id": ["SP-1", "SP-2"] * n,
            "status": ["met", "unmet"] * n,
            "gap_text": [None, "研发费用占比差 0.4 个百分点"] * n,
        }
    ).sort("uscc", maintain_order=True)
    criteria.write_parquet(run_dir / "criteria.parquet", row_group_size=3)
    scores = pl.DataFrame(
        {
            "uscc": usccs,
            "name": [f"武汉测试{i}科技有限公司" for i in range(n)],
            "district": districts,
            "industry": ["3911"] * n,
            "held_tier": held,
            "eligible_tier": ["innovative"] * n,
            "next_tier": ["specialized"] * n,
            "delist_risk": [i % 2 == 0 for i in range(n)],
            "revenue_y1": [1000.0 + i for i in range(n)],
            "employees_y1": list(range(n)),
            "p_specialized": [0.1 * (i % 10) for i in range(n)],
            "p_next_tier": [0.1 * (i % 10) for i in range(n)],
            "reasons": [["研发投入强度高", "有效发明专利"]] * n,
            "gaps_text": ["研发费用占比差 0.4 个百分点"] * n,
            "criteria_offset": [2 * i for i in range(n)],
            "criteria_count": [2] * n,
        }
    )
    scores.write_parquet(run_dir / "scores.parquet")
    pl.DataFrame(
        {"table": ["firms", "financials", "financials"], "rule": ["USCC-CHECK", "NEG", "NEG"]}
    ).write_parquet(run_dir / "quarantine.parquet")
    manifest = {
        "run_id": run_id,
        "as_of": as_of,
        "created_at": dt.datetime(2025, 7, 1, 8, 0, tzinfo=dt.UTC).isoformat(),
        "counts": {"firms_in": n + 1, "firms_quarantined": 1, "scored": n},
        "packs": {"specialized-2022": {}},
        "models": {"used": True},
    }
    (run_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
    return run_dir
