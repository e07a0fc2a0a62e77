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

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import polars as pl

from tiering.compile import STATUS, UNIT
from tiering.engine import Assessment
from tiering.ladder import TIER
from tiering.pack_model import STATUSES, VERDICTS, Pack
from tiering.small import PackResult, evaluate_pack
from tiering.small_formula import full

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
    """An :class:`~tiering.engine.Assessment` whose outputs were computed by numpy.

    The §11 outputs are kept as Python column lists (:meth:`table`): the what-if reads them
    directly (``tiering.batch.scores_small.small_records``), because building polars frames only
    to turn them back into Python objects cost more than the rules. ``criteria``, ``tiers``,
    ``firms`` and ``dimensions`` are built from those lists on first access, with the polars
    backend's dtypes; ``wide`` (the polars backend's wide frame) is computed on first access only.
    Tables set by :func:`assess_small` are not carried over by :func:`dataclasses.replace`.
    """

    _source: pl.DataFrame | None = field(default=None, repr=False)
    _tables: dict[str, _Table] = field(default_factory=dict, init=False, repr=False)
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

    def table(self, name: str) -> dict[str, list[Any]]:
        """``criteria`` / ``tiers`` / ``firms`` / ``dimensions`` as column lists (as ``to_list``)."""
        return self._tables[name].columns

    def _frame(self, name: str) -> pl.DataFrame:
        got = self._frames.get(name)
        if got is None:
            table = self._tables.get(name)
            if table is not None:
                got = table.frame()
            elif name == "firms":  # a copy made by dataclasses.replace: views of ``wide``
                got = self.wide.select(self.FIRM_COLUMNS)
            else:
                got = getattr(self, f"{name}_lazy")().collect()
            self._frames[name] = got
        return got

    criteria = property(lambda self: self._frame("criteria"))  # type: ignore[assignment]
    tiers = property(lambda self: self._frame("tiers"))  # type: ignore[assignment]
    firms = property(lambda self: self._frame("firms"))  # type: ignore[assignment]
    dimensions = property(lambda self: self._frame("dimensions"))  # type: ignore[assignment]


@dataclass(frozen=True)
class _Table:
    """Column lists with their polars dtypes (an empty table may carry only its schema)."""

    columns: dict[str, list[Any]]
    schema: dict[str, Any]

    def frame(self) -> pl.DataFrame:
        if not self.columns:
            return pl.DataFrame(schema=self.schema)
        return pl.DataFrame(
            [
                pl.Series(k, v if isinstance(v, list) else list(v), dtype=self.schema[k])
                for k, v in self.columns.items()
            ]
        )


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


def _floats(a: np.ndarray) -> list[float | None]:
    """A float array as ``Series(nan_to_null=True).to_list()`` gives it: NaN → None."""
    return [None if x != x else x for x in a.tolist()]


def _bools(a: np.ndarray) -> list[bool | None]:
    """A 1.0 / 0.0 / NaN array as a nullable Boolean column's ``to_list()``."""
    return [None if x != x else bool(x) for x in a.tolist()]


_BOOL_FIRM = (
    "meets_four_above",
    "hidden_four_above",
    "upsize_candidate",
    "delist_risk",
    "held_tech_innovative",
    "review_risk",
    "revocation",
)


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
            codes = full(n, 3, np.int64)
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
    firms: dict[str, list[Any]] = {
        "uscc": uscc.tolist(),
        "size_class": cols["_size_class_out"].tolist(),
        "four_above_group": cols["four_above_group"].tolist(),
    }
    firm_schema: dict[str, Any] = {
        "uscc": pl.String,
        "size_class": SIZE_CLASS,
        "four_above_group": pl.String,
    }
    for c in engine.Assessment.FIRM_COLUMNS[3:]:
        firms[c] = _bools(fc[c]) if c in _BOOL_FIRM else fc[c].tolist()
        firm_schema[c] = pl.Boolean if c in _BOOL_FIRM else TIER
    a = SmallAssessment(plan.as_of, plan.application, plan.tier_ids, None, plan.compiled)  # type: ignore[arg-type]
    a._source = source
    a._tables["criteria"] = _criteria(uscc, ["EL", *plan.tier_ids], results)
    a._tables["tiers"] = _tiers(uscc, plan, results, verdicts, cols)
    a._tables["dimensions"] = _dimensions(uscc, plan, results)
    a._tables["firms"] = _Table(firms, firm_schema)
    return a


