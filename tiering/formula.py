"""Formulas of the rule packs: a tiny, safe arithmetic language compiled to polars expressions.

Why not ``eval``: pack files are data; a formula may only name frame columns, pack parameters,
derived names and the assessment year ``Y``, and use ``+ - * /``, comparisons, ``and/or/not`` and
a few functions (``min``, ``max``, ``mean``, ``sum``, ``sqrt``, ``abs``, ``floor``,
``where(cond, a, b)``). Anything else — an attribute, a subscript, an unknown name — is a
:class:`~tiering.errors.PackError` at load time.

Semantics chosen so that one bad value never stops the other rows: division by zero, the square
root of a negative number and NaN all give null (→ the criterion is ``unknown``), never an error.
``and``/``or``/``not`` use three-valued (Kleene) logic: ``False and null`` is ``False``.

>>> import polars as pl
>>> f = FormulaCompiler(columns={"a": pl.Float64, "b": pl.Float64})
>>> df = pl.DataFrame({"a": [1.0, 3.0], "b": [0.0, 2.0]})
>>> df.select(r=f.compile("a / b")).to_series().to_list()
[None, 1.5]
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from tiering.errors import PackError

__all__ = ["FormulaCompiler", "FormulaError"]


class FormulaError(ValueError):
    """A formula that names something unknown or uses a construct outside the language."""


_FUNCS = {"min", "max", "mean", "sum", "sqrt", "abs", "floor", "where"}


def _null_nan(e: pl.Expr) -> pl.Expr:
    """Turn NaN/inf into null so no row poisons a comparison."""
    return pl.when(e.is_finite()).then(e)


@dataclass
class FormulaCompiler:
    """Compile formulas against a fixed set of names.

    ``columns``: frame columns (name → dtype); ``parameters``: constants of the pack;
    ``derived``: named formulas of the pack (compiled on first use); ``year``: the assessment
    year bound to ``Y`` (``None`` at load-time checking, where a placeholder is used).
    ``used`` collects the frame columns a compiled formula touched (for the schema check).
    """

    columns: Mapping[str, pl.DataType | type]
    parameters: Mapping[str, float | int | str | bool] = field(default_factory=dict)
    derived: Mapping[str, str] = field(default_factory=dict)
    year: int | None = None
    used: set[str] = field(default_factory=set)
    #: formula results materialised once as ``_f:<key>`` columns (see :meth:`materialise`)
    temps: dict[str, pl.Expr] = field(default_factory=dict)
    _derived_cache: dict[str, pl.Expr] = field(default_factory=dict)
    _stack: list[str] = field(default_factory=list)

    def compile(self, source: str | float | int | bool) -> pl.Expr:
        """Compile one formula (numbers and booleans pass through as literals)."""
        if isinstance(source, bool):
            return pl.lit(source)
        if isinstance(source, int | float):
            return pl.lit(float(source))
        try:
            tree = ast.parse(source.strip(), mode="eval")
        except SyntaxError as exc:
            raise FormulaError(f"syntax error in “{source}”: {exc.msg}") from None
        return self._node(tree.body, source)

    def materialise(self, e: pl.Expr) -> pl.Expr:
        """Register a computed formula as a shared temp column and return a reference to it.

        Why: a comparison's value is read by its status, its points, its gap and (several
        times) its gap text; referencing a column instead of repeating the formula keeps the
        expression graphs small (planning cost) and computes each formula once per frame.
        Keyed by the serialised expression, so the same formula in several packs is one column.
        Plain columns and literals are returned unchanged.
        """
        if e.meta.is_column() or e.meta.is_literal():
            return e
        key = hashlib.blake2b(e.meta.serialize(format="json").encode(), digest_size=8).hexdigest()
        name = f"_f:{key}"
        self.temps.setdefault(name, e)
        return pl.col(name)

    # ------------------------------------------------------------------ nodes
    def _node(self, n: ast.AST, src: str) -> pl.Expr:
        if isinstance(n, ast.Constant):
            if isinstance(n.value, bool):
                return pl.lit(n.value)
            if isinstance(n.value, int | float):
                return pl.lit(float(n.value))
            if isinstance(n.value, str):
                return pl.lit(n.value)
            raise FormulaError(f"constant {n.value!r} not allowed in “{src}”")
        if isinstance(n, ast.Name):
            return self._name(n.id, src)
        if isinstance(n, ast.BinOp):
            a, b = self._node(n.left, src), self._node(n.right, src)
            if isinstance(n.op, ast.Add):
                return a + b
            if isinstance(n.op, ast.Sub):
                return a - b
            if isinstance(n.op, ast.Mult):
                return a * b
            if isinstance(n.op, ast.Div):
                return pl.when(b != 0).then(_null_nan(a / b))
            raise FormulaError(f"operator {type(n.op).__name__} not allowed in “{src}”")
        if isinstance(n, ast.UnaryOp):
            v = self._node(n.operand, src)
            if isinstance(n.op, ast.USub):
                return -v
            if isinstance(n.op, ast.Not):
                return ~v
            raise FormulaError(f"operator {type(n.op).__name__} not allowed in “{src}”")
        if isinstance(n, ast.BoolOp):
            parts = [self._node(v, src) for v in n.values]
            out = parts[0]
            for p in parts[1:]:
                out = (out & p) if isinstance(n.op, ast.And) else (out | p)
            return out
        if isinstance(n, ast.Compare):
            return self._compare(n, src)
        if isinstance(n, ast.Call):
            return self._call(n, src)
        raise FormulaError(f"construct {type(n).__name__} not allowed in “{src}”")

    def _compare(self, n: ast.Compare, src: str) -> pl.Expr:
        ops = {
            ast.Gt: lambda a, b: a > b,
            ast.GtE: lambda a, b: a >= b,
            ast.Lt: lambda a, b: a < b,
            ast.LtE: lambda a, b: a <= b,
            ast.Eq: lambda a, b: a == b,
            ast.NotEq: lambda a, b: a != b,
        }
        left = self._node(n.left, src)
        out: pl.Expr | None = None
        for op, comp in zip(n.ops, n.comparators, strict=True):
            if type(op) not in ops:
                raise FormulaError(f"comparison {type(op).__name__} not allowed in “{src}”")
            right = self._node(comp, src)
            part = ops[type(op)](left, right)
            out = part if out is None else out & part
            left = right
        assert out is not None
        return out

    def _call(self, n: ast.Call, src: str) -> pl.Expr:
        if not isinstance(n.func, ast.Name) or n.func.id not in _FUNCS or n.keywords:
            raise FormulaError(f"only {sorted(_FUNCS)} may be called in “{src}”")
        args = [self._node(a, src) for a in n.args]
        name = n.func.id
        if not args:
            raise FormulaError(f"{name}() needs arguments in “{src}”")
        if name in ("min", "max"):
            # null-propagating: an unknown operand leaves the result unknown
            h = pl.min_horizontal(args) if name == "min" else pl.max_horizontal(args)
            return pl.when(pl.all_horizontal([a.is_not_null() for a in args])).then(h)
        if name in ("mean", "sum"):
            total = args[0]
            for a in args[1:]:
                total = total + a
            return total / len(args) if name == "mean" else total
        if name == "where":
            if len(args) != 3:
                raise FormulaError(f"where(cond, a, b) takes 3 arguments in “{src}”")
            return pl.when(args[0]).then(args[1]).otherwise(args[2])
        if len(args) != 1:
            raise FormulaError(f"{name}() takes one argument in “{src}”")
        (a,) = args
        if name == "sqrt":
            return pl.when(a >= 0).then(a.sqrt())
        if name == "abs":
            return a.abs()
        return a.floor()

    def _name(self, name: str, src: str) -> pl.Expr:
        if name == "Y":
            return pl.lit(float(self.year if self.year is not None else 2000))
        if name in self.parameters:
            v = self.parameters[name]
            return pl.lit(float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v)
        if name in self.derived:
            if name in self._stack:
                raise FormulaError(f"derived name “{name}” refers to itself")
            if name not in self._derived_cache:
                self._stack.append(name)
                try:
                    self._derived_cache[name] = self.compile(self.derived[name])
                finally:
                    self._stack.pop()
            return self._derived_cache[name]
        if name in self.columns:
            self.used.add(name)
            return pl.col(name)
        raise FormulaError(f"unknown column or name “{name}” in “{src}”")


def pack_error(file: str, criterion: str | None, field_: str, msg: str) -> PackError:
    """A :class:`PackError` whose message names file, criterion and field."""
    where = f"{file}: criterion {criterion}: field {field_}" if criterion else f"{file}: {field_}"
    return PackError(f"{where}: {msg}", field=field_, rule=criterion, value=file)
