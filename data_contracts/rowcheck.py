"""Compile the GX expectation configurations of :mod:`.expectations` to polars expressions.

Why: GX (pandas) needs minutes and gigabytes to split a million-firm batch row by row; polars
does it in seconds. The row-level path therefore *compiles the same configurations* GX runs —
there is no second list of rules. Each supported expectation type has one translator below that
mirrors GX's pandas semantics exactly (a parity test runs real GX on a sample and asserts the
same rows are flagged):

- map expectations ignore nulls (GX drops missing values from the domain), except
  ``expect_column_values_to_not_be_null``;
- uniqueness flags *every* copy of a duplicated value (pandas ``duplicated(keep=False)``);
- pair expectations honour ``ignore_row_if`` (``both_values_are_missing`` by default,
  ``either_value_is_missing``, ``neither``);
- compound uniqueness ignores rows whose key values are all missing.

An expectation type without a translator raises :class:`NotImplementedError` at compile time, so
adding a rule GX understands but polars does not fails loudly instead of being skipped.

This module never imports GX.

>>> import polars as pl
>>> rule = {"type": "expect_column_values_to_be_between",
...         "kwargs": {"column": "x", "min_value": 0}, "meta": {"rule": "NEG"}}
>>> df = pl.DataFrame({"x": [1.0, -2.0, None]})
>>> failures(df, [rule], {})["row"].to_list()
[1]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import polars as pl

from data_contracts.expectations import PARAM, ROW_TYPES, SCHEMA_TYPES

__all__ = ["compile_rule", "failures", "flags", "resolve"]

Translator = Callable[[dict[str, Any], pl.DataFrame], pl.Expr]


def resolve(value: Any, params: Mapping[str, Any]) -> Any:
    """Replace a GX suite parameter reference (``{"$PARAMETER": name}``) by its value."""
    if isinstance(value, dict) and PARAM in value:
        name = value[PARAM]
        if name not in params:
            raise KeyError(f"suite parameter {name!r} not supplied")
        return params[name]
    return value


def _lit(v: Any) -> pl.Expr:
    if isinstance(v, datetime):
        v = v.date()
    return pl.lit(v, dtype=pl.Date) if isinstance(v, date) else pl.lit(v)


def _not_null(k: dict[str, Any], df: pl.DataFrame) -> pl.Expr:
    return pl.col(k["column"]).is_null()


def _between(k: dict[str, Any], df: pl.DataFrame) -> pl.Expr:
    c = pl.col(k["column"])
    lo, hi = k.get("min_value"), k.get("max_value")
    if lo is None and hi is None:
        raise ValueError(f"between rule on {k['column']!r} needs min_value or max_value")
    ok = pl.lit(True)
    if lo is not None:
        ok = ok & ((c > _lit(lo)) if k.get("strict_min") else (c >= _lit(lo)))
    if hi is not None:
        ok = ok & ((c < _lit(hi)) if k.get("strict_max") else (c <= _lit(hi)))
    return c.is_not_null() & ~ok


def _in_set(k: dict[str, Any], df: pl.DataFrame) -> pl.Expr:
    c = pl.col(k["column"])
    values = pl.Series(list(k["value_set"]), dtype=df.schema[k["column"]])
    return c.is_not_null() & ~c.is_in(values.implode())


def _regex(k: dict[str, Any], df: pl.DataFrame) -> pl.Expr:
    c = pl.col(k["column"])
    return c.is_not_null() & ~c.cast(pl.String).str.contains(k["regex"])


def _unique(k: dict[str, Any], df: pl.DataFrame) -> pl.Expr:
    c = pl.col(k["column"])
    return c.is_not_null() & c.is_duplicated()


def _compound_unique(k: dict[str, Any], df: pl.DataFrame) -> pl.Expr:
    cols = list(k["column_list"])
    ignore = k.get("ignore_row_if", "all_values_are_missing")
    all_missing = pl.all_horizontal([pl.col(c).is_null() for c in cols])
    any_missing = pl.any_horizontal([pl.col(c).is_null() for c in cols])
    skip = {"all_values_are_missing": all_missing, "any_value_is_missing": any_missing}.get(
        ignore, pl.lit(False)
    )
    return ~skip & pl.struct(cols).is_duplicated()


def _pair_skip(k: dict[str, Any]) -> pl.Expr:
    a, b = pl.col(k["column_A"]).is_null(), pl.col(k["column_B"]).is_null()
    ignore = k.get("ignore_row_if", "both_values_are_missing")
    return {"both_values_are_missing": a & b, "either_value_is_missing": a | b}.get(
        ignore, pl.lit(False)
    )


def _pair_ge(k: dict[str, Any], df: pl.DataFrame) -> pl.Expr:
    a, b = pl.col(k["column_A"]), pl.col(k["column_B"])
    ok = (a >= b) if k.get("or_equal") else (a > b)
    # pandas compares with a missing value as False, so such rows fail unless skipped.
    return ~_pair_skip(k) & ~ok.fill_null(False)


def _pair_at_most(k: dict[str, Any], df: pl.DataFrame) -> pl.Expr:
    a, b = pl.col(k["column_A"]), pl.col(k["column_B"])
    ok = a <= b * float(k.get("factor", 1.0))
    return ~_pair_skip(k) & ~ok.fill_null(False)


def _valid_uscc(k: dict[str, Any], df: pl.DataFrame) -> pl.Expr:
    """USCC check on the distinct codes only (a child table repeats each code ~7 times)."""
    from tiering.uscc import uscc_problem_expr

    col = k["column"]
    distinct = df.select(pl.col(col).unique()).filter(pl.col(col).is_not_null())
    bad = distinct.filter(uscc_problem_expr(col).is_not_null())[col]
    return pl.col(col).is_not_null() & pl.col(col).is_in(bad.implode())


TRANSLATORS: dict[str, Translator] = {
    "expect_column_values_to_not_be_null": _not_null,
    "expect_column_values_to_be_between": _between,
    "expect_column_values_to_be_in_set": _in_set,
    "expect_column_values_to_match_regex": _regex,
    "expect_column_values_to_be_unique": _unique,
    "expect_compound_columns_to_be_unique": _compound_unique,
    "expect_column_pair_values_a_to_be_greater_than_b": _pair_ge,
    "expect_column_pair_values_a_to_be_at_most_b_times": _pair_at_most,
    "expect_column_values_to_be_valid_uscc": _valid_uscc,
}
assert set(TRANSLATORS) == ROW_TYPES, "every row-level expectation type needs a translator"


def compile_rule(config: dict[str, Any], df: pl.DataFrame, params: Mapping[str, Any]) -> pl.Expr:
    """Polars expression that is true on the rows ``config`` flags as unexpected."""
    type_ = config["type"]
    if type_ not in TRANSLATORS:
        raise NotImplementedError(f"no polars translation for expectation type {type_!r}")
    kwargs = {k: resolve(v, params) for k, v in config["kwargs"].items()}
    return TRANSLATORS[type_](kwargs, df).fill_null(False)


def _row_rules(configs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for c in configs:
        if c["type"] in SCHEMA_TYPES:
            continue
        if c["type"] not in TRANSLATORS:
            raise NotImplementedError(f"no polars translation for expectation type {c['type']!r}")
        out.append(c)
    return out


def flags(
    df: pl.DataFrame, configs: Sequence[dict[str, Any]], params: Mapping[str, Any]
) -> pl.DataFrame:
    """One boolean column per row-level rule (named by its meta id), plus ``row``."""
    rules = _row_rules(configs)
    exprs = [
        compile_rule(c, df, params).alias(c["meta"].get("id", f"rule-{i}"))
        for i, c in enumerate(rules)
    ]
    return df.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("row"), *exprs)


def failures(
    df: pl.DataFrame, configs: Sequence[dict[str, Any]], params: Mapping[str, Any]
) -> pl.DataFrame:
    """Long frame of ``(row, id)`` pairs: which rule (by meta id) flags which 0-based row."""
    f = flags(df, configs, params)
    ids = [c for c in f.columns if c != "row"]
    if not ids or f.height == 0:
        return pl.DataFrame(schema={"row": pl.UInt32, "id": pl.String})
    bad = f.filter(pl.any_horizontal(ids))
    return (
        bad.unpivot(index="row", on=ids, variable_name="id", value_name="hit")
        .filter(pl.col("hit"))
        .select("row", "id")
        .sort("row", "id")
    )