class _LazyTexts(Sequence[str | None]):
    """The criteria table's ``gap_text`` column, one criterion's block of n rows built on access.

    Why: formatting every shortfall text is ~30 % of the rules' cost on a what-if, and the
    what-if reads the rules' wording only for the next tier's gaps (other criteria are worded from
    gap and unit by ``criteria_index.describe``). Reading an item builds that criterion's block;
    iterating (a frame, ``list()``) builds them all — the values are the same either way.
    """

    def __init__(self, blocks: list[Callable[[], np.ndarray]], n: int) -> None:
        self._blocks, self._n = blocks, n
        self._built: dict[int, list[str | None]] = {}

    def _block(self, b: int) -> list[str | None]:
        got = self._built.get(b)
        if got is None:
            got = self._built[b] = self._blocks[b]().tolist()
        return got

    def __len__(self) -> int:
        return len(self._blocks) * self._n

    @overload
    def __getitem__(self, i: int) -> str | None: ...
    @overload
    def __getitem__(self, i: slice) -> list[str | None]: ...
    def __getitem__(self, i: int | slice) -> str | list[str | None] | None:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._block(i // self._n)[i % self._n]

    def __iter__(self) -> Iterator[str | None]:
        for b in range(len(self._blocks)):
            yield from self._block(b)


def _repeat(values: list[Any], n: int) -> list[Any]:
    """Each value n times (``np.repeat`` as a list)."""
    return [v for v in values for _ in range(n)]


def _criteria(uscc: np.ndarray, pids: list[str], results: dict[str, PackResult]) -> _Table:
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
                pts += _floats(np.where(cr.lo == cr.hi, cr.lo, np.nan))
            else:
                pts += [None] * n
            m = cr.criterion.max_points
            mx += [None if m is None else float(m)] * n
            gap.append(cr.gap)
            unit.append(cr.unit)
            text.append(cr.gap_text)  # built on call: see _LazyTexts
    columns = {
        "uscc": uscc.tolist() * len(packs),
        "pack": _repeat(packs, n),
        "criterion_id": _repeat(cids, n),
        "status": _STATUS_NAMES[np.concatenate(status)].tolist(),
        "value": _floats(np.concatenate(value)),
        "threshold": _floats(np.concatenate(thr)),
        "points": pts,
        "max_points": mx,
        "gap": _floats(np.concatenate(gap)),
        "unit": np.concatenate(unit).tolist(),
        "gap_text": _LazyTexts(text, n),
    }
    schema = {
        "uscc": pl.String,
        "pack": engine.pack_enum(),
        "criterion_id": engine.criterion_enum(),
        "status": STATUS,
        **dict.fromkeys(("value", "threshold", "points", "max_points", "gap"), pl.Float64),
        "unit": UNIT,
        "gap_text": pl.String,
    }
    return _Table(columns, schema)


def _tiers(
    uscc: np.ndarray,
    plan: _Plan,
    results: dict[str, PackResult],
    verdicts: dict[str, np.ndarray],
    cols: dict[str, np.ndarray],
) -> _Table:
    engine = _engine()
    n = len(uscc)
    if not plan.tier_ids:
        return _Table(
            {}, {"uscc": pl.String, "pack": engine.pack_enum(), "verdict": engine.VERDICT}
        )
    pids, tiers, verdict, score, smin, smax, mark, prereq, assessed = ([] for _ in range(9))
    nan = full(n, np.nan)
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
        mark.append(full(n, np.nan if pk.pass_mark is None else float(pk.pass_mark)))
        prereq.append(_held_any(cols, n, pk.prerequisite) if pk.prerequisite else np.ones(n, bool))
        assessed.append(~_held_any(cols, n, pk.skip_if_held))
    columns = {
        "uscc": uscc.tolist() * len(pids),
        "pack": _repeat(pids, n),
        "tier": _repeat(tiers, n),
        "verdict": _VERDICT_NAMES[np.concatenate(verdict)].tolist(),
        "score": _floats(np.concatenate(score)),
        "score_min": _floats(np.concatenate(smin)),
        "score_max": _floats(np.concatenate(smax)),
        "pass_mark": _floats(np.concatenate(mark)),
        "prerequisite_met": np.concatenate(prereq).tolist(),
        "assessed": np.concatenate(assessed).tolist(),
    }
    schema = {
        "uscc": pl.String,
        "pack": engine.pack_enum(),
        "tier": TIER,
        "verdict": engine.VERDICT,
        **dict.fromkeys(("score", "score_min", "score_max", "pass_mark"), pl.Float64),
        "prerequisite_met": pl.Boolean,
        "assessed": pl.Boolean,
    }
    return _Table(columns, schema)


def _dimensions(uscc: np.ndarray, plan: _Plan, results: dict[str, PackResult]) -> _Table:
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
            rows["max"].append(full(n, float(d.max_points)))
            rows["min"].append(full(n, np.nan if d.min_points is None else float(d.min_points)))
    schema = {
        "uscc": pl.String,
        "pack": engine.pack_enum(),
        "dimension": pl.String,
        **dict.fromkeys(
            ("score", "score_min", "score_max", "max_points", "min_points"), pl.Float64
        ),
    }
    k = len(rows["pack"])
    if not k:
        return _Table({}, schema)
    columns = {
        "uscc": uscc.tolist() * k,
        "pack": _repeat(rows["pack"], n),
        "dimension": _repeat(rows["dimension"], n),
        "score": _floats(np.concatenate(rows["score"])),
        "score_min": _floats(np.concatenate(rows["lo"])),
        "score_max": _floats(np.concatenate(rows["hi"])),
        "max_points": _floats(np.concatenate(rows["max"])),
        "min_points": _floats(np.concatenate(rows["min"])),
    }
    return _Table(columns, schema)
