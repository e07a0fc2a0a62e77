"""Gaps: how far a firm is from a criterion, in the criterion's own unit, and in plain Chinese.

Why: a commissioner must be able to tell a firm *what to change* — "研发费用差 38.5 万元",
"研发费用占比差 0.4 个百分点", "还需 1 项Ⅰ类知识产权". Every unmet numeric criterion carries

- ``gap`` — the shortfall in its own unit (万元, a ratio as a fraction, 项, 年, 人, 分, 名);
- ``unit`` — that unit;
- ``gap_text`` — the sentence staff read. For a ratio the gap is stored as a fraction (0.004)
  and worded in percentage points (0.4 个百分点).

For scored indicators the gap is the distance to the *next better band* (and ``threshold`` is
that band's edge), so the text tells the firm how to earn more points.

>>> gap_text(38.5, "研发费用", "万元", ">=")
'研发费用差 38.5 万元'
>>> gap_text(0.004, "研发费用占比", "ratio", ">=")
'研发费用占比差 0.4 个百分点'
>>> gap_text(1, "Ⅰ类知识产权", "项", ">=")
'还需 1 项Ⅰ类知识产权'
>>> gap_text(0.031, "资产负债率", "ratio", "<=")
'资产负债率超出 3.1 个百分点'
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:  # pragma: no cover
    from tiering.pack_model import Bands, Criterion

__all__ = ["band_gap", "case_gap", "catalogue", "format_number", "gap_text", "gap_text_expr"]

_COUNTED = ("项", "人", "名")


def format_number(x: float, unit: str) -> str:
    """Number as worded in a gap text: whole counts rounded up, others to 2 decimals."""
    if unit in _COUNTED:
        return str(math.ceil(x - 1e-9))
    if unit == "ratio":
        x *= 100
    s = f"{round(x, 2):.2f}".rstrip("0").rstrip(".")
    return s if s not in ("", "-0") else "0"


def _template(name: str, unit: str, op: str) -> str:
    above = op in (">=", ">")
    if unit == "项":
        return f"还需 {{}} 项{name}" if above else f"{name}超出 {{}} 项"
    if unit == "名":
        return f"{name}需提升 {{}} 名" if not above else f"{name}差 {{}} 名"
    word = "差" if above else "超出"
    suffix = {
        "万元": " 万元",
        "ratio": " 个百分点",
        "人": " 人",
        "年": " 年",
        "分": " 分",
        "": "",
    }[unit]
    return f"{name}{word} {{}}{suffix}"


def gap_text(gap: float, name: str, unit: str, op: str) -> str:
    """The plain-Chinese sentence for one shortfall (Python form of :func:`gap_text_expr`)."""
    return _template(name, unit, op).format(format_number(gap, unit))


def _number_expr(gap: pl.Expr, unit: str) -> pl.Expr:
    if unit in _COUNTED:
        return (gap - 1e-9).ceil().cast(pl.Int64).cast(pl.String)
    x = (gap * 100 if unit == "ratio" else gap).round(2)
    # whole numbers without ".0"; others in polars' shortest float form (38.5, 0.4)
    return (
        pl.when(x == x.floor()).then(x.cast(pl.Int64).cast(pl.String)).otherwise(x.cast(pl.String))
    )


def gap_text_expr(gap: pl.Expr, name: str, unit: str, op: str) -> pl.Expr:
    """Vectorised :func:`gap_text`: null where ``gap`` is null."""
    left, right = _template(name, unit, op).split("{}")
    return pl.concat_str([pl.lit(left), _number_expr(gap, unit), pl.lit(right)])


def band_gap(
    vals: list[pl.Expr], bands: Bands, c: Criterion
) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """value, threshold (next better edge), gap, unit and text of a banded indicator.

    With several bases ("the better of"), the numbers refer to the first basis and the text
    names every basis joined by “，或”.
    """
    from tiering.compile import UNIT, tol

    higher = bands.direction == "higher"
    op = ">=" if higher else "<="
    texts: list[pl.Expr] = []
    first: tuple[pl.Expr, pl.Expr] | None = None
    for val, base in zip(vals, bands.bases, strict=True):
        edges = sorted(base.edges, reverse=not higher)  # nearest-to-worst first
        cand = [
            pl.when((val < e - tol(e)) if higher else (val > e + tol(e))).then(pl.lit(float(e)))
            for e in edges
        ]
        thr = pl.coalesce(cand)
        gap = (thr - val) if higher else (val - thr)
        first = first or (thr, gap)
        texts.append(gap_text_expr(gap, base.name, base.unit, op))
    assert first is not None
    thr, gap = first
    return (
        vals[0].cast(pl.Float64),
        thr,
        gap,
        pl.when(gap.is_not_null()).then(pl.lit(bands.bases[0].unit)).cast(UNIT),
        _non_empty(pl.concat_str(texts, separator="，或", ignore_nulls=True)),
    )


def _non_empty(s: pl.Expr) -> pl.Expr:
    return pl.when(s != "").then(s)


def case_gap(
    lo: pl.Expr, steps: list, worst: float, c: Criterion
) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """Explain a ``cases`` indicator by the next step above the points already earned."""
    from tiering.compile import UNIT, _first_failing

    value = threshold = gap = None
    unit: pl.Expr | None = None
    text: pl.Expr | None = None
    for _cond, p, ct in reversed(steps):  # lowest step first
        v, t, g, u = _first_failing(ct.leaves)
        is_target = lo < p
        if value is None:
            value = pl.when(is_target).then(v)
            threshold = pl.when(is_target).then(t)
            gap = pl.when(is_target).then(g)
            unit = pl.when(is_target).then(u)
            text = pl.when(is_target).then(ct.text)
        else:
            value = value.when(is_target).then(v)
            threshold = threshold.when(is_target).then(t)
            gap = gap.when(is_target).then(g)
            unit = unit.when(is_target).then(u)
            text = text.when(is_target).then(ct.text)
    return (
        value.cast(pl.Float64),
        threshold.cast(pl.Float64),
        gap.cast(pl.Float64),
        unit.cast(UNIT),
        text.cast(pl.String),
    )


def catalogue() -> pl.DataFrame:
    """Every criterion of every shipped tier pack with its Chinese label, role and source.

    Join it to ``criteria`` on (``pack``, ``criterion_id``) to show labels; the key columns use
    the same Enum dtypes as the assessment output.

    >>> c = catalogue()
    >>> c.filter(pl.col("criterion_id") == "SP6-P3")["label"].item()
    '上年度主营业务收入总额占营业收入总额比重不低于80%'
    """
    from tiering.engine import criterion_enum, pack_enum
    from tiering.pack_loader import list_packs, load_pack
    from tiering.pack_model import Pack

    rows = []
    for pid in list_packs():
        pk = load_pack(pid)
        if not isinstance(pk, Pack):
            continue
        for c in pk.criteria:
            rows.append(
                {
                    "pack": pid,
                    "criterion_id": c.id,
                    "label": c.label,
                    "role": c.role,
                    "kind": c.kind,
                    "dimension": c.dimension,
                    "max_points": None if c.max_points is None else float(c.max_points),
                    "source": c.source or pk.source,
                }
            )
    return pl.DataFrame(rows).with_columns(
        pl.col("pack").cast(pack_enum()), pl.col("criterion_id").cast(criterion_enum())
    )
