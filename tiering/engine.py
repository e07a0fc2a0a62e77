"""``assess``: evaluate rule packs over an assessment frame and return the §11 output frames.

Why one lazy query: 1 M firms × ~10 packs × ~90 criteria must run in seconds on two cores. The
frame is prepared once (dtypes checked, unknown codes nulled, industry joined to its 门类, SEI
flag, size sector and 四上 group), every criterion becomes a status (and for indicators a
worst/best points) column, every pack a verdict column, and the firm-level ladder columns are
derived from those — all in a single ``collect``. The review packs needed for ``review_risk``
(the pack a held title's 复核 will use) are evaluated in a second pass only over firms holding a
title due within a year. The long ``criteria`` frame (firm × pack ×
criterion, tens of millions of rows at city scale) is never needed to decide anything: it is
produced lazily from the wide result (``Assessment.criteria_lazy()``) and can be streamed to
parquet (``Assessment.write``); ``pack``, ``criterion_id``, ``status`` and ``unit`` are Enums.

Two backends of the same compiled packs: a :class:`polars.DataFrame` of at most
:data:`SMALL_ROWS` rows (the what-if API's 1–32-row calls) is evaluated with numpy
(:mod:`tiering.small`, :mod:`tiering.small_firm`, :mod:`tiering.engine_small`), because polars'
fixed cost per expression (~15–70 µs × thousands of expressions) dominates tiny frames: ~7 ms
CPU per call instead of ~100 ms. Both read the same pack models; the parity tests
(``tests/unit/rules/test_batch_parity.py``, ``test_backend_properties.py``) hold them equal.
A construct the numpy backend does not know raises ``Unsupported`` and the call falls back
to polars.

>>> import datetime as dt
>>> packs_in_force(dt.date(2026, 6, 30), "new")
['tech_sme-2017', 'innovative-2022', 'specialized-2026', 'little_giant-2026', 'champion-2023']
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

from tiering.calendar import calendar, pack_for, packs_in_force
from tiering.codes import industries
from tiering.compile import UNIT, CompiledCriterion, CompiledPack, col_name, compile_pack
from tiering.errors import FrameSchemaError, PackError
from tiering.four_above import four_above_exprs, four_above_table
from tiering.ladder import TIER, ladder_exprs, one_year_after
from tiering.pack_loader import KNOWN_COLUMNS, REQUIRED_COLUMNS, list_packs, load_pack
from tiering.pack_model import VERDICTS, Pack
from tiering.size_class import SIZE_CLASS, size_class_expr, size_sector_table

__all__ = [
    "ALWAYS_PACKS",
    "SMALL_ROWS",
    "VERDICT",
    "Assessment",
    "assess",
    "criterion_enum",
    "pack_enum",
    "packs_in_force",
]

VERDICT = pl.Enum(list(VERDICTS))
ALWAYS_PACKS = ("EL", "sme-size-2011", "four-above")

#: Allowed codes of categorical inputs; anything else is treated as null (unknown), never unmet.
DOMAINS: dict[str, tuple[str, ...]] = {
    "rd_institution_level": ("none", "below_city", "city", "provincial", "national"),
    "quality_award_level": ("none", "city", "provincial", "national"),
    "sci_award_level": ("none", "provincial", "national"),
    "niche_domain": ("breakthrough", "foundation", "none"),
}
#: Columns the firm-level derivations read besides the packs.
_FIRM_COLUMNS = (
    "uscc",
    "industry",
    "sei_product",
    "in_four_above",
    "construction_qualified",
    "real_estate_active",
    "serious_dishonesty",
    "incident_3y",
    "fraud_3y",
    *(f"held_{t}" for t in ("tech_sme", "innovative", "specialized", "little_giant", "champion")),
    *(
        f"{t}_expires"
        for t in ("tech_sme", "innovative", "specialized", "little_giant", "champion")
    ),
)


@functools.cache
def _pack_enum() -> pl.Enum:
    return pl.Enum(list_packs())


def pack_enum() -> pl.Enum:
    """Enum of every shipped pack id (the ``pack`` dtype of the output frames)."""
    return _pack_enum()


@functools.cache
def criterion_enum() -> pl.Enum:
    """Enum of every criterion id across shipped packs (the ``criterion_id`` dtype)."""
    ids: list[str] = []
    for p in list_packs():
        pk = load_pack(p)
        if isinstance(pk, Pack):
            ids += [c.id for c in pk.criteria if c.id not in ids]
    return pl.Enum(ids)


@functools.cache
def _industry_table() -> pl.DataFrame:
    ind = industries().select(
        industry=pl.col("code"),
        industry_section=pl.col("section"),
        industry_division=pl.col("division"),
        _sei=pl.col("sei"),
        _sei_partial=pl.col("sei_partial"),
    )
    return ind.join(
        size_sector_table().rename({"code": "industry"}), on="industry", how="left"
    ).join(four_above_table().rename({"code": "industry"}), on="industry", how="left")


def _is_numeric(dt_: pl.DataType) -> bool:
    return dt_.is_numeric() or dt_ == pl.Null


def _check_and_cast(
    schema: pl.Schema, needed: dict[str, list[str]]
) -> tuple[list[pl.Expr], list[str]]:
    """Schema check: raise on a missing required column or a wrong dtype, else cast/fill."""
    exprs: list[pl.Expr] = []
    for col in sorted(needed):
        want = KNOWN_COLUMNS.get(col)
        if want is None:
            continue
        by = "、".join(sorted(set(needed[col]))[:4])
        if col not in schema:
            if col in REQUIRED_COLUMNS:
                raise FrameSchemaError(
                    f"评估数据缺少必需列“{col}”（规则包 {by} 需要）", field=col, rule=by
                )
            exprs.append(pl.lit(None, want).alias(col))
            continue
        have = schema[col]
        ok = (
            (want.is_numeric() and _is_numeric(have))
            or (want == pl.Boolean and have in (pl.Boolean, pl.Null))
            or (
                want == pl.String
                and (have in (pl.String, pl.Null, pl.Categorical) or isinstance(have, pl.Enum))
            )
            or (want == pl.Date and (have in (pl.Date, pl.Null) or isinstance(have, pl.Datetime)))
        )
        if not ok:
            raise FrameSchemaError(
                f"评估数据列“{col}”类型应为 {want}，实际为 {have}（规则包 {by} 需要）",
                field=col,
                value=str(have),
                rule=by,
            )
        e = pl.col(col).cast(want)
        if want.is_numeric():
            e = pl.when(e.is_finite() if want.is_float() else e.is_not_null()).then(e)
        if col in DOMAINS:
            e = pl.when(e.is_in(list(DOMAINS[col]))).then(e)
        exprs.append(e.alias(col))
    return exprs, [c for c in schema if c not in needed]


def criterion_points(cp: CompiledPack, cc: CompiledCriterion) -> pl.Expr:
    """A criterion's points where they are settled (best = worst reachable), else null."""
    if cc.pmin is None:
        return pl.lit(None, pl.Float64)
    lo = pl.col(col_name(cp.id, cc.criterion.id, "lo"))
    hi = pl.col(col_name(cp.id, cc.criterion.id, "hi"))
    return pl.when(lo == hi).then(lo)


