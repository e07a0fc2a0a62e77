"""Compile a rule pack once into polars expressions (no Python loop over firms).

Each criterion becomes a handful of expressions evaluated over the whole frame:

- ``status`` — ``met | unmet | unknown | manual_review`` (Enum); a null input never passes or
  fails: conditions use three-valued logic and a null result maps to the criterion's
  ``null_status``;
- ``pmin`` / ``pmax`` — for scored indicators, the worst and best points reachable (equal when
  every input is known; an unknown basis is taken at its worst / best);
- ``value``, ``threshold``, ``gap``, ``unit``, ``gap_text`` — the explanation row (see
  :mod:`tiering.explain`).

Comparisons (``cmp`` leaves and band edges) use a relative tolerance of 1e-9 (at least 1e-9
absolute): ``v >= t`` is evaluated as ``v >= t - 1e-9·max(1, |t|)``. Inputs given to two decimals
(万元, percentages) differ from an edge by at least 0.005·10⁻²; float drift is ~1e-16 relative, so
a value exactly on an edge lands on it (3.00 % → the 3–5 % band) and 2.99 % stays below.

>>> tol(0.03), tol(40000.0)
(1e-09, 4e-05)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from tiering import explain
from tiering.formula import FormulaCompiler
from tiering.pack_model import (
    STATUSES,
    UNITS,
    AllOf,
    Cmp,
    Criterion,
    FlagTest,
    IsIn,
    NotOf,
    Pack,
    Test,
    VerdictNode,
)

__all__ = [
    "STATUS",
    "UNIT",
    "CompiledCriterion",
    "CompiledPack",
    "col_name",
    "compile_pack",
    "compile_test",
    "tol",
]

STATUS = pl.Enum(list(STATUSES))
UNIT = pl.Enum(list(UNITS))
REL_TOL = 1e-9


def tol(t: float) -> float:
    """Tolerance used at an edge ``t`` (see module docstring)."""
    return REL_TOL * max(1.0, abs(t))


def col_name(pack: str, cid: str, part: str) -> str:
    """Name of a wide column: ``<pack>|<criterion>|<part>`` (part: s, lo, hi)."""
    return f"{pack}|{cid}|{part}"


def _tol_expr(t: pl.Expr | float) -> pl.Expr | float:
    if isinstance(t, float | int):
        return tol(float(t))
    return pl.max_horizontal(pl.lit(1.0), t.abs()) * REL_TOL


def _cmp(v: pl.Expr, op: str, t: pl.Expr | float) -> pl.Expr:
    e = _tol_expr(t)
    if op == ">=":
        return v >= t - e
    if op == ">":
        return v > t + e
    if op == "<=":
        return v <= t + e
    return v < t - e


@dataclass
class Leaf:
    """A compiled comparison: what the firm has, what it needs, how far it is."""

    value: pl.Expr
    threshold: pl.Expr
    cond: pl.Expr
    gap: pl.Expr
    unit: str
    text: pl.Expr


@dataclass
class CompiledTest:
    cond: pl.Expr
    leaves: list[Leaf]
    text: pl.Expr  # plain-Chinese shortfall when cond is False (null otherwise)


def compile_test(t: Test, fc: FormulaCompiler) -> CompiledTest:
    """Compile a condition tree (Kleene logic) with its gap leaves and text."""
    if isinstance(t, Cmp):
        v = fc.materialise(fc.compile(t.value))
        th = fc.materialise(fc.compile(t.threshold))
        thr = float(t.threshold) if isinstance(t.threshold, int | float) else th
        cond = _cmp(v, t.op, thr)
        short = (th - v) if t.op in (">=", ">") else (v - th)
        gap = pl.when(cond.not_()).then(short.clip(lower_bound=0.0))
        text = pl.when(cond.not_()).then(explain.gap_text_expr(gap, t.name, t.unit, t.op))
        return CompiledTest(cond, [Leaf(v, th, cond, gap, t.unit, text)], text)
    if isinstance(t, FlagTest):
        e = fc.compile(t.flag)
        cond = e if t.expect else e.not_()
        msg = (f"需具备{t.name}" if t.expect else f"不得{t.name}") if t.name else None
        return CompiledTest(cond, [], pl.when(cond.not_()).then(pl.lit(msg, pl.String)))
    if isinstance(t, IsIn):
        c = fc.compile(t.isin)
        cond = pl.when(c.is_not_null()).then(c.is_in(list(t.values)))
        msg = f"需具备{t.name}" if t.name else None
        return CompiledTest(cond, [], pl.when(cond.not_()).then(pl.lit(msg, pl.String)))
    if isinstance(t, NotOf):
        inner = compile_test(t.not_, fc)
        return CompiledTest(inner.cond.not_(), [], pl.lit(None, pl.String))
    subs = [compile_test(s, fc) for s in (t.all if isinstance(t, AllOf) else t.any)]
    cond = subs[0].cond
    for s in subs[1:]:
        cond = (cond & s.cond) if isinstance(t, AllOf) else (cond | s.cond)
    leaves = [leaf for s in subs for leaf in s.leaves]
    sep = "；" if isinstance(t, AllOf) else "，或"
    joined = pl.concat_str([s.text for s in subs], separator=sep, ignore_nulls=True)
    text = pl.when(cond.not_() & (joined != "")).then(joined)
    return CompiledTest(cond, leaves, text)


@dataclass
class CompiledCriterion:
    """Expressions of one criterion (see module docstring)."""

    pack: str
    criterion: Criterion
    status: pl.Expr
    pmin: pl.Expr | None
    pmax: pl.Expr | None
    value: pl.Expr
    threshold: pl.Expr
    gap: pl.Expr
    unit: pl.Expr
    gap_text: pl.Expr


def _status_from(cond: pl.Expr, null_status: str) -> pl.Expr:
    return (
        pl.when(cond)
        .then(pl.lit("met"))
        .when(cond.not_())
        .then(pl.lit("unmet"))
        .otherwise(pl.lit(null_status))
        .cast(STATUS)
    )


def _first_failing(leaves: list[Leaf]) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """value, threshold, gap, unit of the first failing leaf (else of the first leaf)."""
    if not leaves:
        null = pl.lit(None, pl.Float64)
        return null, null, null, pl.lit(None, UNIT)

    def pick(attr: str, dtype: pl.DataType) -> pl.Expr:
        chain = pl.when(leaves[0].cond.not_()).then(getattr(leaves[0], attr))
        for lf in leaves[1:]:
            chain = chain.when(lf.cond.not_()).then(getattr(lf, attr))
        return chain.otherwise(getattr(leaves[0], attr)).cast(dtype)

    unit = pl.when(leaves[0].cond.not_()).then(pl.lit(leaves[0].unit))
    for lf in leaves[1:]:
        unit = unit.when(lf.cond.not_()).then(pl.lit(lf.unit))
    return (
        pick("value", pl.Float64),
        pick("threshold", pl.Float64),
        pick("gap", pl.Float64),
        unit.otherwise(pl.lit(leaves[0].unit)).cast(UNIT),
    )


def _scored(c: Criterion, fc: FormulaCompiler) -> CompiledCriterion:
    """Compile a scored indicator into (pmin, pmax) and its explanation."""
    null = pl.lit(None, pl.Float64)
    value, threshold, gap, unit, text = null, null, null, pl.lit(None, UNIT), null
    text = pl.lit(None, pl.String)
    if c.bands is not None or c.cases is not None:
        steps: list[tuple[pl.Expr, float, CompiledTest | None]] = []
        if c.bands is not None:
            b = c.bands
            op = ">=" if b.direction == "higher" else "<="
            vals = [fc.materialise(fc.compile(base.value)) for base in b.bases]
            for i, p in enumerate(b.points):
                conds = [
                    _cmp(v, op, float(base.edges[i])) for v, base in zip(vals, b.bases, strict=True)
                ]
                cond = conds[0]
                for more in conds[1:]:
                    cond = cond | more
                steps.append((cond, float(p), None))
            worst = float(b.else_points)
            value, threshold, gap, unit, text = explain.band_gap(vals, b, c)
        else:
            assert c.cases is not None
            for s in c.cases.steps:
                ct = compile_test(s.when, fc)
                steps.append((ct.cond, float(s.points), ct))
            worst = float(c.cases.else_points)
        lo = hi = pl.lit(worst)
        for cond, p, _ in reversed(steps):
            lo = pl.when(cond.fill_null(False)).then(pl.lit(p)).otherwise(lo)
            hi = pl.when(cond.fill_null(True)).then(pl.lit(p)).otherwise(hi)
        if c.cases is not None:
            value, threshold, gap, unit, text = explain.case_gap(lo, steps, worst, c)
    elif c.categories is not None:
        cat = c.categories
        code = fc.compile(cat.column)
        pts = code.replace_strict(
            {k: float(v) for k, v in cat.points.items()}, default=None, return_dtype=pl.Float64
        )
        lo, hi = pts.fill_null(c.worst_points()), pts.fill_null(c.best_points())
    elif c.count is not None:
        conds = [compile_test(t, fc).cond for t in c.count.items]
        n_lo = pl.sum_horizontal([x.fill_null(False).cast(pl.Float64) for x in conds])
        n_hi = pl.sum_horizontal([x.fill_null(True).cast(pl.Float64) for x in conds])
        cap = float(c.count.cap)
        lo = (n_lo * float(c.count.each)).clip(upper_bound=cap)
        hi = (n_hi * float(c.count.each)).clip(upper_bound=cap)
    else:
        pf = c.points_from
        assert pf is not None
        v = fc.materialise(fc.compile(pf.value)).clip(float(pf.lo), float(pf.hi))
        lo, hi = v.fill_null(float(pf.lo)), v.fill_null(float(pf.hi))
        value = v.cast(pl.Float64)
    lo, hi = lo.cast(pl.Float64), hi.cast(pl.Float64)
    status = (
        pl.when(lo != hi)
        .then(pl.lit(c.null_status))
        .when(lo > 0)
        .then(pl.lit("met"))
        .otherwise(pl.lit("unmet"))
        .cast(STATUS)
    )
    return CompiledCriterion("", c, status, lo, hi, value, threshold, gap, unit, text)


def compile_criterion(
    pack: str, c: Criterion, fc: FormulaCompiler, application: str
) -> CompiledCriterion:
    """Compile one criterion for an application type (``new`` or ``review``)."""
    if c.scored:
        out = _scored(c, fc)
        out.pack = pack
        return out
    null = pl.lit(None, pl.Float64)
    if c.manual is not None:
        if c.manual.flag is None:
            status = pl.lit("manual_review").cast(STATUS)
        else:
            status = _status_from(fc.compile(c.manual.flag), "manual_review")
        return CompiledCriterion(
            pack,
            c,
            status,
            None,
            None,
            null,
            null,
            null,
            pl.lit(None, UNIT),
            pl.lit(None, pl.String),
        )
    test = c.review_test if application == "review" and c.review_test is not None else c.test
    assert test is not None
    ct = compile_test(test, fc)
    value, threshold, gap, unit = _first_failing(ct.leaves)
    status = _status_from(ct.cond, c.null_status)
    return CompiledCriterion(pack, c, status, None, None, value, threshold, gap, unit, ct.text)


@dataclass
class CompiledPack:
    """A pack compiled for one assessment year and application type."""

    pack: Pack
    application: str
    criteria: list[CompiledCriterion]
    name: str = ""
    #: shared formula columns (``_f:<key>`` → expression) the criteria reference
    temps: dict[str, pl.Expr] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """Prefix of this pack's wide columns (the pack id, or an internal alias)."""
        return self.name or self.pack.id

    def applicable(self, cid: str) -> bool:
        return any(cc.criterion.id == cid for cc in self.criteria)

    # ---------------------------------------------------------------- wide stage 1
    def stage1(self) -> list[pl.Expr]:
        """Status / pmin / pmax columns of every criterion (wide form)."""
        out: list[pl.Expr] = []
        for cc in self.criteria:
            cid = cc.criterion.id
            out.append(cc.status.alias(col_name(self.id, cid, "s")))
            if cc.pmin is not None and cc.pmax is not None:
                out.append(cc.pmin.alias(col_name(self.id, cid, "lo")))
                out.append(cc.pmax.alias(col_name(self.id, cid, "hi")))
        return out

    # ---------------------------------------------------------------- wide stage 2
    def _sum(self, part: str, dimension: str | None = None) -> pl.Expr:
        cols = [
            pl.col(col_name(self.id, cc.criterion.id, part))
            for cc in self.criteria
            if cc.pmin is not None and (dimension is None or cc.criterion.dimension == dimension)
        ]
        return pl.sum_horizontal(cols) if cols else pl.lit(None, pl.Float64)

    @property
    def scored(self) -> bool:
        return any(cc.pmin is not None for cc in self.criteria)

    def score_exprs(self) -> dict[str, pl.Expr]:
        """score (null unless every indicator is known), score_min, score_max, dimensions."""
        if not self.scored:
            return {}
        lo, hi = self._sum("lo"), self._sum("hi")
        out = {
            self.col("score_min"): lo,
            self.col("score_max"): hi,
            self.col("score"): pl.when(lo == hi).then(lo),
        }
        for d in self.pack.dimensions:
            out[self.col(f"dim:{d.name}:min")] = self._sum("lo", d.name)
            out[self.col(f"dim:{d.name}:max")] = self._sum("hi", d.name)
        return out

    def col(self, part: str) -> str:
        """Name of a pack-level wide column (``<pack>|<part>``)."""
        return f"{self.id}|{part}"

    def verdict_expr(self, eligibility: list[str]) -> pl.Expr:
        """Three-valued pass logic: eligibility columns AND the pack's verdict tree."""
        assert self.pack.verdict is not None
        tree = self._node(self.pack.verdict)
        for col in eligibility:
            tree = _status_bool(pl.col(col)) & tree
        return tree

    def _node(self, n: VerdictNode) -> pl.Expr:
        def met(cid: str) -> pl.Expr:
            if not self.applicable(cid):  # e.g. LG6-X2c is not checked at review
                return pl.lit(True)
            return _status_bool(pl.col(col_name(self.id, cid, "s")))

        if n.all is not None or n.all_met is not None:
            parts = [self._node(s) for s in n.all] if n.all else [met(i) for i in n.all_met or ()]
            return pl.all_horizontal(parts) if len(parts) > 1 else parts[0]
        if n.any is not None or n.any_met is not None:
            parts = [self._node(s) for s in n.any] if n.any else [met(i) for i in n.any_met or ()]
            return pl.any_horizontal(parts) if len(parts) > 1 else parts[0]
        if n.met is not None:
            return met(n.met)
        if n.score_at_least is not None:
            return _bound_at_least(
                pl.col(self.col("score_min")), pl.col(self.col("score_max")), n.score_at_least
            )
        if n.dimensions_ok is not None:
            parts = [
                _bound_at_least(
                    pl.col(self.col(f"dim:{d.name}:min")),
                    pl.col(self.col(f"dim:{d.name}:max")),
                    d.min_points,
                )
                for d in self.pack.dimensions
                if d.min_points is not None
            ]
            return pl.all_horizontal(parts) if parts else pl.lit(True)
        pa = n.points_above
        assert pa is not None
        lo = pl.col(col_name(self.id, pa.criterion, "lo"))
        hi = pl.col(col_name(self.id, pa.criterion, "hi"))
        v = float(pa.value)
        return pl.when(lo > v).then(True).when(hi <= v).then(False).otherwise(None)


def _status_bool(s: pl.Expr) -> pl.Expr:
    """met → True, unmet → False, unknown / manual_review → null."""
    return pl.when(s == "met").then(True).when(s == "unmet").then(False).otherwise(None)


def _bound_at_least(lo: pl.Expr, hi: pl.Expr, mark: float) -> pl.Expr:
    e = tol(float(mark))
    return pl.when(lo >= mark - e).then(True).when(hi < mark - e).then(False).otherwise(None)


def compile_pack(
    pack: Pack,
    columns: dict[str, pl.DataType],
    *,
    year: int | None,
    application: str = "new",
    name: str = "",
) -> tuple[CompiledPack, set[str]]:
    """Compile ``pack`` against the known ``columns``; also return the frame columns it reads."""
    fc = FormulaCompiler(columns, dict(pack.parameters), dict(pack.derived), year)
    criteria = [
        compile_criterion(pack.id, c, fc, application)
        for c in pack.criteria
        if application in c.application
    ]
    return CompiledPack(pack, application, criteria, name, dict(fc.temps)), set(fc.used)
