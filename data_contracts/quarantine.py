"""Quarantine reasons: one row per (table row, failed rule), in words a clerk can act on.

Why a long frame: a row with three problems must show all three, yet count once. Each reason
carries the table, the 0-based ``row`` (and ``line``, the row as seen in a CSV/Excel file with one
header line = row + 2), the row's key, the firm's ``uscc``, the column, the rule id, the
expectation id of the contract, the offending value and a Chinese message.

Rule ids come from the contract (``expectations.py``); the reader adds ``TYPE`` (a cell that did
not parse) and the cascade adds ``PARENT-QUARANTINED`` (所属企业已隔离: the firm row itself was
set aside, so none of its yearly rows can be trusted to describe a known firm).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from data_contracts.expectations import columns_of
from data_contracts.readers import PARSE_ERRORS
from data_contracts.tables import TABLES

__all__ = [
    "PARENT_RULE",
    "QUARANTINE_SCHEMA",
    "cascade_reasons",
    "empty",
    "parse_error_reasons",
    "rule_reasons",
]

PARENT_RULE = "PARENT-QUARANTINED"
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "table": pl.String(),
    "row": pl.Int64(),
    "line": pl.Int64(),
    "key": pl.String(),
    "uscc": pl.String(),
    "column": pl.String(),
    "rule": pl.String(),
    "expectation": pl.String(),
    "value": pl.String(),
    "message": pl.String(),
}
_NULL_TEXT = "（空）"


def empty() -> pl.DataFrame:
    """A quarantine frame with no rows."""
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def _label(table: str, column: str) -> str:
    spec = TABLES.get(table)
    if spec is not None:
        for c in spec.columns:
            if c.name == column:
                return c.label
    from tiering.frame import FRAME_COLUMNS

    return next((c.label for c in FRAME_COLUMNS if c.name == column), column)


def _text(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.String).fill_null(_NULL_TEXT)


def _key_expr(table: str, df: pl.DataFrame) -> pl.Expr:
    key = TABLES[table].key if table in TABLES else ("uscc",)
    return pl.concat_str([_text(k) for k in key if k in df.columns], separator="/")


def _frame(table: str, sub: pl.DataFrame, **cols: pl.Expr) -> pl.DataFrame:
    uscc = _text("uscc") if "uscc" in sub.columns else pl.lit(None, dtype=pl.String)
    return sub.select(
        table=pl.lit(table),
        row=pl.col("__row").cast(pl.Int64),
        line=pl.col("__row").cast(pl.Int64) + 2,
        key=_key_expr(table, sub),
        uscc=uscc,
        **cols,
    ).select(list(QUARANTINE_SCHEMA))


def _uscc_detail(col: str) -> tuple[pl.Expr, pl.Expr]:
    """Rule id and message for a USCC that fails GB 32100, naming the right check character."""
    from tiering.uscc import expected_check_expr, uscc_problem_expr

    v = pl.col(col).str.strip_chars().str.to_uppercase()
    problem = uscc_problem_expr(col)
    message = (
        pl.when(problem == "USCC-LEN")
        .then(pl.format("统一社会信用代码“{}”应为18位，实际为{}位", v, v.str.len_chars()))
        .when(problem == "USCC-CHAR")
        .then(pl.format("统一社会信用代码“{}”含非法字符（不得含I、O、S、V、Z或符号）", v))
        .otherwise(
            pl.format(
                "统一社会信用代码“{}”第18位校验码错误：为“{}”，应为“{}”",
                v,
                v.str.slice(17, 1),
                expected_check_expr(col),
            )
        )
    )
    return problem.fill_null("USCC-CHECK"), message


def rule_reasons(
    table: str, df: pl.DataFrame, fails: pl.DataFrame, configs: Sequence[dict[str, Any]]
) -> pl.DataFrame:
    """Reasons for the ``(row, id)`` pairs :func:`rowcheck.failures` returned."""
    if fails.height == 0:
        return empty()
    by_id = {c["meta"]["id"]: c for c in configs}
    indexed = df.with_row_index("__row")
    parts = []
    for rid, rows in fails.group_by("id", maintain_order=True).agg(pl.col("row")).iter_rows():
        cfg = by_id[rid]
        cols = columns_of(cfg)
        sub = indexed[pl.Series(rows, dtype=pl.UInt32)]
        if len(cols) == 1:
            value = _text(cols[0])
        else:
            value = pl.concat_str(
                [pl.lit(f"{_label(table, c)}=") + _text(c) for c in cols], separator="，"
            )
        column = "+".join(cols)
        if cfg["type"] == "expect_column_values_to_be_valid_uscc":
            rule, message = _uscc_detail(cols[0])
        else:
            template = cfg["meta"]["message"].replace("{label}", _label(table, cols[0]))
            head, sep, tail = template.partition("{value}")
            rule = pl.lit(cfg["meta"]["rule"])
            message = pl.lit(head) + value + pl.lit(tail) if sep else pl.lit(head)
        parts.append(
            _frame(
                table,
                sub,
                column=pl.lit(column),
                rule=rule,
                expectation=pl.lit(rid),
                value=value,
                message=message,
            )
        )
    return pl.concat(parts)


def parse_error_reasons(table: str, df: pl.DataFrame) -> pl.DataFrame:
    """``TYPE`` reasons for the cells the reader could not parse (see readers.PARSE_ERRORS)."""
    if PARSE_ERRORS not in df.columns:
        return empty()
    sub = (
        df.with_row_index("__row")
        .filter(pl.col(PARSE_ERRORS).list.len() > 0)
        .explode(PARSE_ERRORS)
        .with_columns(pl.col(PARSE_ERRORS).struct.unnest())
        .rename({"column": "__col", "value": "__val"})
    )
    if sub.height == 0:
        return empty()
    labels = {c.name: c.label for c in TABLES[table].columns}
    dtypes = {c.name: str(c.dtype) for c in TABLES[table].columns}
    kind = {
        "Float64": "数值",
        "Int64": "整数",
        "Date": "日期",
        "Boolean": "是/否",
        "String": "文本",
    }
    label = pl.col("__col").replace_strict(labels, default=pl.col("__col"))
    want = pl.col("__col").replace_strict(dtypes, default="").replace_strict(kind, default="值")
    return _frame(
        table,
        sub,
        column=pl.col("__col"),
        rule=pl.lit("TYPE"),
        expectation=pl.lit(None, dtype=pl.String),
        value=pl.col("__val"),
        message=pl.format("{}“{}”无法识别为{}", label, pl.col("__val"), want),
    )


def cascade_reasons(table: str, df: pl.DataFrame, rows: pl.Series) -> pl.DataFrame:
    """``PARENT-QUARANTINED`` reasons for child rows whose firm was quarantined."""
    if rows.len() == 0:
        return empty()
    sub = df.with_row_index("__row")[rows.cast(pl.UInt32)]
    return _frame(
        table,
        sub,
        column=pl.lit("uscc"),
        rule=pl.lit(PARENT_RULE),
        expectation=pl.lit(None, dtype=pl.String),
        value=_text("uscc"),
        message=pl.lit("所属企业已隔离（企业基本信息行未通过校验），本行随之隔离"),
    )
