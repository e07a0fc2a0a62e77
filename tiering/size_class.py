"""SME size (划型, spec §7): large / medium / small / micro from the ``sme-size-2011`` pack.

Why the "drop a band" rule: under 国统字〔2017〕213号 a firm is 大型 only if *every* metric of its
sector reaches the 大型 line; otherwise it drops to 中型 if every metric reaches the 中型 line, and
so on; 微型 is what is left (one metric below the 小型 line suffices). Sectors are GB/T 4754
scopes in the pack; the most specific scope wins (小类 > 中类 > 大类 > 门类), so 7010 房地产开发经营
beats section K's "other" row. Industries outside every sector (金融业 J, 铁路运输 53, 教育 P, …)
are ``not_applicable``; a null metric the sector needs, a null or unknown industry → ``unknown``.
Lines are compared with the same tiny tolerance as the rule packs (a value on a line reaches it).

>>> import polars as pl
>>> df = pl.DataFrame({"industry": ["3973", "3973", "6513", "6621"],
...                    "employees_y1": [350, 350, 40, 5], "revenue_y1": [50000.0, 1999.0, 60.0, 1.0],
...                    "total_assets_y1": [1.0, 1.0, 1.0, 1.0]})
>>> df.select(size_class(df)).to_series().to_list()
['medium', 'small', 'small', 'not_applicable']
"""

from __future__ import annotations

import functools

import polars as pl

from tiering.codes import industries
from tiering.compile import tol
from tiering.pack_model import SIZE_LABELS, Scope, SizePack

__all__ = [
    "METRIC_COLUMNS",
    "SIZE_CLASS",
    "SIZE_CLASSES",
    "scope_match",
    "size_class",
    "size_class_expr",
    "size_sector_table",
]

SIZE_CLASSES = tuple(SIZE_LABELS)
SIZE_CLASS = pl.Enum(list(SIZE_CLASSES))
METRIC_COLUMNS = {
    "employees": "employees_y1",
    "revenue": "revenue_y1",
    "total_assets": "total_assets_y1",
}
_NA = "_not_applicable"


def scope_match(scopes: list[tuple[str, Scope]]) -> pl.DataFrame:
    """Assign every GB/T 4754 小类 the id of its most specific matching scope (null if none)."""
    ind = industries().select("code", "section", "division", "group")
    best: dict[str, tuple[int, str]] = {}
    for code, section, division, group in ind.iter_rows():
        for owner, sc in scopes:
            for rank, hit in (
                (4, code in sc.classes),
                (3, group in sc.groups),
                (2, division in sc.divisions),
                (1, section in sc.sections),
            ):
                if hit and rank > best.get(code, (0, ""))[0]:
                    best[code] = (rank, owner)
    return pl.DataFrame(
        {"code": list(best), "owner": [v[1] for v in best.values()]},
        schema={"code": pl.String, "owner": pl.String},
    )


@functools.cache
def size_sector_table(pack: SizePack | None = None) -> pl.DataFrame:
    """``code → size_sector`` for all 1382 小类 (``_not_applicable`` outside every sector)."""
    pack = pack or _pack()
    scopes = [(s.id, s.scope) for s in pack.sectors] + [(_NA, pack.out_of_scope)]
    m = scope_match(scopes)
    return (
        industries()
        .select("code")
        .join(m, on="code", how="left")
        .select("code", size_sector=pl.col("owner").fill_null(_NA))
    )


def _pack() -> SizePack:
    from tiering.pack_loader import load_pack

    p = load_pack("sme-size-2011")
    assert isinstance(p, SizePack)
    return p


def size_class_expr(sector: pl.Expr, pack: SizePack | None = None) -> pl.Expr:
    """Size class from a ``size_sector`` expression and the metric columns (Enum dtype)."""
    pack = pack or _pack()
    chain = pl.when(sector.is_null()).then(pl.lit("unknown"))
    chain = chain.when(sector == _NA).then(pl.lit("not_applicable"))
    for s in pack.sectors:
        cols = [pl.col(METRIC_COLUMNS[m]).cast(pl.Float64) for m in s.metrics]

        def reach(lines: tuple, cols: list[pl.Expr] = cols) -> pl.Expr:
            return pl.all_horizontal(
                [c >= float(x) - tol(float(x)) for c, x in zip(cols, lines, strict=True)]
            )

        cls = (
            pl.when(pl.any_horizontal([c.is_null() for c in cols]))
            .then(pl.lit("unknown"))
            .when(reach(s.large))
            .then(pl.lit("large"))
            .when(reach(s.medium))
            .then(pl.lit("medium"))
            .when(reach(s.small))
            .then(pl.lit("small"))
            .otherwise(pl.lit("micro"))
        )
        chain = chain.when(sector == s.id).then(cls)
    return chain.otherwise(pl.lit("unknown")).cast(SIZE_CLASS)


def size_class(frame: pl.DataFrame | pl.LazyFrame) -> pl.Expr:
    """Convenience for a frame with ``industry``: ``frame.select(size_class(frame))``.

    Joins are not expressions, so this maps the industry code through a literal dictionary
    (1382 entries) — fine for small frames; the engine joins instead.
    """
    table = size_sector_table()
    mapping = dict(zip(table["code"], table["size_sector"], strict=True))
    sector = pl.col("industry").replace_strict(mapping, default=None, return_dtype=pl.String)
    return size_class_expr(sector).alias("size_class")
