"""Batch-level checks: row counts against the previous run, null rates, key distributions.

Why: a batch can pass every row rule and still be wrong — a truncated extract (half the firms
gone), a column that came through empty, a district mapping that shifted every firm. These are
judged against the profile of the previous run (stored in its ``report.json``) and give
``warning`` or ``failure`` findings; a failure makes the batch unusable.

Thresholds (:data:`THRESHOLDS`): row count change > 20 % warns, > 50 % fails; a column's null
rate rising by > 10 points warns, > 50 points fails; a key distribution (district, industry
division, status, year, tier, roster kind) moving by a total-variation distance > 0.10 warns,
> 0.30 fails. Without a previous run only absolute checks apply (a required column entirely
null warns, so does an empty table; a register holding industry codes 9231–9233 warns, because their meaning changed with
the 2019 amendment of GB/T 4754-2017 and they name public bodies, not enterprises — see
:mod:`.readers` on ``industry_codes``).

>>> tvd({"a": 0.5, "b": 0.5}, {"a": 0.5, "c": 0.5})
0.5
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from data_contracts.tables import TABLES

__all__ = ["DISTRIBUTIONS", "THRESHOLDS", "compare", "profile", "tvd"]

THRESHOLDS = {
    "rows": (0.20, 0.50),
    "null_rate": (0.10, 0.50),
    "distribution": (0.10, 0.30),
}
# Key distributions watched per table: name -> expression giving the category.
DISTRIBUTIONS: dict[str, dict[str, pl.Expr]] = {
    "firms": {
        "district": pl.col("district"),
        "industry_division": pl.col("industry").str.slice(0, 2),
        "status": pl.col("status"),
    },
    "financials": {"year": pl.col("year").cast(pl.String)},
    "recognitions": {"tier": pl.col("tier")},
    "stats_roster": {"four_above_kind": pl.col("four_above_kind")},
}
AMENDED_CODES = ("9231", "9232", "9233")
_LABEL = {
    "district": "所属区",
    "industry_division": "行业大类",
    "status": "登记状态",
    "year": "年度",
    "tier": "称号",
    "four_above_kind": "四上类别",
}


def tvd(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """Total-variation distance between two category shares (0 = same, 1 = disjoint)."""
    keys = set(p) | set(q)
    return round(0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in keys), 6)


def profile(tables: Mapping[str, pl.DataFrame]) -> dict[str, Any]:
    """Rows, null rates and key-distribution shares of each table (JSON-safe)."""
    out: dict[str, Any] = {}
    for name, df in tables.items():
        cols = [c for c in df.columns if not c.startswith("_")]
        nulls = (
            df.select([pl.col(c).null_count().alias(c) for c in cols]).row(0, named=True)
            if df.height
            else dict.fromkeys(cols, 0)
        )
        dists = {}
        for dname, expr in DISTRIBUTIONS.get(name, {}).items():
            if df.height == 0 or any(c not in df.columns for c in expr.meta.root_names()):
                continue
            counts = df.select(expr.fill_null("（空）").alias("k")).group_by("k").len()
            dists[dname] = {k: n / df.height for k, n in counts.iter_rows()}
        out[name] = {
            "rows": df.height,
            "null_rate": {c: (nulls[c] / df.height if df.height else 0.0) for c in cols},
            "distributions": dists,
        }
        if name == "firms" and "industry" in df.columns:
            out[name]["industry_923x"] = int(df["industry"].is_in(AMENDED_CODES).sum())
    return out


def _finding(
    level: str, check: str, table: str, column: str | None, message: str, value: Any, previous: Any
) -> dict[str, Any]:
    return {
        "level": level,
        "check": check,
        "table": table,
        "column": column,
        "message": message,
        "value": value,
        "previous": previous,
    }


def _level(x: float, pair: tuple[float, float]) -> str | None:
    return "failure" if x > pair[1] else "warning" if x > pair[0] else None


def compare(
    current: Mapping[str, Any], previous: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Findings (``level`` warning/failure) of the current profile against the previous one.

    ``previous`` may be a previous profile or a whole previous ``report.json`` dict.
    """
    if previous is not None and "profile" in previous:
        previous = previous["profile"]
    out: list[dict[str, Any]] = []
    for table, cur in current.items():
        label = TABLES[table].label if table in TABLES else table
        required = (
            {c.name for c in TABLES[table].columns if c.required} if table in TABLES else set()
        )
        if cur["rows"] == 0:
            out.append(_finding("warning", "rows", table, None, f"{label}没有数据行", 0, None))
        for col, rate in cur["null_rate"].items():
            if cur["rows"] and rate == 1.0 and col in required:
                out.append(
                    _finding(
                        "warning",
                        "null_rate",
                        table,
                        col,
                        f"{label}的字段{col}全部为空",
                        rate,
                        None,
                    )
                )
        if cur.get("industry_923x"):
            out.append(
                _finding(
                    "warning",
                    "industry_edition",
                    table,
                    "industry",
                    f"{label}中有{cur['industry_923x']}行行业代码为9231–9233（监察委员会、人民法院、"
                    "人民检察院）：这些代码的含义在GB/T 4754-2017第1号修改单（2019年）前后不同，"
                    "请核对本批数据的编码版本（修改单前的编码请用 --industry-codes pre2019 读取）",
                    cur["industry_923x"],
                    None,
                )
            )
        prev = (previous or {}).get(table)
        if not prev:
            continue
        if prev["rows"]:
            change = abs(cur["rows"] / prev["rows"] - 1)
            lvl = _level(change, THRESHOLDS["rows"])
            if lvl:
                out.append(
                    _finding(
                        lvl,
                        "rows",
                        table,
                        None,
                        f"{label}行数由上次的{prev['rows']}变为{cur['rows']}（变化{change:.0%}）",
                        cur["rows"],
                        prev["rows"],
                    )
                )
        for col, rate in cur["null_rate"].items():
            before = prev["null_rate"].get(col)
            if before is None:
                continue
            lvl = _level(rate - before, THRESHOLDS["null_rate"])
            if lvl:
                out.append(
                    _finding(
                        lvl,
                        "null_rate",
                        table,
                        col,
                        f"{label}的字段{col}空值率由{before:.1%}升至{rate:.1%}",
                        rate,
                        before,
                    )
                )
        for dname, shares in cur["distributions"].items():
            before = prev.get("distributions", {}).get(dname)
            if not before:
                continue
            d = tvd(shares, before)
            lvl = _level(d, THRESHOLDS["distribution"])
            if lvl:
                out.append(
                    _finding(
                        lvl,
                        "distribution",
                        table,
                        dname,
                        f"{label}按{_LABEL.get(dname, dname)}的分布与上次相比变化较大（总变差距离{d:.2f}）",
                        d,
                        None,
                    )
                )
    return out
