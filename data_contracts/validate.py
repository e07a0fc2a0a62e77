"""``validate_tables``: the one code path that splits a batch into valid rows and quarantine.

Why one function: ``tiering validate`` and the batch run (issue 7) must agree row for row.

Order of work:

1. Schema (fatal): every table present, required columns present, key columns of the contract
   type, other columns castable without loss; ``firms`` not empty. Missing optional columns are
   added as nulls; NaN in float columns is read as null (unknown).
2. Rows (polars, :mod:`.rowcheck`): every row-level expectation of the contract, plus the
   reader's unparseable cells (``TYPE``). ``firms`` first; then each child table, with
   referential integrity against the delivered firms (``REF-FIRM``) and the cascade: a child of a
   quarantined firm goes too (``PARENT-QUARANTINED``, 所属企业已隔离).
3. Duplicates: every copy of a duplicated key is quarantined — we cannot know which is right.
4. Share of bad rows per table above ``max_bad_share`` -> fatal. The share counts rows failing
   their own rules; children of quarantined firms are not counted again (the firms table already
   carries that share), though they are quarantined.
5. Batch checks against the previous run (:mod:`.batch_checks`); a failure is fatal.
6. Contract of record (GX, :mod:`.suites`): ``gx="sample"`` (default) validates a deterministic
   sample of each table (up to half of it rows the polars path set aside) with the real GX suites and compares GX's unexpected rows with the polars
   flags of the same sample (any disagreement is reported as drift); ``gx="full"`` does that on
   whole tables (small batches); ``gx="off"`` skips GX (no import, fastest). GX is imported in a
   thread while step 2 runs, and its suites run after all tables are split.

Invariant (checked, never assumed): for each table ``rows_in = rows_valid + rows_quarantined``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np
import polars as pl

from data_contracts import batch_checks, quarantine, rowcheck
from data_contracts.expectations import frame_expectations, parameters, table_expectations
from data_contracts.readers import PARSE_ERRORS
from data_contracts.tables import TABLES

__all__ = ["GxMode", "ValidationResult", "unusable", "validate_frame", "validate_tables"]

GxMode = Literal["off", "sample", "full"]
GX_SAMPLE_ROWS = 2_000


@dataclass
class ValidationResult:
    """Valid tables, the quarantine (one row per reason), the report and the verdict."""

    tables: dict[str, pl.DataFrame]
    quarantine: pl.DataFrame
    report: dict[str, Any]
    fatal: bool = False
    reason: str | None = None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the batch is usable (rows may still have been set aside)."""
        return not self.fatal


def unusable(
    reason: str, as_of: date, sources: Mapping[str, Any] | None = None
) -> ValidationResult:
    """The result of a batch rejected as a whole (also used when a file cannot even be read)."""
    report = {
        "as_of": as_of.isoformat(),
        "sources": dict(sources or {}),
        "tables": {},
        "status": "unusable",
        "fatal": True,
        "reason": reason,
    }
    return ValidationResult({}, quarantine.empty(), report, True, reason)


def _kind(dtype: pl.DataType) -> str:
    """Plain Chinese name of a dtype for the clerk's message."""
    if dtype.is_integer():
        return "整数"
    if dtype.is_float():
        return "数值"
    return {pl.String: "文本", pl.Date: "日期", pl.Datetime: "日期时间", pl.Boolean: "是/否"}.get(
        type(dtype), "其他类型"
    )


