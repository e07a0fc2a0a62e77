"""Small-frame backend of the rule compiler: the same packs evaluated with numpy over columns.

Why: the what-if API assesses 1–32 rows per call. Polars has a fixed cost of tens of µs per
expression and the packs compile to thousands of them, so a 1-row ``assess`` costs ~150 ms no
matter how small the frame. This module evaluates the *same* pack models (the YAML stays the
single source) with a second evaluator of the formula language and of every criterion kind; on
a few rows each numpy operation costs ~1 µs. :mod:`tiering.engine` dispatches here for frames
of at most :data:`tiering.engine.SMALL_ROWS` rows; the parity tests compare both backends.

Value representation (one array of length n per quantity):

- numbers — ``float64`` with NaN for null (the polars path turns NaN/inf into null at every
  source: inputs, divisions, square roots, so NaN and null mean the same here);
- booleans — ``float64`` 1.0 / 0.0 / NaN, combined with Kleene three-valued logic;
- codes — ``object`` arrays of ``str`` / ``None``.

Anything this evaluator does not support raises :class:`Unsupported`; the engine then falls
back to the polars backend, so an unsupported construct can never change a result.

Modules: :mod:`tiering.small_formula` (formulas, Kleene logic), :mod:`tiering.small_explain`
(gaps and gap texts), this module (conditions, criteria, scores, verdicts),
:mod:`tiering.small_firm` (input preparation, size class, 四上, ladder) and
:mod:`tiering.engine_small` (wiring and the §11 output frames).

>>> import numpy as np
>>> _and(np.array([0.0, 1.0, np.nan]), np.array([np.nan, np.nan, 1.0]))
array([ 0., nan, nan])
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tiering.compile import REL_TOL, tol
from tiering.pack_model import (
    STATUSES,
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
from tiering.small_explain import (
    Leaf,
    _band_gap,
    _case_gap,
    _const_text,
    _first_failing,
    _is_false,
    _join,
    _mask_text,
    _texts,
)
from tiering.small_formula import NAN, Env, Unsupported, _and, _is_str, _not, _or, full

__all__ = [
    "NAN",
    "CriterionResult",
    "Env",
    "PackResult",
    "Unsupported",
    "evaluate_pack",
]

MET, UNMET, UNKNOWN, MANUAL = (STATUSES.index(s) for s in STATUSES)
#: status code → Kleene value (met 1, unmet 0, unknown / manual review null): one ``take``
#: instead of two ``where`` and two comparisons, ~50 times per what-if
_KLEENE = np.array([{"met": 1.0, "unmet": 0.0}.get(s, NAN) for s in STATUSES])


#: a gap-text column, built only when called: most texts are never read (the what-if keeps the
#: rules' wording for the next tier's gaps only), and formatting them is ~30 % of a pack's cost
Text = Callable[[], np.ndarray]


@dataclass
class CondResult:
    cond: np.ndarray
    leaves: list[Leaf]
    text: Text


def _leaf_text(unmet: np.ndarray, gap: np.ndarray, t: Cmp) -> Text:
    return lambda: _mask_text(unmet, _texts(gap, t.name, t.unit, t.op))


def _flag_text(n: int, unmet: np.ndarray, msg: str | None) -> Text:
    return lambda: _const_text(n, unmet, msg)


def _joined_text(cond: np.ndarray, parts: list[Text], sep: str) -> Text:
    def text() -> np.ndarray:
        joined = _join([p() for p in parts], sep)
        return _mask_text(_is_false(cond) & (joined != ""), joined)

    return text


def _cmp(v: np.ndarray, op: str, t: np.ndarray | float) -> np.ndarray:
    e = tol(t) if isinstance(t, float) else np.maximum(1.0, np.abs(t)) * REL_TOL
    if op == ">=":
        r = v >= t - e
    elif op == ">":
        r = v > t + e
    elif op == "<=":
        r = v <= t + e
    else:
        r = v < t - e
    # null where either side is null: x - x is 0 for a number and NaN for a null (values are
    # finite or NaN here: the sources turn inf into null), and NaN comparisons are just False
    out = r + (v - v)
    return out if isinstance(t, float) else out + (t - t)


def eval_test(t: Test, env: Env) -> CondResult:
    """A condition tree with its leaves and shortfall text (as :func:`compile.compile_test`)."""
    n = env.n
    if isinstance(t, Cmp):
        v = env.formula(t.value)
        th = env.formula(t.threshold)
        if _is_str(v) or _is_str(th):
            raise Unsupported("cmp on codes")
        thr = float(t.threshold) if isinstance(t.threshold, int | float) else th
        cond = _cmp(v, t.op, thr)
        if not env.explain:
            return CondResult(cond, [], env.no_text)
        short = (th - v) if t.op in (">=", ">") else (v - th)
        unmet = _is_false(cond)
        gap = np.where(unmet, np.maximum(short, 0.0), NAN)
        return CondResult(cond, [Leaf(v, th, cond, gap, t.unit)], _leaf_text(unmet, gap, t))
    if isinstance(t, FlagTest):
        e = env.formula(t.flag)
        if _is_str(e):
            raise Unsupported("flag on codes")
        cond = e if t.expect else _not(e)
        msg = (f"需具备{t.name}" if t.expect else f"不得{t.name}") if t.name else None
        if not env.explain:
            return CondResult(cond, [], env.no_text)
        return CondResult(cond, [], _flag_text(n, _is_false(cond), msg))
    if isinstance(t, IsIn):
        c = env.formula(t.isin)
        if not _is_str(c):
            raise Unsupported("isin on numbers")
        allowed = set(t.values)
        cond = np.array([NAN if x is None else float(x in allowed) for x in c])
        msg = f"需具备{t.name}" if t.name else None
        if not env.explain:
            return CondResult(cond, [], env.no_text)
        return CondResult(cond, [], _flag_text(n, _is_false(cond), msg))
    if isinstance(t, NotOf):
        inner = eval_test(t.not_, env)
        return CondResult(_not(inner.cond), [], env.no_text)
    subs = [eval_test(s, env) for s in (t.all if isinstance(t, AllOf) else t.any)]
    cond = subs[0].cond
    for s in subs[1:]:
        cond = _and(cond, s.cond) if isinstance(t, AllOf) else _or(cond, s.cond)
    if not env.explain:
        return CondResult(cond, [], env.no_text)
    leaves = [leaf for s in subs for leaf in s.leaves]
    sep = "；" if isinstance(t, AllOf) else "，或"
    return CondResult(cond, leaves, _joined_text(cond, [s.text for s in subs], sep))


# --------------------------------------------------------------------------- criteria
@dataclass
class CriterionResult:
    """One criterion over n rows: status codes (index into STATUSES), points, explanation.

    ``gap_text`` is built on call (:data:`Text`).
    """

    criterion: Criterion
    status: np.ndarray
    lo: np.ndarray | None
    hi: np.ndarray | None
    value: np.ndarray
    threshold: np.ndarray
    gap: np.ndarray
    unit: np.ndarray
    gap_text: Text


def _status_from(cond: np.ndarray, null_status: str) -> np.ndarray:
    out = full(len(cond), STATUSES.index(null_status), np.uint8)
    out[cond == 1] = MET
    out[cond == 0] = UNMET
    return out


def _scored(c: Criterion, env: Env) -> CriterionResult:
    n = env.n
    value = threshold = gap = env.nans  # shared read-only constants: replaced, never written
    unit, text = env.nones, env.no_text
    if c.bands is not None or c.cases is not None:
        steps: list[tuple[np.ndarray, float, CondResult | None]] = []
        if c.bands is not None:
            b = c.bands
            op = ">=" if b.direction == "higher" else "<="
            vals = [env.formula(base.value) for base in b.bases]
            if any(_is_str(v) for v in vals):
                raise Unsupported("bands on codes")
            for i, p in enumerate(b.points):
                conds = [
                    _cmp(v, op, float(base.edges[i])) for v, base in zip(vals, b.bases, strict=True)
                ]
                cond = conds[0]
                for more in conds[1:]:
                    cond = _or(cond, more)
                steps.append((cond, float(p), None))
            worst = float(b.else_points)
            if env.explain:
                value, threshold, gap, unit, text = _band_gap(vals, c, n)
        else:
            assert c.cases is not None
            for s in c.cases.steps:
                ct = eval_test(s.when, env)
                steps.append((ct.cond, float(s.points), ct))
            worst = float(c.cases.else_points)
        lo = hi = env.full(worst)
        for cond, p, _ in reversed(steps):
            lo = np.where(cond == 1, p, lo)
            hi = np.where(cond != 0, p, hi)
        if c.cases is not None and env.explain:
            value, threshold, gap, unit, text = _case_gap(lo, steps, n)
    elif c.categories is not None:
        cat = c.categories
        code = env.formula(cat.column)
        if not _is_str(code):
            raise Unsupported("categories on numbers")
        pts = {k: float(v) for k, v in cat.points.items()}
        got = np.array([pts.get(x, NAN) if x is not None else NAN for x in code])
        lo = np.where(np.isnan(got), float(c.worst_points()), got)
        hi = np.where(np.isnan(got), float(c.best_points()), got)
    elif c.count is not None:
        conds = [eval_test(t, env).cond for t in c.count.items]
        n_lo = sum((x == 1).astype(float) for x in conds)
        n_hi = sum((x != 0).astype(float) for x in conds)
        cap = float(c.count.cap)
        lo = np.minimum(n_lo * float(c.count.each), cap)
        hi = np.minimum(n_hi * float(c.count.each), cap)
    else:
        pf = c.points_from
        assert pf is not None
        v = np.clip(env.formula(pf.value), float(pf.lo), float(pf.hi))
        lo = np.where(np.isnan(v), float(pf.lo), v)
        hi = np.where(np.isnan(v), float(pf.hi), v)
        value = v
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    status = np.where(lo > 0, MET, UNMET).astype(np.uint8)
    status[lo != hi] = STATUSES.index(c.null_status)
    return CriterionResult(c, status, lo, hi, value, threshold, gap, unit, text)


def eval_criterion(c: Criterion, env: Env, application: str) -> CriterionResult:
    """One criterion (as :func:`tiering.compile.compile_criterion`)."""
    if c.scored:
        return _scored(c, env)
    n = env.n
    nulls, no_unit = env.nans, env.nones
    if c.manual is not None:
        if c.manual.flag is None:
            status = full(n, MANUAL, np.uint8)
        else:
            status = _status_from(env.formula(c.manual.flag), "manual_review")
        return CriterionResult(c, status, None, None, nulls, nulls, nulls, no_unit, env.no_text)
    test = c.review_test if application == "review" and c.review_test is not None else c.test
    assert test is not None
    ct = eval_test(test, env)
    if not env.explain:
        return CriterionResult(
            c,
            _status_from(ct.cond, c.null_status),
            None,
            None,
            nulls,
            nulls,
            nulls,
            no_unit,
            env.no_text,
        )
    value, threshold, gap, unit = _first_failing(ct.leaves, n)
    status = _status_from(ct.cond, c.null_status)
    return CriterionResult(c, status, None, None, value, threshold, gap, unit, ct.text)


# --------------------------------------------------------------------------- packs
@dataclass
class PackResult:
    """A pack over n rows: criteria, scores, dimension bounds and the verdict tree value."""

    pack: Pack
    criteria: dict[str, CriterionResult]
    score_min: np.ndarray | None
    score_max: np.ndarray | None
    dims: dict[str, tuple[np.ndarray, np.ndarray]]

    def met(self, cid: str) -> np.ndarray:
        """met → 1, unmet → 0, unknown / manual_review → NaN (a criterion not applied → 1)."""
        cr = self.criteria.get(cid)
        if cr is None:
            return np.ones(len(next(iter(self.criteria.values())).status))
        return _KLEENE.take(cr.status)

    def verdict(self, eligibility: list[np.ndarray]) -> np.ndarray:
        assert self.pack.verdict is not None
        tree = self._node(self.pack.verdict)
        for e in eligibility:
            tree = _and(e, tree)
        return tree

    def _node(self, n: VerdictNode) -> np.ndarray:
        if n.all is not None or n.all_met is not None:
            parts = (
                [self._node(s) for s in n.all] if n.all else [self.met(i) for i in n.all_met or ()]
            )
            return functools.reduce(_and, parts)
        if n.any is not None or n.any_met is not None:
            parts = (
                [self._node(s) for s in n.any] if n.any else [self.met(i) for i in n.any_met or ()]
            )
            return functools.reduce(_or, parts)
        if n.met is not None:
            return self.met(n.met)
        if n.score_at_least is not None:
            assert self.score_min is not None and self.score_max is not None
            return _bound_at_least(self.score_min, self.score_max, n.score_at_least)
        if n.dimensions_ok is not None:
            parts = [
                _bound_at_least(*self.dims[d.name], d.min_points)
                for d in self.pack.dimensions
                if d.min_points is not None
            ]
            if not parts:
                return np.ones(len(next(iter(self.criteria.values())).status))
            return functools.reduce(_and, parts)
        pa = n.points_above
        assert pa is not None
        cr = self.criteria[pa.criterion]
        assert cr.lo is not None and cr.hi is not None
        v = float(pa.value)
        return np.where(cr.lo > v, 1.0, np.where(cr.hi <= v, 0.0, NAN))


def _bound_at_least(lo: np.ndarray, hi: np.ndarray, mark: float) -> np.ndarray:
    e = tol(float(mark))
    with np.errstate(invalid="ignore"):
        return np.where(lo >= mark - e, 1.0, np.where(hi < mark - e, 0.0, NAN))


def _sum(parts: list[np.ndarray], n: int) -> np.ndarray:
    if not parts:
        return full(n, NAN)
    out = parts[0].copy()
    for p in parts[1:]:
        out = out + p
    return out


def evaluate_pack(
    pack: Pack,
    columns: dict[str, np.ndarray],
    n: int,
    year: int,
    application: str,
    *,
    explain: bool = True,
) -> PackResult:
    """Every criterion of ``pack`` that applies to ``application``, plus scores.

    ``explain=False`` skips values, gaps and texts (statuses, points and verdicts unchanged).
    """
    env = Env(columns, n, pack, year, explain)
    crit = {
        c.id: eval_criterion(c, env, application)
        for c in pack.criteria
        if application in c.application
    }
    scored = [cr for cr in crit.values() if cr.lo is not None]
    smin = smax = None
    dims: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if scored:
        smin = _sum([cr.lo for cr in scored], n)  # type: ignore[misc]
        smax = _sum([cr.hi for cr in scored], n)  # type: ignore[misc]
        for d in pack.dimensions:
            in_d = [cr for cr in scored if cr.criterion.dimension == d.name]
            dims[d.name] = (_sum([cr.lo for cr in in_d], n), _sum([cr.hi for cr in in_d], n))  # type: ignore[misc]
    return PackResult(pack, crit, smin, smax, dims)