@dataclass
class Assessment:
    """Result of :func:`assess`: the wide evaluation plus views in the §11 shapes.

    ``tiers`` and ``firms`` are small enough to hold (firm × pack, firm); ``criteria`` is
    materialised on first access — at city scale prefer :meth:`criteria_lazy` or :meth:`write`.
    """

    as_of: dt.date
    application: str
    packs: list[str]
    wide: pl.DataFrame
    compiled: dict[str, CompiledPack] = field(repr=False)
    _criteria: pl.DataFrame | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ criteria
    def criteria_lazy(self, packs: Sequence[str] | None = None) -> pl.LazyFrame:
        """Long ``criteria`` frame, lazily: one row per firm × pack × criterion."""
        # the explanations read size_class as the criteria did (a fact: null when undetermined),
        # not the firms-frame class that stage 4 wrote over it
        base = self.wide.lazy().with_columns(_size_fact_exprs()[1])
        penum, cenum = _pack_enum(), criterion_enum()
        parts = []
        for pid in packs or ["EL", *self.packs]:
            cp = self.compiled[pid]
            for cc in cp.criteria:
                cid = cc.criterion.id
                s = pl.col(col_name(cp.id, cid, "s"))
                points = criterion_points(cp, cc)
                mx = cc.criterion.max_points
                parts.append(
                    base.select(
                        pl.col("uscc"),
                        pack=pl.lit(pid).cast(penum),
                        criterion_id=pl.lit(cid).cast(cenum),
                        status=s,
                        value=cc.value.cast(pl.Float64),
                        threshold=cc.threshold.cast(pl.Float64),
                        points=points.cast(pl.Float64),
                        max_points=pl.lit(mx, pl.Float64),
                        gap=cc.gap.cast(pl.Float64),
                        unit=cc.unit.cast(UNIT),
                        gap_text=cc.gap_text.cast(pl.String),
                    )
                )
        return pl.concat(parts, how="vertical")

    @property
    def criteria(self) -> pl.DataFrame:
        """The long ``criteria`` frame (materialised once)."""
        if self._criteria is None:
            self._criteria = self.criteria_lazy().collect()
        return self._criteria

    # ------------------------------------------------------------------ tiers
    def tiers_lazy(self) -> pl.LazyFrame:
        """One row per firm × tier pack: verdict, scores, pass mark, dimensions, prerequisite."""
        base = self.wide.lazy()
        penum = _pack_enum()
        parts = []
        for pid in self.packs:
            cp = self.compiled[pid]
            pk = cp.pack
            if cp.scored:
                score = [
                    pl.col(cp.col(x)).cast(pl.Float64) for x in ("score", "score_min", "score_max")
                ]
            else:
                score = [pl.lit(None, pl.Float64)] * 3
            parts.append(
                base.select(
                    pl.col("uscc"),
                    pack=pl.lit(pid).cast(penum),
                    tier=pl.lit(pk.tier).cast(TIER),
                    verdict=pl.col(cp.col("verdict")),
                    score=score[0],
                    score_min=score[1],
                    score_max=score[2],
                    pass_mark=pl.lit(pk.pass_mark, pl.Float64),
                    prerequisite_met=pl.col(cp.col("prereq")),
                    assessed=pl.col(cp.col("assessed")),
                )
            )
        if not parts:
            return pl.LazyFrame(schema={"uscc": pl.String, "pack": penum, "verdict": VERDICT})
        return pl.concat(parts, how="diagonal_relaxed")

    @functools.cached_property
    def tiers(self) -> pl.DataFrame:
        return self.tiers_lazy().collect()

    def dimensions_lazy(self) -> pl.LazyFrame:
        """Dimension sub-scores of scored packs: one row per firm × pack × dimension.

        ``score`` is null unless every indicator of the dimension is known; ``min_points`` is
        the dimension's minimum where the standard sets one (创新型: 创新能力 ≥ 20, 成长性 ≥ 15,
        专业化 ≥ 15).
        """
        base = self.wide.lazy()
        penum = _pack_enum()
        parts = []
        for pid in self.packs:
            cp = self.compiled[pid]
            for d in cp.pack.dimensions:
                lo, hi = pl.col(cp.col(f"dim:{d.name}:min")), pl.col(cp.col(f"dim:{d.name}:max"))
                parts.append(
                    base.select(
                        pl.col("uscc"),
                        pack=pl.lit(pid).cast(penum),
                        dimension=pl.lit(d.name),
                        score=pl.when(lo == hi).then(lo),
                        score_min=lo,
                        score_max=hi,
                        max_points=pl.lit(float(d.max_points)),
                        min_points=pl.lit(
                            None if d.min_points is None else float(d.min_points), pl.Float64
                        ),
                    )
                )
        if not parts:
            return pl.LazyFrame(
                schema={
                    "uscc": pl.String,
                    "pack": penum,
                    "dimension": pl.String,
                    "score": pl.Float64,
                    "score_min": pl.Float64,
                    "score_max": pl.Float64,
                    "max_points": pl.Float64,
                    "min_points": pl.Float64,
                }
            )
        return pl.concat(parts, how="vertical")

    @functools.cached_property
    def dimensions(self) -> pl.DataFrame:
        return self.dimensions_lazy().collect()

    # ------------------------------------------------------------------ firms
    FIRM_COLUMNS = (
        "uscc",
        "size_class",
        "four_above_group",
        "meets_four_above",
        "held_tier",
        "held_tech_innovative",
        "eligible_tier",
        "eligible_by_criteria",
        "next_tier",
        "upsize_candidate",
        "hidden_four_above",
        "delist_risk",
        "review_risk",
        "revocation",
    )

    @functools.cached_property
    def firms(self) -> pl.DataFrame:
        """One row per firm: size, 四上, ladder placement and the §8/§9 flags."""
        return self.wide.select(self.FIRM_COLUMNS)

    def write(self, out: str | Path) -> dict[str, Path]:
        """Write ``criteria.parquet`` (streamed), ``tiers.parquet``, ``firms.parquet`` and
        ``dimensions.parquet`` (dimension sub-scores of the scored packs)."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = {n: out / f"{n}.parquet" for n in ("criteria", "tiers", "firms", "dimensions")}
        self.criteria_lazy().sink_parquet(paths["criteria"])
        self.tiers.write_parquet(paths["tiers"])
        self.firms.write_parquet(paths["firms"])
        self.dimensions.write_parquet(paths["dimensions"])
        return paths


@functools.lru_cache(maxsize=256)
def _compiled(
    pid: str, year: int, application: str, name: str
) -> tuple[CompiledPack, frozenset[str]]:
    """Compile a shipped pack once per (year, application): expressions are immutable."""
    pk = load_pack(pid)
    assert isinstance(pk, Pack)
    cp, used = compile_pack(pk, KNOWN_COLUMNS, year=year, application=application, name=name)
    return cp, frozenset(used)


def _evaluate(lf: pl.LazyFrame, packs: dict[str, CompiledPack], el: CompiledPack) -> pl.LazyFrame:
    """Stages 1–3: criterion statuses/points, scores, then verdicts, prerequisites, assessed."""
    temps = {n: e for cp in packs.values() for n, e in cp.temps.items()}
    if temps:
        lf = lf.with_columns(e.alias(n) for n, e in temps.items())
    lf = lf.with_columns([e for cp in packs.values() for e in cp.stage1()])
    lf = lf.with_columns([e.alias(n) for cp in packs.values() for n, e in cp.score_exprs().items()])
    stage3: list[pl.Expr] = []
    for cp in packs.values():
        if cp is el:
            continue
        pk = cp.pack
        elig = [col_name(el.id, e, "s") for e in pk.eligibility if el.applicable(e)]
        v = cp.verdict_expr(elig)
        stage3.append(
            pl.when(v)
            .then(pl.lit("met"))
            .when(v.not_())
            .then(pl.lit("unmet"))
            .otherwise(pl.lit("undetermined"))
            .cast(VERDICT)
            .alias(cp.col("verdict"))
        )
        held = [pl.col(f"held_{t}").fill_null(False) for t in pk.prerequisite]
        stage3.append((pl.any_horizontal(held) if held else pl.lit(True)).alias(cp.col("prereq")))
        skip = [pl.col(f"held_{t}").fill_null(False) for t in pk.skip_if_held]
        stage3.append(
            (pl.any_horizontal(skip).not_() if skip else pl.lit(True)).alias(cp.col("assessed"))
        )
    return lf.with_columns(stage3) if stage3 else lf


def _resolve_packs(packs: Sequence[str] | None, as_of: dt.date, application: str) -> list[str]:
    if packs is None:
        return packs_in_force(as_of, application)
    out = []
    for p in packs:
        pk = load_pack(p)  # raises on an unknown id
        if p in ALWAYS_PACKS:
            continue
        if not isinstance(pk, Pack) or pk.kind != "tier":
            raise PackError(f"“{p}”不是等级规则包", field="packs", value=p)
        if p not in out:
            out.append(p)
    return out


def _review_options(as_of: dt.date) -> dict[str, list[tuple[dt.date, str]]]:
    """tier → [(start, pack)] of review packs applying to an expiry in [as_of, as_of + 1y]."""
    horizon = one_year_after(as_of)
    out: dict[str, list[tuple[dt.date, str]]] = {}
    for e in calendar().entries:
        if e.application != "review":
            continue
        first = pack_for(e.tier, as_of, "review")
        if e.start <= as_of and e.pack != first:
            continue
        if e.start > horizon:
            continue
        start = max(e.start, as_of) if e.pack == first else e.start
        out.setdefault(e.tier, [])
        if (start, e.pack) not in out[e.tier]:
            out[e.tier].append((start, e.pack))
    return out


#: Frames of at most this many rows are evaluated by the numpy backend (:mod:`tiering.small`):
#: on a few rows polars' fixed per-expression cost dominates. ``0`` disables the dispatch.
SMALL_ROWS = 64


@dataclass
class _Plan:
    """What one ``assess`` call evaluates: packs, compiled forms, needed columns, review packs."""

    as_of: dt.date
    application: str
    tier_ids: list[str]
    compiled: dict[str, CompiledPack]
    needed: dict[str, list[str]]
    review_cols: dict[str, list[tuple[dt.date, str]]]


def _plan(as_of: dt.date, packs: Sequence[str] | None, application: str) -> _Plan:
    if application not in ("new", "review"):
        raise PackError(f"申请类型须为 new 或 review，收到“{application}”", field="application")
    tier_ids = _resolve_packs(packs, as_of, application)
    year = as_of.year
    compiled: dict[str, CompiledPack] = {}
    needed: dict[str, list[str]] = {c: ["firms"] for c in _FIRM_COLUMNS}
    for c in ("employees_y1", "revenue_y1", "total_assets_y1"):
        needed[c] = ["sme-size-2011"]
    for c in ("main_revenue_y1", "main_revenue_y2", "revenue_y2"):
        needed.setdefault(c, []).append("four-above")

    def add(pid: str, app: str, name: str = "") -> CompiledPack:
        cp, used = _compiled(pid, year, app, name)
        for c in used:
            needed.setdefault(c, []).append(pid)
        compiled[name or pid] = cp
        return cp

    add("EL", application)
    for pid in tier_ids:
        add(pid, application)
    review = _review_options(as_of)
    review_cols: dict[str, list[tuple[dt.date, str]]] = {}
    for tier, options in review.items():
        for start, pid in options:
            key = pid if (application == "review" and pid in tier_ids) else f"{pid}@review"
            if key not in compiled:
                add(pid, "review", name=key)
            review_cols.setdefault(tier, []).append((start, compiled[key].col("verdict")))
    return _Plan(as_of, application, tier_ids, compiled, needed, review_cols)


_DERIVED = {"industry_section", "industry_division", "sei_field", "size_class"}
#: cast expressions of a successful schema check, by (input schema, needed columns)
_CASTS: dict[tuple, list[pl.Expr]] = {}


def _prepare(frame: pl.DataFrame | pl.LazyFrame, plan: _Plan) -> pl.LazyFrame:
    """Schema check and casts, industry join, SEI flag and size class (shared by both backends)."""
    lf = frame.lazy()
    schema = lf.collect_schema()
    if "uscc" not in schema:
        raise FrameSchemaError("评估数据缺少必需列“uscc”（所有规则包需要）", field="uscc")
    casts = _casts(schema, plan)
    lf = lf.with_columns(casts)
    lf = lf.join(_industry_table().lazy(), on="industry", how="left", maintain_order="left")
    return lf.with_columns(_derived_exprs()).with_columns(_size_fact_exprs())


def _casts(schema: pl.Schema, plan: _Plan) -> list[pl.Expr]:
    """Schema check and cast expressions; building ~100 of them costs ~5 ms: once per schema."""
    needed = {k: v for k, v in plan.needed.items() if k not in _DERIVED}
    key = (tuple(schema.items()), frozenset(needed))
    casts = _CASTS.get(key)
    if casts is None:
        casts, _ = _check_and_cast(schema, needed)  # raises FrameSchemaError
        if len(_CASTS) > 64:
            _CASTS.clear()
        _CASTS[key] = casts
    return casts


@functools.cache
def _derived_exprs() -> list[pl.Expr]:
    sei = (
        pl.when(pl.col("_sei") & pl.col("_sei_partial").not_())
        .then(True)
        .when(pl.col("_sei"))
        .then(pl.col("sei_product"))
        .when(pl.col("_sei").not_())
        .then(False)
    )
    return [
        sei.alias("sei_field"),
        size_class_expr(pl.col("size_sector")).cast(pl.String).alias("size_class"),
    ]


@functools.cache
def _size_fact_exprs() -> list[pl.Expr]:
    # the criteria read size_class as a fact: an undetermined class (unknown / not_applicable)
    # is null there, so EL-2 is unknown rather than unmet; the firms frame keeps the class.
    return [
        pl.col("size_class").alias("_size_class_out"),
        pl.when(pl.col("size_class").is_in(["unknown", "not_applicable"]).not_())
        .then(pl.col("size_class"))
        .alias("size_class"),
    ]


def _firm_exprs(plan: _Plan) -> dict[str, pl.Expr]:
    """Stage 4: size class, 四上 flags and the ladder columns from the verdict columns."""
    return _firm_exprs_cached(
        plan.as_of,
        plan.application,
        tuple(plan.tier_ids),
        tuple((t, tuple(v)) for t, v in plan.review_cols.items()),
    )


@functools.lru_cache(maxsize=64)
def _firm_exprs_cached(
    as_of: dt.date,
    application: str,
    tier_ids: tuple[str, ...],
    review: tuple[tuple[str, tuple[tuple[dt.date, str], ...]], ...],
) -> dict[str, pl.Expr]:
    verdicts: dict[str, str] = {}
    prereqs: dict[str, tuple[str, ...]] = {}
    for pid in tier_ids:
        pk = load_pack(pid)
        assert isinstance(pk, Pack) and pk.tier is not None
        in_force = pack_for(pk.tier, as_of, application)
        if pk.tier not in verdicts or pid == in_force:
            verdicts[pk.tier] = f"{pid}|verdict"
            prereqs[pk.tier] = pk.prerequisite
    fa = four_above_exprs(pl.col("four_above_group"))
    known_industry = pl.col("industry_section").is_not_null()
    no_group = known_industry & pl.col("four_above_group").is_null()
    firm = {k: pl.when(no_group).then(False).otherwise(e) for k, e in fa.items()}
    firm |= ladder_exprs(as_of, verdicts, prereqs, {t: list(v) for t, v in review})
    return {"size_class": pl.col("_size_class_out").cast(SIZE_CLASS), **firm}


def _due_exprs(plan: _Plan) -> list[pl.Expr]:
    horizon = one_year_after(plan.as_of)
    return [
        pl.col(f"held_{t}").fill_null(False)
        & pl.col(f"{t}_expires").is_between(pl.lit(plan.as_of), pl.lit(horizon))
        for t in plan.review_cols
    ]


def assess(
    frame: pl.DataFrame | pl.LazyFrame,
    as_of: dt.date,
    *,
    packs: Sequence[str] | None = None,
    application: Literal["new", "review"] = "new",
) -> Assessment:
    """Evaluate tier packs (default: those in force on ``as_of``) plus EL, size and 四上.

    Raises :class:`FrameSchemaError` naming the column and the pack when a required column is
    missing or a column has the wrong type; optional columns may be absent (null). Bad values
    (division by zero, NaN, unknown codes) make only their own criteria ``unknown``.

    A :class:`polars.DataFrame` of at most :data:`SMALL_ROWS` rows is evaluated by the numpy
    backend (:mod:`tiering.small`; same packs, same results, ~10× faster on a few rows).
    """
    plan = _plan(as_of, packs, application)
    if isinstance(frame, pl.DataFrame) and 0 < frame.height <= SMALL_ROWS:
        from tiering.engine_small import assess_small
        from tiering.small import Unsupported

        _casts(frame.schema, plan)  # the schema check (raises FrameSchemaError)
        try:
            return assess_small(frame, plan)
        except Unsupported:
            pass
    return _assess_polars(_prepare(frame, plan), plan)


def _assess_polars(lf: pl.LazyFrame, plan: _Plan) -> Assessment:
    """The polars backend: one lazy query over the prepared frame."""
    compiled = plan.compiled
    # stages 1–3 for EL and the requested packs over every firm
    el = compiled["EL"]
    main = {k: cp for k, cp in compiled.items() if not k.endswith("@review")}
    extra = {k: cp for k, cp in compiled.items() if k.endswith("@review")}
    wide = _evaluate(lf, main, el).collect()
    # review packs only matter for firms holding a title that is due for review within a year:
    # evaluate them on that subset and join the verdicts back (null elsewhere, never read)
    if extra:
        sub = (
            _evaluate(
                wide.lazy().with_row_index("_row").filter(pl.any_horizontal(_due_exprs(plan))),
                extra,
                el,
            )
            .select("_row", *(cp.col("verdict") for cp in extra.values()))
            .collect()
        )
        # scatter into full-length columns: no copy of the wide frame (a join would double it)
        rows = sub["_row"]
        wide = wide.with_columns(
            pl.repeat(None, wide.height, dtype=VERDICT, eager=True).scatter(rows, sub[c]).alias(c)
            for c in sub.columns[1:]
        )
    # stage 4: firm level
    wide = wide.lazy().with_columns(**_firm_exprs(plan)).collect()
    return Assessment(plan.as_of, plan.application, plan.tier_ids, wide, compiled)
