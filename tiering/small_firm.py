"""Small-frame backend, frame side: input preparation and the firm-level stage with numpy.

Why: on a few rows the polars preparation (casts, industry join, size class) costs ~5 ms and the
firm stage (四上 flags, ladder) ~8 ms, more than every criterion together once those run in
numpy (:mod:`tiering.small`). These are line-for-line mirrors of :func:`tiering.engine._prepare`,
:func:`tiering.size_class.size_class_expr`, :func:`tiering.four_above.four_above_exprs` and
:func:`tiering.ladder.ladder_exprs`, reading the same pack models and code tables; the parity
tests compare them with the polars forms. Values use the representation of
:mod:`tiering.small` (float 1/0/NaN booleans, NaN for null numbers, object arrays of codes);
dates are ``datetime64[D]`` (NaT for null).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping

import numpy as np
import polars as pl

from tiering.compile import tol
from tiering.pack_model import TIER_ORDER
from tiering.small_formula import NAN, _and, _not, _or, full

__all__ = ["firm_columns", "input_columns"]

_RUNG = {"tech_sme": 1, "innovative": 1, "specialized": 2, "little_giant": 3, "champion": 4}


@functools.cache
def _industry_rows() -> dict[str, tuple]:
    """industry → (section, division, sei, sei_partial, size_sector, four_above_group)."""
    from tiering.engine import _industry_table

    t = _industry_table()
    cols = ("industry_section", "industry_division", "_sei", "_sei_partial")
    cols += ("size_sector", "four_above_group")
    return {r[0]: r[1:] for r in t.select("industry", *cols).iter_rows()}


def _same_dtype(have: pl.DataType, want: pl.DataType, kind: type) -> bool:
    """``have == want`` (``kind``: want's class) without polars' Python-level ``__eq__`` for
    plain (unparametrised) types.

    Why: that comparison ran ~200 times per what-if batch and cost more than the columns' data.
    """
    if type(have) is kind and not kind.is_nested() and kind not in _PARAMETRISED:
        return True
    return bool(have == want)


_PARAMETRISED = (pl.Enum, pl.Categorical, pl.Datetime, pl.Duration, pl.Decimal, pl.Array)


def _column(
    frame: pl.DataFrame,
    have: Mapping[str, pl.DataType],
    name: str,
    want: pl.DataType,
    domain: tuple | None,
) -> np.ndarray:
    """One input column cast as :func:`tiering.engine._check_and_cast` casts it."""
    n = frame.height
    kind = want if isinstance(want, type) else type(want)  # (class checks: no polars __eq__)
    if name not in have:
        if kind is pl.String:
            return full(n, None, object)
        if kind is pl.Date:
            return full(n, np.datetime64("NaT"), "datetime64[D]")
        return full(n, NAN)
    s = frame.get_column(name)
    if not _same_dtype(have[name], want, kind):
        s = s.cast(want)  # the same (strict) cast as the polars path
    if kind is pl.String:
        out = np.array(s.to_list(), dtype=object)
        if domain is not None:
            out[[x not in domain for x in out]] = None
        return out
    if kind is pl.Date:
        return s.to_numpy().astype("datetime64[D]")
    # numbers and booleans: Python values → float64 (None → NaN, True → 1.0), as the cast to
    # Float64 would give, at a fraction of a Series round trip's cost on a few rows
    out = np.array(s.to_list(), dtype=float)
    out[~np.isfinite(out)] = NAN
    return out


def input_columns(frame: pl.DataFrame, names: set[str]) -> dict[str, np.ndarray]:
    """The prepared columns the packs and the firm stage read (see :func:`engine._prepare`)."""
    from tiering.engine import DOMAINS
    from tiering.pack_loader import KNOWN_COLUMNS

    derived = {"industry_section", "industry_division", "sei_field", "size_class"}
    cols: dict[str, np.ndarray] = {}
    have = dict(zip(frame.columns, frame.dtypes, strict=True))  # (frame.schema costs more)
    for name in names | {"uscc", "industry"}:
        want = KNOWN_COLUMNS.get(name)
        if want is None or name in derived:
            continue
        cols[name] = _column(frame, have, name, want, DOMAINS.get(name))
    if "uscc" not in cols:
        cols["uscc"] = np.array(frame.get_column("uscc").cast(pl.String).to_list(), dtype=object)
    rows = _industry_rows()
    empty = (None,) * 6
    looked = [rows.get(code, empty) if code is not None else empty for code in cols["industry"]]
    section, division, sei, partial, sector, group = (
        np.array(v, dtype=object) for v in zip(*looked, strict=True)
    )
    cols["industry_section"], cols["industry_division"] = section, division
    cols["_size_sector"], cols["four_above_group"] = sector, group
    # sei_field: full SEI code → true; partial → the firm's sei_product; not SEI → false
    sei_f = np.array([NAN if x is None else float(x) for x in sei])
    part_f = np.array([NAN if x is None else float(x) for x in partial])
    prod = cols["sei_product"]
    cols["sei_field"] = np.where(
        (sei_f == 1) & (part_f == 0),
        1.0,
        np.where(sei_f == 1, prod, np.where(sei_f == 0, 0.0, NAN)),
    )
    out_class = _size_class(sector, cols)
    cols["_size_class_out"] = out_class
    fact = out_class.copy()
    fact[[c in ("unknown", "not_applicable") for c in out_class]] = None
    cols["size_class"] = fact
    return cols


def _size_class(sector: np.ndarray, cols: Mapping[str, np.ndarray]) -> np.ndarray:
    """As :func:`tiering.size_class.size_class_expr`."""
    from tiering.size_class import _NA, METRIC_COLUMNS, _pack

    pack = _pack()
    out = full(len(sector), "unknown", object)
    out[[s == _NA for s in sector]] = "not_applicable"
    for s in pack.sectors:
        on = np.array([x == s.id for x in sector], dtype=bool)
        if not on.any():
            continue
        vals = [cols[METRIC_COLUMNS[m]] for m in s.metrics]

        def reach(lines: tuple, vals: list[np.ndarray] = vals) -> np.ndarray:
            ok = np.ones(len(sector), dtype=bool)
            for v, x in zip(vals, lines, strict=True):
                with np.errstate(invalid="ignore"):
                    ok &= v >= float(x) - tol(float(x))
            return ok

        cls = np.where(
            reach(s.large),
            "large",
            np.where(reach(s.medium), "medium", np.where(reach(s.small), "small", "micro")),
        ).astype(object)
        cls[np.any([np.isnan(v) for v in vals], axis=0)] = "unknown"
        out[on] = cls[on]
    return out


# --------------------------------------------------------------------------- firm stage
def _four_above(cols: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """As :func:`tiering.four_above.four_above_exprs` plus the engine's no-group rule."""
    from tiering.four_above import _METRIC, _pack

    pack = _pack()
    share = float(pack.parameters.get("upsize_share", 0.7))
    margin = float(pack.parameters.get("delist_margin", 1.1))
    group = cols["four_above_group"]
    n = len(group)
    meets, upsize, delist = full(n, NAN), full(n, NAN), full(n, NAN)
    done = np.zeros(n, dtype=bool)
    with np.errstate(all="ignore"):
        for g in pack.groups:
            on = np.array([x == g.id for x in group], dtype=bool) & ~done
            if not on.any():
                continue
            done |= on
            if g.metric == "flag":
                assert g.flag is not None
                m, up, dl = cols[g.flag], np.zeros(n), np.zeros(n)
            else:
                line = float(g.line or 0)
                x1 = cols[f"{_METRIC[g.metric]}_y1"]
                x2 = cols[f"{_METRIC[g.metric]}_y2"]
                m = _ge(x1, line - tol(line))
                growth = np.where(x2 > 0, x1 / x2 - 1, NAN)
                needed = np.where(x1 > 0, line / x1 - 1, NAN)
                up = _and(
                    _and(_not(m), _ge(x1, share * line - tol(share * line))), _le(needed, growth)
                )
                below = _lt(x1, margin * line - tol(margin * line))
                dl = _or(_not(m), _and(below, _lt(x1, x2)))
            meets[on], upsize[on], delist[on] = m[on], up[on], dl[on]
    roster = cols["in_four_above"]
    out = {
        "meets_four_above": meets,
        "hidden_four_above": _and(_not(roster), meets),
        "upsize_candidate": _and(_not(roster), upsize),
        "delist_risk": _and(roster, delist),
    }
    known = np.array([x is not None for x in cols["industry_section"]], dtype=bool)
    no_group = known & np.array([x is None for x in group], dtype=bool)
    for v in out.values():
        v[no_group] = 0.0
    return out


def _num_cmp(fn: np.ufunc, a: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        r = fn(a, b).astype(float)
    r[np.isnan(a) | np.isnan(b)] = NAN
    return r


def _ge(a: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    return _num_cmp(np.greater_equal, a, b)


def _le(a: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    return _num_cmp(np.less_equal, a, b)


def _lt(a: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    return _num_cmp(np.less, a, b)


def _highest(cond: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    out = full(n, None, object)
    for t in TIER_ORDER:  # lowest first: later (higher) rungs overwrite
        if t in cond:
            out[cond[t] == 1] = t
    return out


def firm_columns(
    cols: Mapping[str, np.ndarray],
    as_of: dt.date,
    verdicts: Mapping[str, np.ndarray],
    prerequisites: Mapping[str, tuple[str, ...]],
    review_verdicts: Mapping[str, list[tuple[dt.date, str]]],
    wide_verdicts: Mapping[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """As :func:`tiering.ladder.ladder_exprs` + the 四上 flags (verdicts as object arrays).

    ``verdicts``: tier → verdict array of the pack used for that tier; ``wide_verdicts``: wide
    verdict column name → verdict array (for the review packs).
    """
    from tiering.ladder import one_year_after

    n = len(cols["uscc"])
    held = {t: (cols[f"held_{t}"] == 1).astype(float) for t in TIER_ORDER}
    held_tier = _highest(held, n)
    met = {t: (v == "met").astype(float) for t, v in verdicts.items()}
    prereq_ok = {
        t: np.any([held[p] == 1 for p in prerequisites[t]], axis=0).astype(float)
        if prerequisites.get(t)
        else np.ones(n)
        for t in verdicts
    }
    rung = np.array([_RUNG.get(h, 0) if h is not None else 0 for h in held_tier])
    close = {"met": 2, "undetermined": 1, "unmet": 0}

    def closeness(t: str) -> np.ndarray:
        if t not in verdicts:
            return full(n, -1, int)
        return np.array([close.get(v, -1) if v is not None else -1 for v in verdicts[t]])

    bottom = np.where(closeness("tech_sme") > closeness("innovative"), "tech_sme", "innovative")
    next_tier = full(n, None, object)
    for r, t in ((1, "specialized"), (2, "little_giant"), (3, "champion")):
        next_tier[rung == r] = t
    next_tier[rung == 0] = bottom[rung == 0]
    any_held = np.any([h == 1 for h in held.values()], axis=0).astype(float)
    events = functools.reduce(
        _or, [cols["serious_dishonesty"], cols["incident_3y"], cols["fraud_3y"]]
    )
    revocation = _and(any_held, events)
    horizon = np.datetime64(one_year_after(as_of), "D")
    start_d = np.datetime64(as_of, "D")
    risks = []
    for t, options in review_verdicts.items():
        exp = cols[f"{t}_expires"]
        nat = np.isnat(exp)
        due = np.where(nat, NAN, ((exp >= start_d) & (exp <= horizon)).astype(float))
        verdict = full(n, None, object)
        chosen = np.zeros(n, dtype=bool)
        for start, col in sorted(options, reverse=True):
            hit = ~nat & (exp >= np.datetime64(start, "D")) & ~chosen
            verdict[hit] = wide_verdicts[col][hit]
            chosen |= hit
        if not options:
            continue
        not_met = np.array([NAN if v is None else float(v != "met") for v in verdict])
        risks.append(_and(_and(held[t], due), not_met))
    review_risk = functools.reduce(_or, [*risks, revocation])
    return {
        **_four_above(cols),
        "held_tier": held_tier,
        "held_tech_innovative": _or(held["tech_sme"], held["innovative"]),
        "eligible_tier": _highest({t: _and(met[t], prereq_ok[t]) for t in verdicts}, n),
        "eligible_by_criteria": _highest(met, n),
        "next_tier": next_tier,
        "review_risk": review_risk,
        "revocation": revocation,
    }
