"""A synthetic published run for the API's tests and benchmark (no batch needed).

Why here and not in ``tests/``: both ``tests/api`` and ``bench/bench_api.py`` need a store holding a
realistic published run (valid USCCs, real district and industry codes, ~60 criteria per firm in
``criteria.parquet`` with the store's offsets) of any size, fast and deterministic; the batch's
real output is used where it matters (the batch/online parity test). The folder follows the run
layout the store publishes (``manifest.json``, ``scores.parquet``, ``criteria.parquet``).

>>> import tempfile, pathlib
>>> d = build_run(pathlib.Path(tempfile.mkdtemp()) / "run-x", n_firms=3, seed=1)
>>> sorted(p.name for p in d.iterdir())
['criteria.parquet', 'manifest.json', 'scores.parquet']
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl

from tiering.codes import WUHAN_DISTRICTS, district_name, industries
from tiering.store.criteria_index import CRITERIA_FILE, ROW_GROUP_ROWS
from tiering.uscc import complete

__all__ = ["CRITERIA", "build_run", "firm_usccs"]

# (pack, criterion id, label, unit, threshold) — a realistic mix of money, ratio and count criteria.
CRITERIA: tuple[tuple[str, str, str, str, float], ...] = (
    ("specialized-2022", "SP-M1", "从事细分市场年限", "年", 2.0),
    ("specialized-2022", "SP-M2", "研发费用", "万元", 100.0),
    ("specialized-2022", "SP-M2r", "研发费用占营业收入比例", "ratio", 0.03),
    ("specialized-2022", "SP-M3", "营业收入", "万元", 1000.0),
    ("specialized-2022", "SP-10", "主导产品Ⅰ类知识产权", "项", 1.0),
    ("specialized-2022", "SP-12", "研发人员占比", "ratio", 0.05),
    ("innovative-2022", "IN-2", "研发费用占比", "ratio", 0.01),
    ("innovative-2022", "IN-4", "资产负债率", "ratio", 0.55),
    ("innovative-2022", "IN-1", "知识产权", "项", 1.0),
    ("little_giant-2022", "LG-1", "从事细分市场年限", "年", 3.0),
    ("little_giant-2022", "LG-7", "国内细分市场占有率", "ratio", 0.10),
    ("little_giant-2022", "LG-9", "研发投入", "万元", 3000.0),
)
_TIERS = (None, "tech_sme", "innovative", "specialized", "little_giant")
_NEXT = {
    None: "innovative",
    "tech_sme": "innovative",
    "innovative": "specialized",
    "specialized": "little_giant",
    "little_giant": "champion",
}


def firm_usccs(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct valid USCCs (GB 32100 check characters), deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    districts = sorted(WUHAN_DISTRICTS)
    out = set()
    while len(out) < n:
        d = districts[int(rng.integers(len(districts)))]
        body = "".join(str(int(x)) for x in rng.integers(0, 10, 9))
        out.add(complete(f"91{d}{body}"))
    return sorted(out)


def build_run(
    run_dir: Path,
    *,
    n_firms: int = 200,
    seed: int = 0,
    as_of: dt.date = dt.date(2025, 6, 30),
    run_id: str | None = None,
) -> Path:
    """Write a complete run folder for ``n_firms`` synthetic firms; returns its path."""
    rng = np.random.default_rng(seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    usccs = firm_usccs(n_firms, seed)
    manufacturing = industries().filter(pl.col("section") == "C")
    inds, ind_names = manufacturing["code"].to_list(), manufacturing["name"].to_list()
    ind_pick = [int(j) for j in rng.integers(0, len(inds), n_firms)]
    held = [_TIERS[int(i)] for i in rng.integers(0, len(_TIERS), n_firms)]
    revenue = np.round(rng.lognormal(7, 1.2, n_firms), 2)
    rd = np.round(revenue * rng.uniform(0, 0.08, n_firms), 2)
    districts = [u[2:8] for u in usccs]
    k = len(CRITERIA)
    crit_rows = {
        c: []
        for c in (
            "uscc",
            "pack",
            "criterion_id",
            "label",
            "status",
            "value",
            "threshold",
            "points",
            "max_points",
            "gap",
            "unit",
            "gap_text",
        )
    }
    gaps, verdicts = [], []
    for i, u in enumerate(usccs):
        firm_gaps = []
        for pack, cid, label, unit, thr in CRITERIA:
            value = {
                "万元": float(rd[i] * 10),
                "ratio": float(rng.uniform(0, 0.2)),
                "项": float(rng.integers(0, 4)),
                "年": float(rng.integers(0, 8)),
            }[unit]
            status = "unknown" if rng.random() < 0.05 else ("met" if value >= thr else "unmet")
            gap = None if status != "unmet" else round(thr - value, 6)
            text = None
            if gap is not None:
                shown = f"{gap * 100:.1f} 个百分点" if unit == "ratio" else f"{gap:g} {unit}"
                text = f"{label}差 {shown}"
                firm_gaps.append(
                    {"pack": pack, "criterion_id": cid, "status": status, "text": text}
                )
            for col, v in zip(
                crit_rows,
                (
                    u,
                    pack,
                    cid,
                    label,
                    status,
                    value if status != "unknown" else None,
                    thr,
                    5.0 if status == "met" else 0.0,
                    5.0,
                    gap,
                    unit,
                    text,
                ),
                strict=True,
            ):
                crit_rows[col].append(v)
        gaps.append(json.dumps(firm_gaps, ensure_ascii=False))
        verdicts.append(
            json.dumps(
                [
                    {
                        "pack": p,
                        "tier": p.split("-")[0],
                        "verdict": str(rng.choice(["met", "unmet", "undetermined"])),
                        "score": float(rng.integers(30, 100)),
                        "score_min": 30.0,
                        "score_max": 100.0,
                        "pass_mark": 60.0,
                    }
                    for p in ("innovative-2022", "specialized-2022", "little_giant-2022")
                ]
            )
        )
    p_next = np.round(rng.uniform(0, 1, n_firms), 4)
    wide: dict[str, list] = {}  # build_scores' per-tier columns: <tier>_pack/_verdict/_score
    for v in verdicts:
        for item in json.loads(v):
            for stat in ("pack", "verdict", "score"):
                wide.setdefault(f"{item['tier']}_{stat}", []).append(item[stat])
    scores = pl.DataFrame(
        {
            "uscc": usccs,
            "name": [
                f"武汉{['华', '楚', '江', '汉', '光'][i % 5]}科技有限公司{i:05d}"
                for i in range(n_firms)
            ],
            "district": districts,
            "district_name": [district_name(d) for d in districts],
            "industry": [inds[j] for j in ind_pick],
            "industry_name": [ind_names[j] for j in ind_pick],
            "section": ["C"] * n_firms,
            "size_class": [str(s) for s in rng.choice(["medium", "small", "micro"], n_firms)],
            "four_above_group": ["industry"] * n_firms,
            "in_four_above": (revenue >= 2000).tolist(),
            "meets_four_above": (revenue >= 2000).tolist(),
            "held_tier": held,
            "eligible_tier": [
                _TIERS[min(len(_TIERS) - 1, _TIERS.index(h) + int(b))]
                for h, b in zip(held, rng.integers(0, 2, n_firms), strict=True)
            ],
            "next_tier": [_NEXT[h] for h in held],
            "upsize_candidate": ((revenue >= 1400) & (revenue < 2000)).tolist(),
            "hidden_four_above": [False] * n_firms,
            "delist_risk": ((revenue >= 2000) & (revenue < 2200)).tolist(),
            "review_risk": (rng.random(n_firms) < 0.05).tolist(),
            "revocation": [False] * n_firms,
            "p_next_tier": p_next,
            "p_specialized": p_next,
            "p_upsize": np.round(rng.uniform(0, 1, n_firms), 4),
            "upsize_learned": (rng.random(n_firms) < 0.1).tolist(),
            "revenue_y1": revenue,
            "main_revenue_y1": np.round(revenue * 0.9, 2),
            "rd_expense_y1": rd,
            "total_assets_y1": np.round(revenue * 1.3, 2),
            "employees_y1": rng.integers(5, 500, n_firms),
            "rd_ratio_y1": np.round(rd / revenue, 6),
            "verdicts": verdicts,
            "gaps": gaps,
            "gaps_text": ["；".join(g["text"] for g in json.loads(x)) or None for x in gaps],
            "reasons": [
                json.dumps(
                    [
                        {
                            "target": "specialized",
                            "feature": "rd_expense_y1",
                            "label": "上年研发费用",
                            "direction": "up",
                            "value": float(rd[i]),
                            "contribution": 0.12,
                            "text": f"研发费用 {rd[i]:g} 万元，高于同行",
                        }
                    ],
                    ensure_ascii=False,
                )
                for i in range(n_firms)
            ],
            **wide,
            "criteria_offset": [i * k for i in range(n_firms)],
            "criteria_count": [k] * n_firms,
        }
    )
    scores.write_parquet(run_dir / "scores.parquet")
    pl.DataFrame(
        crit_rows, schema_overrides={"value": pl.Float64, "gap": pl.Float64}
    ).write_parquet(run_dir / CRITERIA_FILE, row_group_size=ROW_GROUP_ROWS)
    manifest = {
        "run_id": run_id or run_dir.name,
        "as_of": as_of.isoformat(),
        "created_at": dt.datetime(2025, 7, 1, tzinfo=dt.UTC).isoformat(),
        "counts": {"firms_in": n_firms, "firms_quarantined": 0, "scored": n_firms},
        "packs": {p: "synthetic" for p in sorted({c[0] for c in CRITERIA})},
        "models": {"used": True},
    }
    (run_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    return run_dir
