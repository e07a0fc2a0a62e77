"""Write a validation's outputs: ``quarantine.parquet``, ``report.json`` and ``report.md``.

Why Markdown in Chinese: the clerk who fixes the source extract reads it — what was set aside,
why, in which file line, and whether the batch as a whole can be used. ``report.json`` is the
machine form (the next run compares its ``profile`` against this one's).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from data_contracts.validate import ValidationResult

__all__ = ["quarantine_summary", "render_markdown", "write_outputs"]

RULE_NAMES = {
    "KEY-NULL": "主键缺失",
    "KEY-DUP": "主键重复",
    "USCC-CHECK": "统一社会信用代码校验码错误",
    "USCC-LEN": "统一社会信用代码长度错误",
    "USCC-CHAR": "统一社会信用代码含非法字符",
    "MONEY-NEG": "金额为负数",
    "COUNT-NEG": "数量为负数",
    "RANK": "名次不合法",
    "RATIO": "比例超出0–1",
    "RANGE": "取值超出范围",
    "YEAR-FUTURE": "年份晚于评估年度",
    "DATE-FUTURE": "日期晚于评估日期",
    "DATE-ORDER": "日期先后矛盾",
    "ENUM": "取值不在允许范围",
    "CODE-INDUSTRY": "行业代码不是GB/T 4754小类",
    "CODE-DISTRICT": "不是武汉市的区",
    "CODE-STREET": "街道代码无效",
    "CROSS-MAIN-REVENUE": "主营业务收入超过营业收入",
    "CROSS-EXPORT": "出口收入超过营业收入",
    "CROSS-RD-STAFF": "研发人员多于从业人员",
    "CROSS-IP": "知识产权分项多于总数",
    "REF-FIRM": "企业不在企业基本信息表中",
    "PARENT-QUARANTINED": "所属企业已隔离",
    "TYPE": "无法识别的值",
}
EXAMPLES_PER_RULE = 5


def _md_cell(v: Any) -> str:
    return str("" if v is None else v).replace("|", "\\|").replace("\n", " ")


def render_markdown(result: ValidationResult) -> str:
    """The clerk's report, in Chinese."""
    r = result.report
    lines = [f"# 数据校验报告（评估日期 {r.get('as_of', '')}）", ""]
    if result.fatal:
        lines += ["**结论：本批数据不可用。**", "", f"原因：{result.reason}", ""]
    else:
        lines += ["**结论：本批数据可用。** 未通过校验的行已隔离，其余行进入后续计算。", ""]
    tables = r.get("tables", {})
    if tables:
        lines += [
            "## 各表行数",
            "",
            "| 数据表 | 输入行数 | 有效行数 | 隔离行数 | 隔离比例 |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, t in tables.items():
            lines.append(
                f"| {t['label']}（{name}） | {t['rows_in']} | {t['rows_valid']} | "
                f"{t['rows_quarantined']} | {t['bad_share']:.2%} |"
            )
        lines.append("")
    by_rule = r.get("reasons_by_rule", [])
    if by_rule:
        lines += ["## 隔离原因汇总", "", "| 数据表 | 规则 | 说明 | 条数 |", "|---|---|---|---:|"]
        for x in by_rule:
            lines.append(
                f"| {x['table']} | {x['rule']} | {RULE_NAMES.get(x['rule'], '')} | {x['len']} |"
            )
        lines.append("")
    q = result.quarantine
    if q.height:
        lines += [
            "## 隔离示例（每条规则最多5行；完整清单见 quarantine.parquet）",
            "",
            "行号为CSV/Excel文件中的行号（第1行为表头）。",
            "",
            "| 数据表 | 行号 | 统一社会信用代码 | 字段 | 规则 | 说明 |",
            "|---|---:|---|---|---|---|",
        ]
        ex = q.group_by("table", "rule", maintain_order=True).head(EXAMPLES_PER_RULE)
        for row in ex.iter_rows(named=True):
            lines.append(
                "| "
                + " | ".join(
                    _md_cell(row[k]) for k in ("table", "line", "uscc", "column", "rule", "message")
                )
                + " |"
            )
        lines.append("")
    findings = r.get("batch_findings", [])
    lines += ["## 批次检查", ""]
    if not r.get("compared_with_previous"):
        lines += ["未提供上次运行的报告（--previous），只做了本批自身的检查。", ""]
    if findings:
        for f in findings:
            tag = "失败" if f["level"] == "failure" else "警告"
            lines.append(f"- 【{tag}】{f['message']}")
    else:
        lines.append("- 未发现异常。")
    lines.append("")
    cor = r.get("contract_of_record", {})
    if cor.get("mode") and cor["mode"] != "off":
        drift = {t: v["drift"] for t, v in cor.get("tables", {}).items() if v.get("drift")}
        checked = sum(v["rows_checked"] for v in cor.get("tables", {}).values())
        lines += [
            "## 契约执行记录（Great Expectations）",
            "",
            f"- 方式：{'抽样' if cor['mode'] == 'sample' else '全量'}，共校验{checked}行。",
            "- 快速校验与GX结果一致。"
            if not drift
            else f"- **不一致的规则：{drift}**（请联系维护人员）",
            "",
        ]
    ignored = r.get("ignored_columns", {})
    if ignored:
        lines += ["## 未使用的列（不在数据契约中，未进入后续计算）", ""]
        lines += [f"- {name}：{'、'.join(cols)}" for name, cols in ignored.items()]
        lines.append("")
    sources = r.get("sources", {})
    if sources:
        lines += ["## 读取的文件", ""]
        for name, s in sources.items():
            enc = f"，编码{s['encoding']}" if s.get("encoding") else ""
            ign = (
                f"，忽略未识别的列：{'、'.join(s['ignored_columns'])}"
                if s.get("ignored_columns")
                else ""
            )
            rec = (
                f"，行业代码按2019年第1号修改单前的版本读取（映射{s['industry_recoded']}行）"
                if s.get("industry_codes") == "pre2019"
                else ""
            )
            lines.append(
                f"- {name}：{Path(s['path']).name}（{s['format']}{enc}，{s['rows']}行{ign}{rec}）"
            )
        lines.append("")
    return "\n".join(lines)


def write_outputs(result: ValidationResult, out: str | Path) -> dict[str, Path]:
    """Write the three files into ``out`` (created if needed); return their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "quarantine": out / "quarantine.parquet",
        "report_json": out / "report.json",
        "report_md": out / "report.md",
    }
    result.quarantine.write_parquet(paths["quarantine"])
    paths["report_json"].write_text(
        json.dumps(result.report, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
    )
    paths["report_md"].write_text(render_markdown(result), encoding="utf-8")
    return paths


def quarantine_summary(q: pl.DataFrame) -> list[dict[str, Any]]:
    """Counts by table and rule (what the store keeps per run)."""
    if q.height == 0:
        return []
    return (
        q.group_by("table", "rule")
        .agg(rows=pl.col("row").n_unique(), reasons=pl.len())
        .sort("table", "rule")
        .to_dicts()
    )
