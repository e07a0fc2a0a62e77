"""Writing candidate lists as staff open them: XLSX (Excel/WPS), CSV (UTF-8 with BOM) or JSON.

Why these details: the lists go to district officers who filter and sort in Excel or WPS. The XLSX
has Chinese headers, a frozen header row and autofilter, money in 万元 and ratios as real numbers
with ``#,##0.00`` / ``0.0%`` formats (so sorting works), and a 运行信息 sheet saying which run,
date, rules and models produced it — a list without provenance cannot be trusted or reproduced.
CSV carries a BOM because Excel and WPS otherwise read UTF-8 Chinese as mojibake. Money and other
tax figures (涉税信息) are left out with ``include_confidential=False`` (the API's station role).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

__all__ = ["EXPORT_COLUMNS", "ExportColumn", "export_candidates", "provenance_rows"]

Format = Literal["xlsx", "csv", "json"]


@dataclass(frozen=True, slots=True)
class ExportColumn:
    """One exported column: source column, Chinese header, number format, width, confidential."""

    key: str
    header: str
    num_format: str | None = None
    width: int = 14
    confidential: bool = False


EXPORT_COLUMNS: tuple[ExportColumn, ...] = (
    ExportColumn("rank", "序号", "0", 6),
    ExportColumn("name", "企业名称", None, 34),
    ExportColumn("uscc", "统一社会信用代码", None, 22),
    ExportColumn("district_name", "所属区", None, 10),
    ExportColumn("industry_name", "所属行业", None, 24),
    ExportColumn("section", "行业门类", None, 8),
    ExportColumn("held_tier_label", "现持有梯度", None, 18),
    ExportColumn("eligible_tier_label", "符合条件梯度", None, 18),
    ExportColumn("probability", "入选概率", "0.0%", 10),
    ExportColumn("gap_text_target", "差距（对照认定条件）", None, 60),
    ExportColumn("flags", "提示标记", None, 20),
    ExportColumn("revenue_y1", "上年营业收入（万元）", "#,##0.00", 16, True),
    ExportColumn("rd_expense_y1", "上年研发费用（万元）", "#,##0.00", 16, True),
    ExportColumn("rd_ratio_y1", "研发费用占营业收入比重", "0.00%", 14, True),
    ExportColumn("employees_y1", "上年从业人员（人）", "#,##0", 12, True),
)


def _columns(frame: pl.DataFrame, include_confidential: bool) -> list[ExportColumn]:
    return [
        c
        for c in EXPORT_COLUMNS
        if (include_confidential or not c.confidential)
        and (c.key in frame.columns or c.key == "probability")
    ]


def _table(frame: pl.DataFrame, cols: list[ExportColumn]) -> pl.DataFrame:
    exprs = [
        pl.col(c.key) if c.key in frame.columns else pl.lit(None, pl.Float64).alias(c.key)
        for c in cols
    ]
    return frame.select(exprs)


def provenance_rows(
    manifest: Mapping[str, Any], request: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """(项目, 内容) rows of the 运行信息 sheet: run, date, rules, models, inputs, filters."""
    models = manifest.get("models", {})
    model_text = (
        "; ".join(
            f"{m.get('target')}: {m.get('name')} v{m.get('version')}"
            for m in models.get("items", [])
        )
        if models.get("used")
        else f"未使用模型（{models.get('reason', '仅规则')}）"
    )
    rows = [
        ("运行编号", str(manifest.get("run_id", ""))),
        ("评估基准日", str(manifest.get("as_of", ""))),
        ("运行时间（UTC）", str(manifest.get("created_at", ""))),
        ("规则包", "、".join(sorted(manifest.get("packs", {})))),
        ("模型", model_text),
        ("参评企业数", str(manifest.get("counts", {}).get("scored", ""))),
        ("隔离企业数", str(manifest.get("counts", {}).get("firms_quarantined", ""))),
    ]
    rows += [(f"名单条件：{k}", "" if v is None else str(v)) for k, v in request.items()]
    rows += [
        (f"输入文件 {t}", f"{i.get('file')} sha256={i.get('sha256')}")
        for t, i in manifest.get("inputs", {}).items()
    ]
    return rows


def _xlsx(
    table: pl.DataFrame, cols: list[ExportColumn], provenance: list[tuple[str, str]]
) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "nan_inf_to_errors": True})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    ws = wb.add_worksheet("名单")
    fmts = [wb.add_format({"num_format": c.num_format}) if c.num_format else wrap for c in cols]
    for j, c in enumerate(cols):
        ws.write_string(0, j, c.header, head)
        ws.set_column(j, j, c.width, fmts[j])
    for i, row in enumerate(table.iter_rows(), start=1):
        for j, value in enumerate(row):
            if value is None:
                ws.write_blank(i, j, None, fmts[j])
            elif isinstance(value, bool):
                ws.write_boolean(i, j, value, fmts[j])
            elif isinstance(value, (int, float)):
                ws.write_number(i, j, value, fmts[j])
            else:
                ws.write_string(i, j, str(value), fmts[j])
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(table.height, 1), len(cols) - 1)
    info = wb.add_worksheet("运行信息")
    info.set_column(0, 0, 22)
    info.set_column(1, 1, 90)
    info.write_row(0, 0, ["项目", "内容"], head)
    for i, (k, v) in enumerate(provenance, start=1):
        info.write_string(i, 0, k)
        info.write_string(i, 1, v)
    wb.close()
    return buf.getvalue()


def export_candidates(
    frame: pl.DataFrame,
    fmt: Format,
    *,
    manifest: Mapping[str, Any],
    request: Mapping[str, Any],
    path: Path | None = None,
    include_confidential: bool = True,
) -> bytes:
    """Render a candidate list as ``fmt``; write it to ``path`` if given; return the bytes."""
    cols = _columns(frame, include_confidential)
    table = _table(frame, cols)
    if fmt == "xlsx":
        data = _xlsx(table, cols, provenance_rows(manifest, request))
    elif fmt == "csv":
        renamed = table.rename({c.key: c.header for c in cols})
        data = b"\xef\xbb\xbf" + renamed.write_csv().encode("utf-8")
    elif fmt == "json":
        doc = {
            "run_id": manifest.get("run_id"),
            "as_of": manifest.get("as_of"),
            "request": dict(request),
            "columns": {c.key: c.header for c in cols},
            "items": table.to_dicts(),
        }
        data = json.dumps(doc, ensure_ascii=False, indent=1, default=str).encode("utf-8")
    else:
        raise ValueError(f"unknown format {fmt!r}; use xlsx, csv or json")
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)
    return data
