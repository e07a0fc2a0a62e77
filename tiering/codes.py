"""Code tables shipped with the package: GB/T 4754-2017 industries, 战略性新兴产业 (2018),
Wuhan districts (GB/T 2260) and streets with their functional zone.

Why here: an installed wheel must work without ``../shared``; the CSVs under
``tiering/reference/`` are copies of the project's reference files (see ``SOURCES.md`` there).
Tables load once per process (``functools.cache``) as polars frames.

>>> industry_name("3973")
'集成电路制造'
>>> district_name("420111")
'洪山区'
>>> sorted(WUHAN_DISTRICTS)[:2]
['420102', '420103']
"""

from __future__ import annotations

import functools
from importlib import resources

import polars as pl

from tiering.errors import InvalidCodeError

__all__ = [
    "WUHAN_DISTRICTS",
    "ZONES",
    "district_name",
    "districts",
    "industries",
    "industry_name",
    "map_pre2019_industry",
    "reference_path",
    "streets",
    "validate_industry",
]

# 东湖新技术开发区 and 武汉经开区 manage streets carved out of county-level districts; NBS gives
# those streets codes in dedicated ranges (08x under 洪山/江夏 for 东湖高新, 07x under 蔡甸 for
# 经开区, 49x for 东湖生态旅游风景区). The zone is an optional attribute, never a district.
ZONES = {
    "donghu_hitech": "东湖新技术开发区",
    "wedz": "武汉经济技术开发区",
    "donghu_scenic": "东湖生态旅游风景区",
}


def reference_path(name: str):
    """Path-like handle of a shipped reference CSV."""
    return resources.files("tiering") / "reference" / name


def _read(name: str) -> pl.DataFrame:
    with resources.as_file(reference_path(name)) as path:
        return pl.read_csv(path, infer_schema=False)


@functools.cache
def industries() -> pl.DataFrame:
    """One row per GB/T 4754-2017 小类 (1382): code, name, section, division, group, SEI flags.

    ``sei`` is membership in 战略性新兴产业分类(2018); ``sei_partial`` is true when every mapping
    of the code carries the NBS ``*`` mark (only part of the 小类 belongs), which the rules turn
    into ``manual_review`` unless the firm's ``sei_product`` flag settles it.
    """
    codes = _read("gbt4754_2017.csv").filter(pl.col("level") == "4")
    sei = (
        _read("sei2018_gbt4754_map.csv")
        .group_by("gbt4754_code")
        .agg(
            sei_partial=(pl.col("partial_star") == "Y").all(),
            sei_codes=pl.col("sei_code").unique().sort().str.join(","),
        )
        .rename({"gbt4754_code": "code"})
    )
    return (
        codes.select(
            "code",
            "name",
            "section",
            division=pl.col("code").str.slice(0, 2),
            group=pl.col("code").str.slice(0, 3),
        )
        .join(sei, on="code", how="left")
        .with_columns(
            sei=pl.col("sei_partial").is_not_null(),
            sei_partial=pl.col("sei_partial").fill_null(False),
        )
        .sort("code")
    )


@functools.cache
def _industry_names() -> dict[str, str]:
    return dict(industries().select("code", "name").iter_rows())


def industry_name(code: str) -> str:
    """Chinese name of a 小类 code (raises :class:`InvalidCodeError` when unknown)."""
    return _industry_names()[validate_industry(code)]


def validate_industry(code: str) -> str:
    """Return the 4-digit 小类 code or raise naming the bad value."""
    if code not in _industry_names():
        raise InvalidCodeError(
            f"行业代码“{code}”不是GB/T 4754-2017（含第1号修改单）的小类代码",
            field="industry",
            value=code,
            rule="CODE-INDUSTRY",
        )
    return code


def map_pre2019_industry(expr: pl.Expr) -> pl.Expr:
    """Map codes recorded before the 2019 amendment (9231→9232, 9232→9233)."""
    return expr.replace({"9232": "9233", "9231": "9232"})


@functools.cache
def districts() -> pl.DataFrame:
    """Wuhan's 13 county-level districts (GB/T 2260): code, name."""
    return (
        _read("gbt2260_hubei.csv")
        .filter((pl.col("parent") == "420100") & (pl.col("level") == "3"))
        .select("code", "name")
        .sort("code")
    )


WUHAN_DISTRICTS: frozenset[str] = frozenset()  # filled below (needs the CSV)


def district_name(code: str) -> str:
    """Chinese name of a Wuhan district code (raises when the code is not one of the 13)."""
    names = dict(districts().iter_rows())
    if code not in names:
        raise InvalidCodeError(
            f"行政区划代码“{code}”不是武汉市13个区之一（420102–420117）",
            field="district",
            value=code,
            rule="CODE-DISTRICT",
        )
    return names[code]


@functools.cache
def streets() -> pl.DataFrame:
    """Wuhan's township-level units with their district and functional ``zone`` (null if none)."""
    mid = pl.col("code").str.slice(6, 2)
    return (
        _read("wuhan_towns_nbs2023.csv")
        .select("code", "name", district=pl.col("parent"))
        .with_columns(
            zone=pl.when(mid == "08")
            .then(pl.lit("donghu_hitech"))
            .when(mid == "07")
            .then(pl.lit("wedz"))
            .when(mid == "49")
            .then(pl.lit("donghu_scenic"))
            .otherwise(None)
        )
        .sort("code")
    )


WUHAN_DISTRICTS = frozenset(districts()["code"].to_list())
