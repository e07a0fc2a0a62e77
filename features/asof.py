"""The assessment frame of spec §11: one row per firm "as of" an assessment date D.

Why this module is careful: every rule and every score downstream reads this row. A figure from
after D, a title that had already expired on D or the wrong year taken as 上年 silently corrupts
every decision, and no later check can see it. So the frame is point-in-time correct *by
construction*: each input is filtered to what was knowable on D before anything is joined.

What was knowable on D (Y = D.year):

- year-keyed rows (``financials``, ``ip``, ``credentials``, ``stats_roster``) of years ≤ Y−1 only;
  ``_y1`` = Y−1, ``_y2`` = Y−2, ``_y3`` = Y−3 (a year row is the state at the end of that year);
- the one exception: ``platform_score_y0`` is the year-Y platform score if its publication date
  ``platform_score_date`` ≤ D (a null date is not proof of publication → null); the year-(Y−1)
  score is also dropped if it is dated after D;
- ``recognitions`` granted ≤ D; a title is *held* on D if granted ≤ D ≤ expires and it was not
  revoked on or before D; ``<tier>_expires`` is the expiry of the held title (the latest one if
  grants overlap), null if none is held;
- ``events`` dated ≤ D: listings (经营异常, 严重失信) count while ``end_date`` is null or after D;
  incidents count if dated in (D − 3 years, D] (calendar years: 29 Feb → 28 Feb);
- firm identity: ``status`` on D is ``active`` if the firm closed after D, else the register's status.

Who is in the frame on D: every firm with ``established`` ≤ D (or unknown) that had not closed
before 1 January of Y−1. Firms that closed between then and D stay in, with their final status
(so EL-1 fails them and the 退规 model sees them leave); firms closed earlier have no 上年 at all.

Keys are trusted, not repaired: ``data_contracts`` quarantines duplicate keys before this point;
a duplicate firm or (firm, year) row that slips through raises ``polars.exceptions.ComputeError``
(join validation) when the frame is collected, rather than duplicating a firm or picking a row;
``check_keys(tables)`` names the table, key and firm for callers holding unvalidated tables.

Missing is not zero: a firm without a financial row for Y−1 gets nulls, never 0. Absent rows of
*registers* mean "none": no recognition row → title not held, no event → flag false, and a firm
missing from a published 四上 roster of Y−1 → ``in_four_above`` false. A register table that is
absent altogether makes its columns null (unknown), as does an unpublished roster year.

>>> from datetime import date
>>> firms = pl.DataFrame({"uscc": ["A"], "name": ["甲"], "established": [date(2015, 1, 1)],
...     "status": ["active"], "district": ["420106"], "industry": ["3911"],
...     "registered_capital": [500.0]})
>>> fin = pl.DataFrame({"uscc": ["A", "A"], "year": [2024, 2025], "revenue": [1200.0, 9e9]})
>>> tables = {"firms": firms, "financials": fin}
>>> row = assessment_frame(tables, date(2025, 6, 30), strict=False).collect()
>>> row["revenue_y1"].item(), row["revenue_y2"].item(), row["held_innovative"].item()
(1200.0, None, None)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import polars as pl

from data_contracts.tables import TABLES
from tiering.errors import TieringError
from tiering.frame import FRAME_COLUMNS, TIERS

__all__ = [
    "EXTRA_COLUMNS",
    "HISTORY_COLUMNS",
    "INCIDENT_KINDS",
    "LISTING_KINDS",
    "YEAR_COLUMNS",
    "Tables",
    "assessment_frame",
    "check_keys",
    "input_table",
]

Tables = Mapping[str, pl.LazyFrame | pl.DataFrame]

# Listings (start and end date) and dated incidents (count for 3 years: EL-4, §9 revocation).
LISTING_KINDS = ("abnormal_operation", "serious_dishonesty")
INCIDENT_KINDS = (
    "safety_accident",
    "quality_accident",
    "environmental_accident",
    "tax_evasion",
    "data_fraud",
)

_FIN = (
    "revenue",
    "main_revenue",
    "total_costs",
    "net_profit",
    "total_assets",
    "total_liabilities",
    "employees",
    "rd_expense",
    "rd_staff",
    "equity_financing",
)
_CRED_Y1 = (
    "high_tech",
    "honor_ip_demo",
    "rd_institution_level",
    "digital_level",
    "quality_award_level",
    "iso9001",
    "own_brand",
    "standard_led_year",
    "sci_award_level",
    "sci_award_rank",
    "sci_award_year",
    "maker_china_rank",
    "maker_china_year",
    "niche_years",
    "niche_domain",
    "sei_product",
    "market_share_domestic",
    "market_share_global",
    "domestic_rank",
    "global_rank",
    "market_position_ok",
    "key_chain_link",
    "lg_domain_2022",
    "lg_domain_2026",
    "years_in_field",
    "new_product",
    "local_feature_points",
    "construction_qualified",
    "real_estate_active",
)

# frame column -> (table, source column, years before Y). The §11 year columns.
YEAR_COLUMNS: dict[str, tuple[str, str, int]] = {
    **{
        f"{c}_y{k}": ("financials", c, k)
        for c in _FIN
        for k in (1, 2, 3)
        if f"{c}_y{k}" in {col.name for col in FRAME_COLUMNS}
    },
    **{
        c: ("ip", c, 1)
        for c in ("class1_ip", "class1_self_developed", "class1_high_value", "class2_ip")
    },
    **{c: ("credentials", c, 1) for c in _CRED_Y1},
    "standards_count_y1": ("credentials", "standards_count", 1),  # -> standards_participation
}

# Extra history for the learned scorer (``history=True``); never read by the rules.
HISTORY_COLUMNS: dict[str, tuple[str, str, int]] = {
    "revenue_y4": ("financials", "revenue", 4),
    "main_revenue_y4": ("financials", "main_revenue", 4),
    "rd_expense_y3": ("financials", "rd_expense", 3),
    "rd_staff_y2": ("financials", "rd_staff", 2),
    "employees_y2": ("financials", "employees", 2),
    "employees_y3": ("financials", "employees", 3),
    "total_assets_y2": ("financials", "total_assets", 2),
    "total_liabilities_y2": ("financials", "total_liabilities", 2),
    "net_profit_y2": ("financials", "net_profit", 2),
    "net_profit_y3": ("financials", "net_profit", 3),
    "total_costs_y2": ("financials", "total_costs", 2),
    "export_revenue_y1": ("financials", "export_revenue", 1),
    "class1_ip_y2": ("ip", "class1_ip", 2),
    "class2_ip_y2": ("ip", "class2_ip", 2),
    "invention_patents_y1": ("ip", "invention_patents", 1),
    "in_four_above_y2": ("stats_roster", "in_roster", 2),
}

# Extra (non-§11) columns every frame carries; the rules ignore them, models and exports use them.
EXTRA_COLUMNS: dict[str, pl.DataType] = {
    "as_of": pl.Date(),
    "zone": pl.String(),
    "street": pl.String(),
    "established": pl.Date(),
    "closed": pl.Date(),
    "age_years": pl.Float64(),
    "registered_capital": pl.Float64(),
    "four_above_kind_y1": pl.String(),
    **{f"{t}_granted": pl.Date() for t in TIERS},
    **{f"{t}_first_granted": pl.Date() for t in TIERS},
    "title_revoked_3y": pl.Boolean(),
    "sci_dishonesty_3y": pl.Boolean(),
}


def input_table(
    tables: Tables, name: str, columns: tuple[str, ...], *, strict: bool = True
) -> pl.LazyFrame | None:
    """One input table, lazily, with ``columns`` cast to their contract dtypes.

    Why: inputs arrive as parquet, CSV or a what-if body, with Int32 years, datetime dates or
    optional columns left out. Required columns missing are a contract breach (clear error naming
    table and column) unless ``strict`` is off; optional ones become typed nulls. Returns None if
    the table is absent.
    """
    if name not in tables or tables[name] is None:
        return None
    spec = {c.name: c for c in TABLES[name].columns}
    lf = tables[name].lazy()
    have = lf.collect_schema()
    exprs = []
    for col in columns:
        c = spec[col]
        if col in have:
            exprs.append(pl.col(col).cast(c.dtype))
        elif c.required and strict:
            raise TieringError(
                f"输入表 {name}（{TABLES[name].label}）缺少必需列 {col}（{c.label}）",
                field=col,
                rule=f"contract:{name}",
            )
        else:
            exprs.append(pl.lit(None, dtype=c.dtype).alias(col))
    return lf.select(exprs)


def _year_slices(
    tables: Tables, wanted: Mapping[str, tuple[str, str, int]], y: int, strict: bool
) -> list[tuple[pl.LazyFrame | None, dict[str, pl.DataType]]]:
    """Per (table, year) one slice ``uscc + renamed columns`` of the rows of that year."""
    groups: dict[tuple[str, int], dict[str, str]] = {}
    for out, (table, src, k) in wanted.items():
        groups.setdefault((table, k), {})[out] = src
    spec = {t: {c.name: c.dtype for c in TABLES[t].columns} for t in TABLES}
    slices = []
    for (table, k), cols in groups.items():
        dtypes = {out: spec[table][src] for out, src in cols.items()}
        lf = input_table(
            tables, table, ("uscc", "year", *sorted(set(cols.values()))), strict=strict
        )
        if lf is not None:
            lf = lf.filter(pl.col("year") == y - k).select(
                "uscc", *[pl.col(src).alias(out) for out, src in cols.items()]
            )
        slices.append((lf, dtypes))
    return slices


def _firms(tables: Tables, d: date, strict: bool) -> pl.LazyFrame:
    """The population on ``d`` with identity columns, status as on ``d`` and firm age."""
    cols = tuple(c.name for c in TABLES["firms"].columns)
    firms = input_table(tables, "firms", cols, strict=strict)
    if firms is None:
        raise TieringError("缺少企业基本信息表 firms", field="firms", rule="contract:firms")
    start_y1 = date(d.year - 1, 1, 1)
    closed_by_d = pl.col("closed").is_not_null() & (pl.col("closed") <= d)
    return firms.filter(
        (pl.col("established").is_null() | (pl.col("established") <= d))
        & (pl.col("closed").is_null() | (pl.col("closed") >= start_y1))
    ).with_columns(
        status=pl.when(pl.col("closed").is_not_null() & ~closed_by_d)
        .then(pl.lit("active"))
        .otherwise(pl.col("status")),
        closed=pl.when(closed_by_d).then(pl.col("closed")),
        age_years=(pl.lit(d) - pl.col("established")).dt.total_days() / 365.25,
        as_of=pl.lit(d),
    )


def _titles(tables: Tables, d: date, strict: bool) -> pl.LazyFrame | None:
    """Titles held on ``d`` (any level), their expiry and grant dates, and recent revocations."""
    rec = input_table(
        tables, "recognitions", ("uscc", "tier", "granted", "expires", "revoked"), strict=strict
    )
    if rec is None:
        return None
    three_years_ago = pl.lit(d).dt.offset_by("-3y")
    valid = (pl.col("expires") >= d) & (pl.col("revoked").is_null() | (pl.col("revoked") > d))
    aggs: list[pl.Expr] = []
    for t in TIERS:
        is_t = pl.col("tier") == t
        aggs += [
            (is_t & valid).any().alias(f"held_{t}"),
            pl.col("expires").filter(is_t & valid).max().alias(f"{t}_expires"),
            pl.col("granted").filter(is_t & valid).max().alias(f"{t}_granted"),
            pl.col("granted").filter(is_t).min().alias(f"{t}_first_granted"),
        ]
    revoked_3y = pl.col("revoked").is_not_null() & (pl.col("revoked") <= d)
    aggs.append(
        (revoked_3y & (pl.col("revoked") > three_years_ago)).any().alias("title_revoked_3y")
    )
    return rec.filter(pl.col("granted") <= d).group_by("uscc").agg(aggs)


def _events(tables: Tables, d: date, strict: bool) -> pl.LazyFrame | None:
    """Listings in force on ``d`` and incidents in the 3 years up to ``d``."""
    ev = input_table(tables, "events", ("uscc", "kind", "date", "end_date"), strict=strict)
    if ev is None:
        return None
    listed = pl.col("end_date").is_null() | (pl.col("end_date") > d)
    recent = pl.col("date") > pl.lit(d).dt.offset_by("-3y")
    kind = pl.col("kind")
    return (
        ev.filter(pl.col("date") <= d)
        .group_by("uscc")
        .agg(
            *[((kind == k) & listed).any().alias(k) for k in LISTING_KINDS],
            (kind.is_in(INCIDENT_KINDS) & recent).any().alias("incident_3y"),
            ((kind == "data_fraud") & recent).any().alias("fraud_3y"),
            ((kind == "sci_dishonesty") & recent).any().alias("sci_dishonesty_3y"),
        )
    )


def _platform(tables: Tables, d: date, strict: bool) -> pl.LazyFrame | None:
    """Platform scores of Y (published by ``d``) and of Y−1 (unless published after ``d``)."""
    cred = input_table(
        tables,
        "credentials",
        ("uscc", "year", "platform_score", "platform_score_date"),
        strict=strict,
    )
    if cred is None:
        return None
    y = d.year
    date_ = pl.col("platform_score_date")
    known = (pl.col("year") == y - 1) & (date_.is_null() | (date_ <= d))
    known_y0 = (pl.col("year") == y) & date_.is_not_null() & (date_ <= d)
    return (
        cred.filter(known | known_y0)
        .group_by("uscc")
        .agg(
            pl.col("platform_score").filter(pl.col("year") == y).last().alias("platform_score_y0"),
            pl.col("platform_score")
            .filter(pl.col("year") == y - 1)
            .last()
            .alias("platform_score_y1"),
        )
    )


def _roster(
    tables: Tables, year: int, strict: bool
) -> tuple[pl.LazyFrame | None, pl.LazyFrame | None]:
    """The 四上 roster rows of ``year``, and a one-row frame saying whether it was published."""
    ros = input_table(
        tables, "stats_roster", ("uscc", "year", "in_roster", "four_above_kind"), strict=strict
    )
    if ros is None:
        return None, None
    rows = ros.filter(pl.col("year") == year)
    published = rows.select((pl.len() > 0).alias("_roster_published"))
    slice_ = rows.select(
        "uscc", pl.col("in_roster").alias("in_four_above"), four_above_kind_y1="four_above_kind"
    )
    return slice_, published


def check_keys(tables: Tables) -> None:
    """Raise a ``TieringError`` naming table, key and firm for the first duplicated key.

    Why: ``assessment_frame`` trusts keys (validated tables) and a duplicate only surfaces as a
    polars join-validation error at collect time. Callers holding unvalidated tables (scripts,
    notebooks) run this first to get an error a clerk can act on. Eager: reads every key.

    >>> check_keys({"firms": pl.DataFrame({"uscc": ["A", "A"]})})
    Traceback (most recent call last):
    tiering.errors.TieringError: 表 firms（企业基本信息（工商登记））主键 (uscc) 重复：A
    """
    for name, frame in tables.items():
        if name not in TABLES or frame is None:
            continue
        spec = TABLES[name]
        key = list(spec.key)
        dup = (
            frame.lazy()
            .group_by(key)
            .agg(pl.len().alias("_n"))
            .filter(pl.col("_n") > 1)
            .sort(key)
            .head(1)
            .collect()
        )
        if dup.height:
            row = dup.row(0, named=True)
            value = ", ".join(str(row[k]) for k in key)
            raise TieringError(
                f"表 {name}（{spec.label}）主键 ({', '.join(key)}) 重复：{value}",
                field=",".join(key),
                value=value,
                rule=f"contract:{name}:key",
                uscc=row.get("uscc"),
            )


def _null_columns(dtypes: Mapping[str, pl.DataType]) -> list[pl.Expr]:
    return [pl.lit(None, dtype=t).alias(n) for n, t in dtypes.items()]


def assessment_frame(
    tables: Tables, as_of: date, *, history: bool = False, strict: bool = True
) -> pl.LazyFrame:
    """The §11 assessment frame as of ``as_of``: one row per firm of the population on that date.

    ``tables`` maps table names of ``data_contracts.tables.TABLES`` to (lazy) frames; only
    ``firms`` is mandatory. Output: every ``tiering.frame.FRAME_COLUMNS`` column in contract
    order and dtype, then ``EXTRA_COLUMNS`` (and ``HISTORY_COLUMNS`` if ``history``), sorted by
    ``uscc`` so the same inputs always give the same bytes. ``strict=False`` accepts tables
    lacking required columns (hand-built firms, what-if bodies) and reads those columns as null.
    """
    d = as_of
    # Every input slice is joined to the key column alone, in population order, and the aligned
    # results are put side by side: each join copies only its own columns (chained left joins
    # would re-copy the ever wider frame at every step).
    population = _firms(tables, d, strict).sort("uscc")
    keys = population.select("uscc")
    parts: list[pl.LazyFrame] = [population]
    nulls: dict[str, pl.DataType] = {}

    def attach(right: pl.LazyFrame, validate: str = "m:1") -> None:
        joined = keys.join(right, on="uscc", how="left", validate=validate, maintain_order="left")
        parts.append(joined.drop("uscc"))

    wanted = dict(YEAR_COLUMNS)
    if history:
        wanted |= {k: v for k, v in HISTORY_COLUMNS.items() if v[0] != "stats_roster"}
    # Keys are unique after validation (data_contracts); a breach must fail, never duplicate a
    # firm or pick a row at random. The first keyed join checks both sides ("1:1"), the rest the
    # right side ("m:1"): cheaper than deduplicating, and a duplicate raises at collect time.
    checked = "1:1"
    for lf, dtypes in _year_slices(tables, wanted, d.year, strict):
        if lf is None:
            nulls |= dtypes
        else:
            attach(lf, checked)
            checked = "m:1"
    if checked == "1:1":  # no year table given: still prove the firms key unique
        attach(keys, "1:1")

    titles = _titles(tables, d, strict)
    title_cols = {
        **{f"held_{t}": pl.Boolean() for t in TIERS},
        **{f"{t}_{s}": pl.Date() for t in TIERS for s in ("expires", "granted", "first_granted")},
        "title_revoked_3y": pl.Boolean(),
    }
    fill_false: list[str] = []
    if titles is None:
        nulls |= title_cols
    else:
        attach(titles)
        fill_false += [c for c, t in title_cols.items() if t == pl.Boolean()]

    events = _events(tables, d, strict)
    event_cols = [*LISTING_KINDS, "incident_3y", "fraud_3y", "sci_dishonesty_3y"]
    if events is None:
        nulls |= dict.fromkeys(event_cols, pl.Boolean())
    else:
        attach(events)
        fill_false += event_cols

    platform = _platform(tables, d, strict)
    if platform is None:
        nulls |= dict.fromkeys(("platform_score_y0", "platform_score_y1"), pl.Float64())
    else:
        attach(platform)

    roster_specs = [(1, "in_four_above", "four_above_kind_y1")]
    if history:
        roster_specs.append((2, "in_four_above_y2", None))
    for k, flag, kind in roster_specs:
        roster, published = _roster(tables, d.year - k, strict)
        if roster is None or published is None:
            nulls |= {flag: pl.Boolean(), **({kind: pl.String()} if kind else {})}
            continue
        roster = roster.rename({"in_four_above": flag})
        if kind is None:
            roster = roster.drop("four_above_kind_y1")
        absent_means_off = pl.when(pl.col("_roster_published")).then(pl.col(flag).fill_null(False))
        joined = keys.join(roster, on="uscc", how="left", validate="m:1", maintain_order="left")
        parts.append(
            joined.join(published, how="cross", maintain_order="left")
            .with_columns(absent_means_off)
            .drop("uscc", "_roster_published")
        )

    frame = pl.concat(parts, how="horizontal").with_columns(
        pl.col(fill_false).fill_null(False), *_null_columns(nulls)
    )
    frame = frame.with_columns(standards_participation=pl.col("standards_count_y1") > 0)
    out = [pl.col(c.name).cast(c.dtype) for c in FRAME_COLUMNS]
    out += [pl.col(n).cast(t) for n, t in EXTRA_COLUMNS.items()]
    if history:
        spec = {t: {c.name: c.dtype for c in TABLES[t].columns} for t in TABLES}
        out += [pl.col(n).cast(spec[t][s]) for n, (t, s, _) in HISTORY_COLUMNS.items()]
        out.append(pl.col("standards_count_y1").cast(pl.Int64()))
    return frame.select(out)
