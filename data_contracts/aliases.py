"""Header alias table: the Chinese (and English) headers other bureaus use -> contract columns.

Why a CSV: the bureau's clerks can read and extend ``aliases.csv`` (columns ``alias, column,
table, source``; an empty ``table`` means any table) without touching code. Every
``TColumn.label`` of :mod:`data_contracts.tables` is in it (a test keeps it so), plus common
variants seen in registry and tax extracts (社会信用代码/信用代码 -> ``uscc``, 营业总收入 ->
``revenue`` …). Contract column names always map to themselves.

Headers are normalised before the look-up: whitespace (also full-width) and a BOM removed,
full-width brackets made half-width, a trailing unit in brackets dropped (``营业收入（万元）`` ->
``营业收入``), ASCII lower-cased.

>>> normalise_header(" 营业收入（万元） ")
'营业收入'
>>> resolve_header("社会信用代码", "firms")
'uscc'
>>> resolve_header("营业总收入", "financials")
'revenue'
"""

from __future__ import annotations

import csv
import functools
import re
from importlib import resources

from data_contracts.tables import TABLES

__all__ = ["alias_table", "normalise_header", "resolve_header"]

_UNIT_SUFFIX = re.compile(r"\((万元|元|人|项|名|年|%|％|比例|分|个)\)$")


def normalise_header(header: str) -> str:
    """Canonical form of a header for the alias look-up."""
    h = str(header).replace("\ufeff", "").replace("\u3000", " ").strip()
    h = h.replace("（", "(").replace("）", ")")
    h = re.sub(r"\s+", "", h)
    h = _UNIT_SUFFIX.sub("", h)
    return h.lower()


@functools.cache
def alias_table() -> tuple[tuple[str, str, str, str], ...]:
    """Rows ``(alias, column, table, source)`` of the shipped ``aliases.csv``."""
    text = (resources.files("data_contracts") / "aliases.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return tuple((r["alias"], r["column"], r["table"], r["source"]) for r in rows)


@functools.cache
def _lookup() -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for alias, column, table, _ in alias_table():
        out[(normalise_header(alias), table)] = column
    for spec in TABLES.values():
        for c in spec.columns:
            out[(normalise_header(c.name), spec.name)] = c.name
    return out


def resolve_header(header: str, table: str) -> str | None:
    """Contract column for ``header`` in ``table``, or None when the header is unknown."""
    key = normalise_header(header)
    lookup = _lookup()
    column = lookup.get((key, table)) or lookup.get((key, ""))
    if column is None:
        return None
    return column if column in TABLES[table].schema() else None
