"""``assess`` on a few rows: the numpy backend (:mod:`tiering.small`) wired to the engine.

Why: the what-if API assesses 1–32 rows per call, where polars' fixed cost per expression
dominates (see :mod:`tiering.small`). Here the input columns are prepared
(:func:`tiering.small_firm.input_columns`), every pack in the plan is evaluated with numpy —
the review packs only on rows holding a title due within a year, and without explanations,
as in the polars backend — the firm stage runs (:func:`tiering.small_firm.firm_columns`), and
the §11 frames (criteria, tiers, firms, dimensions) are built directly in their long form.
The result is a :class:`SmallAssessment`: the same frames as the polars backend
(parity-tested), with the wide frame computed by the polars backend only if someone asks for it
(the diff report and the batch use big frames and never come here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from tiering.compile import STATUS, UNIT
from tiering.engine import Assessment
from tiering.ladder import TIER
from tiering.pack_model import STATUSES, VERDICTS, Pack
from tiering.small import PackResult, evaluate_pack

if TYPE_CHECKING:  # pragma: no cover
    from tiering.engine import _Plan

__all__ = ["SmallAssessment", "assess_small"]

_STATUS_NAMES = np.array(STATUSES, dtype=object)
_VERDICT_NAMES = np.array([*VERDICTS, None], dtype=object)


def _engine() -> Any:
    """:mod:`tiering.engine` (imported lazily: it imports this module inside ``assess``)."""
    import tiering.engine as engine

    return engine


@dataclass
class SmallAssessment(Assessment):
    """An :class:`~tiering.engine.Assessment` whose output frames were built by numpy.

    ``wide`` (the polars backend's wide frame) is computed on first access only; frames set by
    :func:`assess_small` are not carried over by :func:`dataclasses.replace`.
    """

    _source: pl.DataFrame | None = field(default=None, repr=False)
    _frames: dict[str, pl.DataFrame] = field(default_factory=dict, init=False, repr=False)

    @property  # type: ignore[override]
    def wide(self) -> pl.DataFrame:  # type: ignore[override]
        got = self.__dict__.get("_wide_store")
        if got is None:
            engine = _engine()
            assert self._source is not None
            plan = engine._plan(self.as_of, self.packs, self.application)
            got = engine._assess_polars(engine._prepare(self._source, plan), plan).wide
            self.__dict__["_wide_store"] = got
        return got

    @wide.setter
    def wide(self, value: pl.DataFrame | None) -> None:
        self.__dict__["_wide_store"] = value

    @property
    def criteria(self) -> pl.DataFrame:  # type: ignore[override]
        got = self._frames.get("criteria")
        return got if got is not None else Assessment.criteria.fget(self)  # type: ignore[attr-defined]


def _verdict_codes(v: np.ndarray) -> np.ndarray:
    return np.where(v == 1, 0, np.where(v == 0, 1, 2)).astype(np.int64)


def _held_any(cols: dict[str, np.ndarray], n: int, tiers: tuple[str, ...]) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    for t in tiers:
        out |= cols[f"held_{t}"] == 1
    return out


def _due(plan: _Plan, cols: dict[str, np.ndarray]) -> np.ndarray:
    """Rows holding a title due for review within a year (as ``engine._due_exprs``)."""
    from tiering.ladder import one_year_after

    lo, hi = np.datetime64(plan.as_of, "D"), np.datetime64(one_year_after(plan.as_of), "D")
    out = np.zeros(len(cols["uscc"]), dtype=bool)
    for t in plan.review_cols:
        exp = cols[f"{t}_expires"]
        out |= (cols[f"held_{t}"] == 1) & (exp >= lo) & (exp <= hi)
    return out


def _obj(name: str, a: np.ndarray, dtype: Any) -> pl.Series:
    """An object array (str / None) as a Series of ``dtype`` (String or an Enum)."""
    return pl.Series(name, a.tolist(), dtype=dtype)


def _nulls_f(a: np.ndarray) -> pl.Series:
    return pl.Series(a, dtype=pl.Float64, nan_to_null=True)


_BOOL_FIRM = (
    "meets_four_above",
    "hidden_four_above",
    "upsize_candidate",
    "delist_risk",
    "held_tech_innovative",
    "review_risk",
    "revocation",
)


def _bools(name: str, a: np.ndarray) -> pl.Series:
    return pl.Series(name, [None if x != x else bool(x) for x in a.tolist()], dtype=pl.Boolean)


def assess_small(source: pl.DataFrame, plan: _Plan) -> Any:
    """The numpy backend over an input frame of a few rows (see module docstring)."""
    from tiering.calendar import pack_for
    from tiering.size_class import SIZE_CLASS
    from tiering.small_firm import firm_columns, input_columns

    engine = _engine()
    n = source.height
    year = plan.as_of.year
    cols = input_columns(source, set(plan.needed))
    results: dict[str, PackResult] = {}
    verdicts: dict[str, np.ndarray] = {}
    for key, cp in plan.compiled.items():
        if not key.endswith("@review"):
            assert isinstance(cp.pack, Pack)
            results[key] = evaluate_pack(cp.pack, cols, n, year, cp.application)
    el = results["EL"]
    for key, res in results.items():
        if key != "EL":
            elig = [el.met(e) for e in res.pack.eligibility if e in el.criteria]
            verdicts[plan.compiled[key].col("verdict")] = _verdict_codes(res.verdict(elig))
    # review packs only for the rows holding a title due within a year (as the polars backend);
    # their verdicts are null elsewhere and only feed review_risk
    review = {k: cp for k, cp in plan.compiled.items() if k.endswith("@review")}
    if review:
        rows = np.flatnonzero(_due(plan, cols))
        sub = {c: v[rows] for c, v in cols.items()} if len(rows) else {}
        sub_el = (
            evaluate_pack(el.pack, sub, len(rows), year, plan.application, explain=False)
            if len(rows)
            else None
        )
        for cp in review.values():
            codes = np.full(n, 3, dtype=np.int64)
            if sub_el is not None:
                assert isinstance(cp.pack, Pack)
                res = evaluate_pack(cp.pack, sub, len(rows), year, cp.application, explain=False)
                elig = [sub_el.met(e) for e in cp.pack.eligibility if e in sub_el.criteria]
                codes[rows] = _verdict_codes(res.verdict(elig))
            verdicts[cp.col("verdict")] = codes
    names = {c: _VERDICT_NAMES[v] for c, v in verdicts.items()}
    by_tier: dict[str, np.ndarray] = {}
    prereqs: dict[str, tuple[str, ...]] = {}
    for pid in plan.tier_ids:
        pk = plan.compiled[pid].pack
        assert pk.tier is not None
        if pk.tier not in by_tier or pid == pack_for(pk.tier, plan.as_of, plan.application):
            by_tier[pk.tier] = names[f"{pid}|verdict"]
            prereqs[pk.tier] = pk.prerequisite
    fc = firm_columns(cols, plan.as_of, by_tier, prereqs, plan.review_cols, names)
    uscc = cols["uscc"]
    assert engine.Assessment.FIRM_COLUMNS[:3] == ("uscc", "size_class", "four_above_group")
    firms = pl.DataFrame(
        [
            _obj("uscc", uscc, pl.String),
            _obj("size_class", cols["_size_class_out"], SIZE_CLASS),
            _obj("four_above_group", cols["four_above_group"], pl.String),
            *(
                _bools(c, fc[c]) if c in _BOOL_FIRM else _obj(c, fc[c], TIER)
                for c in engine.Assessment.FIRM_COLUMNS[3:]
            ),
        ]
    )
    a = SmallAssessment(plan.as_of, plan.application, plan.tier_ids, None, plan.compiled)  # type: ignore[arg-type]
    a._source = source
    a._frames["criteria"] = _criteria(uscc, ["EL", *plan.tier_ids], results, plan)
    a.__dict__["tiers"] = _tiers(uscc, plan, results, verdicts, cols)
    a.__dict__["dimensions"] = _dimensions(uscc, plan, results)
    a.__dict__["firms"] = firms
    return a


def _criteria(
    uscc: np.ndarray, pids: list[str], results: dict[str, PackResult], plan: _Plan
) -> pl.DataFrame:
    engine = _engine()
    n = len(uscc)
    packs, cids, status, value, thr, pts, mx, gap, unit, text = ([] for _ in range(10))
    for pid in pids:
        for cid, cr in results[pid].criteria.items():
            packs.append(pid)
            cids.append(cid)
            status.append(cr.status)
            value.append(cr.value)
            thr.append(cr.threshold)
            if cr.lo is not None and cr.hi is not None:
                pts.append(np.where(cr.lo == cr.hi, cr.lo, np.nan))
            else:
                pts.append(np.full(n, np.nan))
            m = cr.criterion.max_points
            mx.append(np.full(n, np.nan if m is None else float(m)))
            gap.append(cr.gap)
            unit.append(cr.unit)
            text.append(cr.gap_text)
    k = len(packs)
    return pl.DataFrame(
        [
            _obj("uscc", np.tile(uscc, k), pl.String),
            _obj("pack", np.repeat(np.array(packs, object), n), engine.pack_enum()),
            _obj("criterion_id", np.repeat(np.array(cids, object), n), engine.criterion_enum()),
            _obj("status", _STATUS_NAMES[np.concatenate(status)], STATUS),
            _nulls_f(np.concatenate(value)).alias("value"),
            _nulls_f(np.concatenate(thr)).alias("threshold"),
            _nulls_f(np.concatenate(pts)).alias("points"),
            _nulls_f(np.concatenate(mx)).alias("max_points"),
            _nulls_f(np.concatenate(gap)).alias("gap"),
            _obj("unit", np.concatenate(unit), UNIT),
            _obj("gap_text", np.concatenate(text), pl.String),
        ]
    )


def _tiers(
    uscc: np.ndarray,
    plan: _Plan,
    results: dict[str, PackResult],
    verdicts: dict[str, np.ndarray],
    cols: dict[str, np.ndarray],
) -> pl.DataFrame:
    engine = _engine()
    n = len(uscc)
    if not plan.tier_ids:
        return pl.DataFrame(
            schema={"uscc": pl.String, "pack": engine.pack_enum(), "verdict": engine.VERDICT}
        )
    pids, tiers, verdict, score, smin, smax, mark, prereq, assessed = ([] for _ in range(9))
    nan = np.full(n, np.nan)
    for pid in plan.tier_ids:
        res = results[pid]
        pk = res.pack
        pids.append(pid)
        tiers.append(pk.tier)
        verdict.append(verdicts[f"{pid}|verdict"])
        if res.score_min is not None and res.score_max is not None:
            lo, hi = res.score_min, res.score_max
            score.append(np.where(lo == hi, lo, np.nan))
            smin.append(lo)
            smax.append(hi)
        else:
            score += [nan]
            smin += [nan]
            smax += [nan]
        mark.append(np.full(n, np.nan if pk.pass_mark is None else float(pk.pass_mark)))
        prereq.append(_held_any(cols, n, pk.prerequisite) if pk.prerequisite else np.ones(n, bool))
        assessed.append(~_held_any(cols, n, pk.skip_if_held))
    k = len(pids)
    return pl.DataFrame(
        [
            _obj("uscc", np.tile(uscc, k), pl.String),
            _obj("pack", np.repeat(np.array(pids, object), n), engine.pack_enum()),
            _obj("tier", np.repeat(np.array(tiers, object), n), TIER),
            _obj("verdict", _VERDICT_NAMES[np.concatenate(verdict)], engine.VERDICT),
            _nulls_f(np.concatenate(score)).alias("score"),
            _nulls_f(np.concatenate(smin)).alias("score_min"),
            _nulls_f(np.concatenate(smax)).alias("score_max"),
            _nulls_f(np.concatenate(mark)).alias("pass_mark"),
            pl.Series("prerequisite_met", np.concatenate(prereq), dtype=pl.Boolean),
            pl.Series("assessed", np.concatenate(assessed), dtype=pl.Boolean),
        ]
    )


def _dimensions(uscc: np.ndarray, plan: _Plan, results: dict[str, PackResult]) -> pl.DataFrame:
    engine = _engine()
    n = len(uscc)
    rows: dict[str, list] = {
        k: [] for k in ("pack", "dimension", "score", "lo", "hi", "max", "min")
    }
    for pid in plan.tier_ids:
        res = results[pid]
        for d in res.pack.dimensions:
            lo, hi = res.dims[d.name]
            rows["pack"].append(pid)
            rows["dimension"].append(d.name)
            rows["score"].append(np.where(lo == hi, lo, np.nan))
            rows["lo"].append(lo)
            rows["hi"].append(hi)
            rows["max"].append(np.full(n, float(d.max_points)))
            rows["min"].append(np.full(n, np.nan if d.min_points is None else float(d.min_points)))
    k = len(rows["pack"])
    if not k:
        return pl.DataFrame(
            schema={
                "uscc": pl.String,
                "pack": engine.pack_enum(),
                "dimension": pl.String,
                **dict.fromkeys(
                    ("score", "score_min", "score_max", "max_points", "min_points"), pl.Float64
                ),
            }
        )
    return pl.DataFrame(
        [
            _obj("uscc", np.tile(uscc, k), pl.String),
            _obj("pack", np.repeat(np.array(rows["pack"], object), n), engine.pack_enum()),
            _obj("dimension", np.repeat(np.array(rows["dimension"], object), n), pl.String),
            _nulls_f(np.concatenate(rows["score"])).alias("score"),
            _nulls_f(np.concatenate(rows["lo"])).alias("score_min"),
            _nulls_f(np.concatenate(rows["hi"])).alias("score_max"),
            _nulls_f(np.concatenate(rows["max"])).alias("max_points"),
            _nulls_f(np.concatenate(rows["min"])).alias("min_points"),
        ]
    )
