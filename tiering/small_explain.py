"""Small-frame backend, explanations: value, threshold, gap, unit and gap text with numpy.

Mirror of :mod:`tiering.explain` and of ``compile._first_failing`` (see :mod:`tiering.small`).
Gap texts are formatted in Python exactly as polars formats them: numbers rounded like numpy
(``rint(x·100)/100``: 981.295 → 981.3) and printed in shortest form (Python ``repr``).

>>> _number(981.295, "万元"), _number(0.004, "ratio"), _number(1.0000000001, "项")
('981.3', '0.4', '1')
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tiering.compile import tol
from tiering.explain import _COUNTED, _template
from tiering.pack_model import Criterion
from tiering.small_formula import NAN, empty_columns, full

__all__ = ["Leaf"]


def _is_false(a: np.ndarray) -> np.ndarray:
    return a == 0


def _number(x: float, unit: str) -> str:
    """As :func:`tiering.explain._number_expr` (polars prints floats like Python ``repr``)."""
    if unit in _COUNTED:
        return str(math.ceil(x - 1e-9))
    # polars rounds like numpy (rint(x·100)/100, half to even on the scaled float), not like
    # Python's correctly rounded round(x, 2): 981.295 → 981.3
    x = round((x * 100 if unit == "ratio" else x) * 100) / 100
    return str(int(x)) if x == math.floor(x) else repr(x)


def _texts(gap: np.ndarray, name: str, unit: str, op: str) -> np.ndarray:
    out = full(len(gap), None, object)
    rows = np.flatnonzero(~np.isnan(gap))
    if len(rows):
        left, right = _template(name, unit, op).split("{}")
        for i in rows.tolist():
            out[i] = f"{left}{_number(float(gap[i]), unit)}{right}"
    return out


def _join(parts: list[np.ndarray], sep: str) -> np.ndarray:
    """``concat_str(..., ignore_nulls=True)`` row by row ("" where every part is null)."""
    out = full(len(parts[0]), "", object)
    some = np.zeros(len(parts[0]), dtype=bool)
    for p in parts:
        some |= p != None  # noqa: E711 (elementwise on an object array)
    for i in np.flatnonzero(some).tolist():
        out[i] = sep.join(p[i] for p in parts if p[i] is not None)
    return out


def _mask_text(keep: np.ndarray, text: np.ndarray) -> np.ndarray:
    out = text.copy()
    out[~keep] = None
    return out


def _const_text(n: int, keep: np.ndarray, msg: str | None) -> np.ndarray:
    out = full(n, None, object)
    if msg is not None:
        out[keep] = msg
    return out


@dataclass
class Leaf:
    value: np.ndarray
    threshold: np.ndarray
    cond: np.ndarray
    gap: np.ndarray
    unit: str


def _first_failing(
    leaves: list[Leaf], n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if not leaves:  # (flags, manual checks: shared read-only columns, never written)
        nans, nones = empty_columns(n)
        return nans, nans, nans, nones
    f0 = leaves[0]
    value, threshold, gap = f0.value.copy(), f0.threshold.copy(), f0.gap.copy()
    unit = full(n, f0.unit, object)
    done = np.zeros(n, dtype=bool)
    for lf in leaves:
        hit = _is_false(lf.cond) & ~done
        value[hit], threshold[hit], gap[hit], unit[hit] = (
            lf.value[hit],
            lf.threshold[hit],
            lf.gap[hit],
            lf.unit,
        )
        done |= hit
    return value, threshold, gap, unit


def _band_gap(vals: list[np.ndarray], c: Criterion, n: int) -> tuple:
    """Value, threshold, gap, unit of the first base and the gap text (built on call)."""
    b = c.bands
    assert b is not None
    higher = b.direction == "higher"
    op = ">=" if higher else "<="
    thresholds: list[np.ndarray] = []
    gaps: list[np.ndarray] = []
    for val, base in zip(vals, b.bases, strict=True):
        thr = full(n, NAN)
        for e in sorted(base.edges, reverse=not higher):  # nearest-to-worst first
            with np.errstate(invalid="ignore"):
                below = (val < e - tol(e)) if higher else (val > e + tol(e))
            thr = np.where(np.isnan(thr) & below, float(e), thr)
        thresholds.append(thr)
        gaps.append((thr - val) if higher else (val - thr))
    gap = gaps[0]

    def text() -> np.ndarray:
        texts = [_texts(g, base.name, base.unit, op) for g, base in zip(gaps, b.bases, strict=True)]
        joined = _join(texts, "，或")
        return _mask_text(joined != "", joined)

    unit = full(n, None, object)
    unit[~np.isnan(gap)] = b.bases[0].unit
    return vals[0].copy(), thresholds[0], gap, unit, text


def _case_gap(lo: np.ndarray, steps: list, n: int) -> tuple:
    """Value, threshold, gap, unit of the step the firm falls short of, and its text (on call)."""
    value, threshold, gap = full(n, NAN), full(n, NAN), full(n, NAN)
    unit = full(n, None, object)
    done = np.zeros(n, dtype=bool)
    picks: list[tuple[np.ndarray, Callable[[], np.ndarray]]] = []
    for _cond, p, ct in reversed(steps):  # lowest step first
        v, t, g, u = _first_failing(ct.leaves, n)
        hit = (lo < p) & ~done
        value[hit], threshold[hit], gap[hit], unit[hit] = v[hit], t[hit], g[hit], u[hit]
        picks.append((hit, ct.text))
        done |= hit

    def text() -> np.ndarray:
        out = full(n, None, object)
        for hit, part in picks:
            if hit.any():
                out[hit] = part()[hit]
        return out

    return value, threshold, gap, unit, text