def _schema_problems(name: str, df: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    spec = TABLES[name]
    problems: list[str] = []
    for cfg in table_expectations(name):
        if cfg["type"] == "expect_column_to_exist" and cfg["kwargs"]["column"] not in df.columns:
            col = cfg["kwargs"]["column"]
            label = next(c.label for c in spec.columns if c.name == col)
            problems.append(f"{spec.label}（{name}）缺少必需字段{col}（{label}）")
    if problems:
        return df, problems
    key = set(spec.key) | {"uscc"}
    fixes: list[pl.Expr] = []
    nan_columns: list[str] = []
    for c in spec.columns:
        if c.name not in df.columns:
            fixes.append(pl.lit(None, dtype=c.dtype).alias(c.name))
            continue
        have = df.schema[c.name]
        if have == c.dtype:
            if c.dtype == pl.Float64:
                nan_columns.append(c.name)
            continue
        lossless = (have.is_integer() and c.dtype in (pl.Int64, pl.Float64)) or (
            have.is_float() and c.dtype == pl.Float64
        )
        if lossless and not (c.name in key and c.dtype == pl.String):
            fixes.append(pl.col(c.name).cast(c.dtype))
        else:
            kind = "主键字段" if c.name in key else "字段"
            problems.append(
                f"{spec.label}（{name}）的{kind}{c.name}（{c.label}）类型应为"
                f"{_kind(c.dtype)}（{c.dtype}），实际为{_kind(have)}（{have}）"
            )
    if problems:
        return df, problems
    if nan_columns and df.height:  # NaN -> null (unknown), copying only columns that hold NaN
        has_nan = df.select(pl.col(nan_columns).is_nan().any()).row(0, named=True)
        fixes += [pl.col(c).fill_nan(None) for c, yes in has_nan.items() if yes]
    order = [c.name for c in spec.columns] + ([PARSE_ERRORS] if PARSE_ERRORS in df.columns else [])
    out = df.with_columns(fixes) if fixes else df
    return (out if out.columns == order else out.select(order)), problems


def _sample(df: pl.DataFrame, n: int, flagged: pl.Series | None = None) -> pl.DataFrame:
    """A deterministic sample of ``n`` rows in their original order.

    Half of it (at most) is drawn from the rows the polars path flagged, the rest from all rows:
    defects are rare (0.1 % of a clean extract), and a purely random sample would let GX confirm
    little more than that clean rows are clean.
    """
    if df.height <= n:
        return df
    rng = np.random.default_rng(20250630)
    picked = np.empty(0, dtype=np.int64)
    if flagged is not None and flagged.len():
        rows = flagged.to_numpy().astype(np.int64)
        picked = rng.choice(rows, size=min(n // 2, rows.size), replace=False)
    rest = rng.choice(df.height, size=n, replace=False)
    rest = rest[~np.isin(rest, picked)][: n - picked.size]
    return df[np.sort(np.concatenate([picked, rest]))]


def _keep_mask(n: int, bad: pl.Series) -> pl.Series:
    """True on the rows not in ``bad`` (0-based positions)."""
    keep = np.ones(n, dtype=bool)
    keep[bad.to_numpy()] = False
    return pl.Series(keep)


def _warm_gx() -> None:
    from data_contracts.suites import gx_context

    gx_context()


def _gx_record(
    name: str,
    df: pl.DataFrame,
    cfgs: list[dict[str, Any]],
    params: dict[str, Any],
    mode: GxMode,
    flagged: pl.Series | None = None,
) -> dict[str, Any]:
    """Run the GX suite (contract of record) and compare with the polars flags of the same rows."""
    from data_contracts.suites import run_suite

    sample = df if mode == "full" else _sample(df, GX_SAMPLE_ROWS, flagged)
    sample = sample.drop(PARSE_ERRORS, strict=False)
    firms = params.get("firm_usccs")
    if "uscc" in sample.columns and firms is not None and len(firms):
        # Same verdict for these rows, far smaller GX config: keep only the codes the sample uses.
        used = sample["uscc"].drop_nulls().unique()
        known = firms if isinstance(firms, pl.Series) else pl.Series(firms, dtype=pl.String)
        params = dict(params, firm_usccs=used.filter(used.is_in(known.implode())).to_list())
    results = run_suite(name, sample, cfgs, params)
    fl = rowcheck.failures(sample, cfgs, params)
    polars_pairs = set(zip(fl["row"].to_list(), fl["id"].to_list(), strict=True))
    gx_pairs = {(r, x["id"]) for x in results for r in x["rows"]}
    drift = sorted({i for _, i in polars_pairs ^ gx_pairs})
    return {
        "rows_checked": sample.height,
        "expectations": len(results),
        "failed": [
            {k: x[k] for k in ("id", "rule", "type", "unexpected_count", "error")}
            for x in results
            if not x["success"]
        ],
        "errors": [x["id"] for x in results if x["error"]],
        "drift": drift,
    }


def validate_tables(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame],
    as_of: date,
    previous: Mapping[str, Any] | None = None,
    max_bad_share: float = 0.2,
    *,
    gx: GxMode = "sample",
    sources: Mapping[str, Any] | None = None,
) -> ValidationResult:
    """Validate the seven input tables as of ``as_of``; see the module docstring for the steps.

    ``previous`` is the previous run's report dict (or its ``profile``); ``sources`` optional
    reader summaries to include in the report.
    """
    t0 = time.perf_counter()
    frames = {k: (v.collect() if isinstance(v, pl.LazyFrame) else v) for k, v in tables.items()}
    report: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "max_bad_share": max_bad_share,
        "sources": dict(sources or {}),
        "tables": {},
    }

    def fail(reason: str) -> ValidationResult:
        return unusable(reason, as_of, sources)

    missing = [t for t in TABLES if t not in frames]
    if missing:
        labels = "、".join(f"{TABLES[t].label}（{t}）" for t in missing)
        return fail(f"缺少数据表：{labels}")
    problems = []
    ignored: dict[str, list[str]] = {}
    for name in TABLES:
        known = set(TABLES[name].schema()) | {PARSE_ERRORS}
        extra = [c for c in frames[name].columns if c not in known]
        if extra:  # only contract columns travel on; the report names what was left behind
            ignored[name] = extra
        frames[name], p = _schema_problems(name, frames[name])
        problems += p
    if problems:
        return fail("；".join(problems))
    if frames["firms"].height == 0:
        return fail("企业基本信息表（firms）没有数据行")

    # GX takes ~4 CPU-seconds to import (Python holding the GIL); the polars row checks below
    # run in Rust without the GIL, so a thread lets the import use a core polars leaves idle.
    # At a million firms both cores are busy and this gains little; on small batches it hides
    # most of the import.
    warm = threading.Thread(target=_warm_gx, daemon=True) if gx != "off" else None
    if warm is not None:
        warm.start()
    valid: dict[str, pl.DataFrame] = {}
    reasons: list[pl.DataFrame] = []
    counts: dict[str, dict[str, int]] = {}
    gx_report: dict[str, Any] = {}
    timings: dict[str, float] = {}
    params = parameters(as_of, frames["firms"]["uscc"].drop_nulls().unique())
    # Codes of the quarantined firm rows. None of them is also on a valid firm row: a code
    # delivered twice fails KEY-DUP on every copy, so "firm quarantined" is membership here.
    dropped_firms: pl.Series | None = None
    flagged: dict[str, pl.Series] = {}  # rows set aside, per table (for the GX sample)
    for name in TABLES:
        t = time.perf_counter()
        df = frames[name]
        cfgs = table_expectations(name)
        data = df.drop(PARSE_ERRORS, strict=False)
        fails = rowcheck.failures(data, cfgs, params)
        parts = [
            quarantine.rule_reasons(name, data, fails, cfgs),
            quarantine.parse_error_reasons(name, df),
        ]
        bad = pl.concat([p["row"] for p in parts]).unique()
        n_own = int(bad.len())  # rows failing their own rules (the cascade is counted at firms)
        if name != "firms" and dropped_firms is not None and dropped_firms.len():
            cascade = (
                data.lazy()
                .select(pl.col("uscc").is_in(dropped_firms.implode()).arg_true())
                .collect()
                .to_series()
                .cast(pl.Int64)
            )
            parts.append(quarantine.cascade_reasons(name, data, cascade))
            bad = pl.concat([bad, cascade]).unique()
        valid[name] = data.filter(_keep_mask(data.height, bad)) if bad.len() else data
        flagged[name] = bad
        reasons += parts
        n_bad = int(bad.len())
        counts[name] = {
            "rows_in": data.height,
            "rows_valid": valid[name].height,
            "rows_quarantined": n_bad,
            "rows_own_problems": n_own,
        }
        if counts[name]["rows_in"] != counts[name]["rows_valid"] + n_bad:
            raise AssertionError(f"row accounting broken for {name}: {counts[name]}")
        if name == "firms":
            dropped_firms = data["uscc"].gather(bad.cast(pl.UInt32)).drop_nulls().unique()
        timings[name] = round(time.perf_counter() - t, 3)
    if warm is not None:
        t = time.perf_counter()
        warm.join()
        timings["gx_import_wait"] = round(time.perf_counter() - t, 3)
        for name in TABLES:
            t = time.perf_counter()
            data = frames[name].drop(PARSE_ERRORS, strict=False)
            cfgs = table_expectations(name)
            gx_report[name] = _gx_record(name, data, cfgs, params, gx, flagged[name])
            timings[f"gx_{name}"] = round(time.perf_counter() - t, 3)
    q = pl.concat(reasons).sort("table", "row", "rule") if reasons else quarantine.empty()

    t = time.perf_counter()
    prof = batch_checks.profile({k: frames[k].drop(PARSE_ERRORS, strict=False) for k in TABLES})
    findings = batch_checks.compare(prof, previous)
    timings["batch_checks"] = round(time.perf_counter() - t, 3)
    by_rule = (
        q.group_by("table", "rule").len().sort("table", "len", descending=[False, True]).to_dicts()
        if q.height
        else []
    )
    for name in TABLES:
        c = counts[name]
        share = c["rows_own_problems"] / c["rows_in"] if c["rows_in"] else 0.0
        report["tables"][name] = {"label": TABLES[name].label, **c, "bad_share": round(share, 6)}
    report.update(
        compared_with_previous=previous is not None,
        ignored_columns=ignored,
        profile=prof,
        batch_findings=findings,
        reasons_by_rule=by_rule,
        contract_of_record={"engine": "great_expectations", "mode": gx, "tables": gx_report},
        seconds=round(time.perf_counter() - t0, 3),
        seconds_by_step=timings,
    )
    too_bad = [
        f"{TABLES[n].label}（{n}）隔离比例{r['bad_share']:.1%}超过上限{max_bad_share:.0%}"
        for n, r in report["tables"].items()
        if r["bad_share"] > max_bad_share
    ]
    failures = [f["message"] for f in findings if f["level"] == "failure"]
    reason = "；".join(too_bad + failures) or None
    report.update(status="unusable" if reason else "ok", fatal=bool(reason), reason=reason)
    return ValidationResult(valid, q, report, bool(reason), reason, counts)


def validate_frame(frame: pl.DataFrame | pl.LazyFrame, as_of: date) -> ValidationResult:
    """Row-level check of an assessment frame (spec §11) with its own suite; no GX run.

    Used on frames handed to ``tiering assess`` directly; absent optional columns are skipped.
    """
    df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    if "uscc" not in df.columns:
        reason = "评估数据缺少必需字段uscc（统一社会信用代码）"
        return ValidationResult(
            {}, quarantine.empty(), {"fatal": True, "reason": reason}, True, reason
        )
    cfgs = frame_expectations(df.columns)
    params = parameters(as_of)
    fails = rowcheck.failures(df, cfgs, params)
    q = quarantine.rule_reasons("frame", df, fails, cfgs)
    bad = q["row"].unique()
    keep = _keep_mask(df.height, bad)
    counts = {
        "frame": {
            "rows_in": df.height,
            "rows_valid": int(keep.sum()),
            "rows_quarantined": bad.len(),
        }
    }
    return ValidationResult({"frame": df.filter(keep)}, q, {"tables": counts}, False, None, counts)
