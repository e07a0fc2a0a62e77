"""The what-if request body: one assessment-frame row, generated from ``tiering.frame``.

Why generated: ``FRAME_COLUMNS`` is the one list of the §11 columns (name, dtype, unit, Chinese
label); writing them out again here would drift. Each column becomes an optional field (null =
unknown, as in the batch), typed from its polars dtype and constrained from its unit — enumerated
codes become literals, counts and money are non-negative (net profit may be negative), ratios lie
in [0, 1], ``digital_level`` in 0–4 — with the Chinese label as its description. Unknown fields
are refused (``extra="forbid"``) so a typo cannot silently become "unknown". The USCC, district
and industry are checked against the shipped code tables and a failure names the field and the
rule (``USCC-CHECK``, ``CODE-DISTRICT``, ``CODE-INDUSTRY``).
The rules' optional inputs outside §11 (``tiering.pack_loader.EXTRA_COLUMNS``, e.g.
``title_revoked_3y``) are accepted too, so a what-if sees everything the batch's frame gave the
rules.

>>> m = FrameRow.model_validate({"uscc": "91420100177855421C", "revenue_y1": 1200.5})
>>> m.revenue_y1, m.rd_expense_y1
(1200.5, None)
>>> try:
...     FrameRow.model_validate({"uscc": "91420100177855421D"})
... except Exception as e:
...     print(e.errors()[0]["type"], e.errors()[0]["loc"])
USCC-CHECK ('uscc',)
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model
from pydantic_core import PydanticCustomError

from tiering.codes import WUHAN_DISTRICTS, validate_industry
from tiering.errors import TieringError
from tiering.frame import FRAME_COLUMNS, Column
from tiering.uscc import validate

__all__ = ["SCHEMA", "FrameRow", "frame_from_rows"]

_COUNT_UNITS = {"项", "人", "名"}


def _check_uscc(value: str) -> str:
    try:
        return validate(value)
    except TieringError as e:
        raise PydanticCustomError(e.rule or "USCC", e.message) from None


def _check_district(value: str | None) -> str | None:
    if value is not None and value not in WUHAN_DISTRICTS:
        raise PydanticCustomError(
            "CODE-DISTRICT", "行政区划代码“{v}”不是武汉市13个区之一（420102–420117）", {"v": value}
        )
    return value


def _check_industry(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return validate_industry(value)
    except TieringError as e:
        raise PydanticCustomError(e.rule or "CODE-INDUSTRY", e.message) from None


def _field(col: Column) -> tuple[Any, Any]:
    desc = col.label + (f"（{col.unit}）" if col.unit else "")
    if col.name == "uscc":
        return Annotated[str, AfterValidator(_check_uscc)], Field(
            description=desc + "；18位，含GB 32100校验码", min_length=1, max_length=40
        )
    if col.name == "district":
        return Annotated[str | None, AfterValidator(_check_district)], Field(None, description=desc)
    if col.name == "industry":
        return Annotated[str | None, AfterValidator(_check_industry)], Field(None, description=desc)
    dtype, unit = col.dtype, col.unit
    kw: dict[str, Any] = {"description": desc}
    if dtype == pl.String:
        if "/" in unit:
            return Literal[tuple(unit.split("/"))] | None, Field(None, **kw)  # type: ignore[misc]
        return str | None, Field(None, max_length=200, **kw)
    if dtype == pl.Boolean:
        return bool | None, Field(None, **kw)
    if dtype == pl.Date:
        return dt.date | None, Field(None, **kw)
    if dtype == pl.Int64:
        if unit == "0–4":
            kw.update(ge=0, le=4)
        elif unit == "年":
            kw.update(ge=1900, le=2100)
        elif unit in _COUNT_UNITS:
            kw.update(ge=1 if unit == "名" else 0, le=10_000_000)
        return int | None, Field(None, **kw)
    if dtype == pl.Float64:
        kw["allow_inf_nan"] = False
        if unit == "比例":
            kw.update(ge=0, le=1)
        elif col.name == "local_feature_points":
            kw.update(ge=0, le=15)
        elif unit == "分":
            kw.update(ge=0, le=100)
        elif unit == "年":
            kw.update(ge=0, le=200)
        elif unit == "万元":
            kw.update(le=1e9) if col.name.startswith("net_profit") else kw.update(ge=0, le=1e9)
        return float | None, Field(None, **kw)
    raise TypeError(f"no request type for {col.name}: {dtype}")  # pragma: no cover - contract


# The rules' optional inputs outside §11 (``tiering.pack_loader.EXTRA_COLUMNS``, all flags): a
# what-if must accept them, or a firm the batch saw as e.g. "no revoked title" (EL-6) would come
# back "unknown" online. Labels for the request schema; an unlabelled new one still gets a field.
_EXTRA_LABELS = {
    "products_allowed": "提供的产品（服务）不属于国家禁止、限制或淘汰类（人工核实结果）",
    "sci_dishonesty_3y": "近三年内存在科研严重失信行为",
    "title_revoked_3y": "近三年内被撤销梯度培育称号",
}


def _extra_columns() -> dict[str, pl.DataType]:
    """Optional inputs beyond §11: the rules' extra flags, and the columns the batch frame carries
    for the learned scorer (identity extras such as ``age_years`` and the history columns such as
    ``revenue_y4``). Given, they make a what-if score exactly as the batch did; absent, they are
    unknown (null), as the models' features then are."""
    from data_contracts.tables import TABLES
    from features.asof import EXTRA_COLUMNS as FRAME_EXTRAS
    from features.asof import HISTORY_COLUMNS
    from tiering.pack_loader import EXTRA_COLUMNS

    history = {
        name: TABLES[table].schema()[source] for name, (table, source, _) in HISTORY_COLUMNS.items()
    }
    names = {c.name for c in FRAME_COLUMNS} | {"as_of"}
    merged = {**EXTRA_COLUMNS, **FRAME_EXTRAS, **history}
    return {k: v for k, v in merged.items() if k not in names}


def _extra_field(name: str, dtype: pl.DataType) -> tuple[Any, Any]:
    desc = _EXTRA_LABELS.get(name, name) + "（可选；null 表示未知）"
    if dtype == pl.Boolean:
        return bool | None, Field(None, description=desc)
    if dtype == pl.Date:
        return dt.date | None, Field(None, description=desc)
    if dtype == pl.Float64:
        return float | None, Field(None, description=desc, allow_inf_nan=False)
    if dtype == pl.Int64:
        return int | None, Field(None, description=desc)
    return str | None, Field(None, description=desc, max_length=200)


_EXTRA = _extra_columns()
SCHEMA: dict[str, pl.DataType] = {**{c.name: c.dtype for c in FRAME_COLUMNS}, **_EXTRA}


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


FrameRow: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "FrameRow",
    __base__=_Base,
    __doc__="评估数据一行（§11 评估框架）：缺失或 null 表示未知，金额单位万元，比例以小数表示。",
    **{c.name: _field(c) for c in FRAME_COLUMNS},
    **{name: _extra_field(name, dtype) for name, dtype in _EXTRA.items()},
)


def frame_from_rows(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Validated rows → an assessment frame with the contract's dtypes and column order."""
    return pl.DataFrame(rows, schema=SCHEMA) if rows else pl.DataFrame(schema=SCHEMA)
