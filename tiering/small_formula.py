"""Small-frame backend, formulas: the pack formula language evaluated with numpy.

Mirror of :class:`tiering.formula.FormulaCompiler` node for node (see :mod:`tiering.small` for
the value representation): division by zero, square roots of negatives and NaN give null,
``and``/``or``/``not`` are Kleene, ``where(cond, a, b)`` takes ``b`` when ``cond`` is null.

>>> import numpy as np
>>> _and(np.array([0.0, 1.0, np.nan]), np.array([np.nan, np.nan, 1.0]))
array([ 0., nan, nan])
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from tiering.pack_model import Pack

__all__ = ["NAN", "Env", "Unsupported", "empty_columns", "full"]

NAN = float("nan")


class Unsupported(Exception):
    """A construct the small backend does not evaluate (the engine falls back to polars)."""


def _and(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # Kleene: false wins, else null wins. fmin ignores a null, so it finds a false; minimum
    # propagates one (4 array operations instead of 8: this runs ~50 times per what-if)
    return np.where(np.fmin(a, b) == 0, 0.0, np.minimum(a, b))


def _or(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # Kleene: true wins, else null wins (the mirror of _and)
    return np.where(np.fmax(a, b) == 1, 1.0, np.maximum(a, b))


def full(n: int, value: Any, dtype: Any = float) -> np.ndarray:
    """``np.full(n, value, dtype)`` in half the time (``np.full`` is a Python wrapper: ~2 µs
    against ~1 µs here; the small backend builds ~200 constant columns per what-if call).

    >>> full(2, None, object).tolist(), full(2, 1.5).tolist()
    ([None, None], [1.5, 1.5])
    """
    out = np.empty(n, dtype)
    out.fill(value)
    return out


def _not(a: np.ndarray) -> np.ndarray:
    return 1.0 - a


def _is_str(a: np.ndarray) -> bool:
    return a.dtype == object


def _compare(a: np.ndarray, b: np.ndarray, fn: Callable) -> np.ndarray:
    if _is_str(a) or _is_str(b):
        if not (_is_str(a) and _is_str(b)) or fn not in (np.equal, np.not_equal):
            raise Unsupported("string comparison")
        null = np.array([x is None or y is None for x, y in zip(a, b, strict=True)])
        eq = np.array([x == y for x, y in zip(a, b, strict=True)])
        r = (eq if fn is np.equal else ~eq).astype(float)
        r[null] = NAN
        return r
    r = fn(a, b).astype(float)
    r[np.isnan(a) | np.isnan(b)] = NAN
    return r


def _finite(a: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(a), a, NAN)


@functools.lru_cache(maxsize=128)
def empty_columns(n: int) -> tuple[np.ndarray, np.ndarray]:
    """All-null number and code columns of length n, read-only: shared by every criterion that
    has no value, threshold, gap or unit (a write into one would raise, not leak)."""
    nans, nones = full(n, NAN), full(n, None, object)
    nans.flags.writeable = nones.flags.writeable = False
    return nans, nones


# --------------------------------------------------------------------------- formulas
@functools.lru_cache(maxsize=4096)
def _parse(source: str) -> ast.expr:
    return ast.parse(source.strip(), mode="eval").body


_CMP_FN = {
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}


class Env:
    """Frame columns, pack parameters, derived names and ``Y`` for one pack over n rows.

    Formulas were checked at pack load (:class:`tiering.formula.FormulaCompiler`); this
    evaluator mirrors its semantics node for node.
    """

    def __init__(
        self, columns: dict[str, np.ndarray], n: int, pack: Pack, year: int, explain: bool = True
    ) -> None:
        self.columns, self.n, self.pack, self.year = columns, n, pack, year
        #: build gaps and texts (off for packs whose verdict alone is read: the review packs)
        self.explain = explain
        self._memo: dict[str, np.ndarray] = {}
        self._consts: dict[float | str, np.ndarray] = {}
        #: the empty gap-text column, as a :data:`tiering.small.Text` (a fresh array per call)
        self.no_text = functools.partial(full, n, None, object)
        #: all-null number and code columns (read-only, shared like every constant)
        self.nans, self.nones = empty_columns(n)

    def full(self, v: float | str | bool | None) -> np.ndarray:
        """A constant column (shared: formula results are never written to)."""
        key = v if isinstance(v, str) else (NAN if v is None else float(v))
        got = self._consts.get(key)  # type: ignore[arg-type]
        if got is None:
            dtype = object if isinstance(v, str) else float
            got = self._consts[key] = full(self.n, key, dtype)  # type: ignore[index]
            got.flags.writeable = False  # a write into a shared constant would be a silent bug
        return got

    def formula(self, source: str | float | int | bool) -> np.ndarray:
        if isinstance(source, bool | int | float):
            return self.full(float(source))
        got = self._memo.get(source)
        if got is None:
            got = self._memo[source] = self._node(_parse(source))
        return got

    def _node(self, n: ast.AST) -> np.ndarray:
        if isinstance(n, ast.Constant):
            return self.full(n.value)
        if isinstance(n, ast.Name):
            return self._name(n.id)
        if isinstance(n, ast.BinOp):
            a, b = self._node(n.left), self._node(n.right)
            if _is_str(a) or _is_str(b):
                raise Unsupported("arithmetic on codes")
            with np.errstate(all="ignore"):
                if isinstance(n.op, ast.Add):
                    return a + b
                if isinstance(n.op, ast.Sub):
                    return a - b
                if isinstance(n.op, ast.Mult):
                    return a * b
                if isinstance(n.op, ast.Div):
                    return np.where(b != 0, _finite(a / b), NAN)
            raise Unsupported(type(n.op).__name__)
        if isinstance(n, ast.UnaryOp):
            v = self._node(n.operand)
            if isinstance(n.op, ast.USub):
                return -v
            if isinstance(n.op, ast.Not):
                return _not(v)
            raise Unsupported(type(n.op).__name__)
        if isinstance(n, ast.BoolOp):
            parts = [self._node(v) for v in n.values]
            out = parts[0]
            for p in parts[1:]:
                out = _and(out, p) if isinstance(n.op, ast.And) else _or(out, p)
            return out
        if isinstance(n, ast.Compare):
            left = self._node(n.left)
            res: np.ndarray | None = None
            for op, comp in zip(n.ops, n.comparators, strict=True):
                right = self._node(comp)
                part = _compare(left, right, _CMP_FN[type(op)])
                res = part if res is None else _and(res, part)
                left = right
            assert res is not None
            return res
        if isinstance(n, ast.Call):
            return self._call(n)
        raise Unsupported(type(n).__name__)

    def _call(self, n: ast.Call) -> np.ndarray:
        assert isinstance(n.func, ast.Name)
        name = n.func.id
        args = [self._node(a) for a in n.args]
        if name != "where" and any(_is_str(a) for a in args):
            raise Unsupported(f"{name} on codes")
        with np.errstate(all="ignore"):
            if name in ("min", "max"):
                out = args[0]
                for a in args[1:]:
                    out = np.minimum(out, a) if name == "min" else np.maximum(out, a)
                return out
            if name in ("mean", "sum"):
                total = args[0]
                for a in args[1:]:
                    total = total + a
                return total / len(args) if name == "mean" else total
            if name == "where":
                c, a, b = args
                if _is_str(a) != _is_str(b):
                    raise Unsupported("where mixing codes and numbers")
                return np.where(c == 1, a, b)
            (a,) = args
            if name == "sqrt":
                return np.where(a >= 0, np.sqrt(np.where(a >= 0, a, 0.0)), NAN)
            if name == "abs":
                return np.abs(a)
            return np.floor(a)

    def _name(self, name: str) -> np.ndarray:
        if name == "Y":
            return self.full(float(self.year))
        if name in self.pack.parameters:
            v = self.pack.parameters[name]
            return self.full(v if isinstance(v, str) else float(v))
        if name in self.pack.derived:
            return self.formula(self.pack.derived[name])
        col = self.columns.get(name)
        if col is None:
            raise Unsupported(f"column {name}")
        return col
