"""Next-year binary targets, defined from the registers exactly as staff would count them.

For a target year Y the features are frozen as of D = 1 January Y (everything knowable then:
figures of Y−1 and earlier, titles held on D, the 四上 roster of Y−1). The outcome is what happens
during Y:

=============  ====================================  =========================================
target         at risk (population of the model)     positive
=============  ====================================  =========================================
innovative     firms not holding the title on D      a grant of the title dated in year Y
specialized    firms not holding the title on D      a grant of the title dated in year Y
little_giant   firms not holding the title on D      a grant of the title dated in year Y
upsize (小进规) not on the 四上 roster of Y−1          on the 四上 roster of Y
delist (退规)   on the 四上 roster of Y−1              not on the 四上 roster of Y
=============  ====================================  =========================================

A grant in Y to a firm whose earlier title had lapsed before D counts (the firm did not hold it on
D). ``champion`` (制造业单项冠军) has only a handful of positives in a city: it is served by the rules
only (``RULES_ONLY``) and every output says so.

The roster of Y is decided on the figures of Y−1 (spec §8); a year whose roster is not published
has no 小进规/退规 outcome, so those targets are null (unknown), never 0, for that year.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import polars as pl

__all__ = [
    "RULES_ONLY",
    "RULES_ONLY_NOTE",
    "TARGETS",
    "TARGET_LABELS",
    "TIER_TARGETS",
    "make_targets",
]

TIER_TARGETS: tuple[str, ...] = ("innovative", "specialized", "little_giant")
TARGETS: tuple[str, ...] = (*TIER_TARGETS, "upsize", "delist")
RULES_ONLY: tuple[str, ...] = ("champion",)
RULES_ONLY_NOTE = "制造业单项冠军正样本过少，不建模型，仅按规则判定。"

TARGET_LABELS: dict[str, str] = {
    "innovative": "新获创新型中小企业",
    "specialized": "新获专精特新中小企业",
    "little_giant": "新获专精特新“小巨人”",
    "upsize": "小进规（新进入四上名录）",
    "delist": "退规（退出四上名录）",
}


def _lazy(t: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame:
    return t.lazy() if isinstance(t, pl.DataFrame) else t


def make_targets(
    population: pl.DataFrame | pl.LazyFrame,
    tables: Mapping[str, pl.LazyFrame | pl.DataFrame],
    year: int,
) -> pl.LazyFrame:
    """Add ``at_risk_<t>`` (bool) and ``y_<t>`` (Int8, null when not at risk or unknown).

    ``population`` is the assessment frame as of 1 January ``year`` (columns ``uscc``,
    ``held_<tier>``, ``in_four_above``); ``tables`` give ``recognitions`` and ``stats_roster``.

    >>> pop = pl.DataFrame({"uscc": ["A", "B", "C"], "held_innovative": [False, True, False],
    ...     "held_specialized": [False] * 3, "held_little_giant": [False] * 3,
    ...     "in_four_above": [False, True, True]})
    >>> rec = pl.DataFrame({"uscc": ["A"], "tier": ["innovative"],
    ...     "granted": [date(2024, 6, 1)], "expires": [date(2027, 5, 31)]})
    >>> ros = pl.DataFrame({"uscc": ["A", "B"], "year": [2024, 2024], "in_roster": [True, True]})
    >>> t = make_targets(pop, {"recognitions": rec, "stats_roster": ros}, 2024).collect()
    >>> t["y_innovative"].to_list(), t["y_upsize"].to_list(), t["y_delist"].to_list()
    ([1, None, 0], [1, None, None], [None, 0, 1])
    """
    pop = _lazy(population)
    start, end = date(year, 1, 1), date(year, 12, 31)
    out = pop.select("uscc", *[f"held_{t}" for t in TIER_TARGETS], "in_four_above")

    rec = tables.get("recognitions")
    if rec is not None:
        grants = (
            _lazy(rec)
            .filter(pl.col("granted").is_between(start, end))
            .select("uscc", "tier")
            .unique()
            .with_columns(pl.lit(1, dtype=pl.Int8).alias("_g"))
            .collect()
            .pivot(on="tier", index="uscc", values="_g")
            .lazy()
        )
        have = set(grants.collect_schema().names())
        out = out.join(
            grants.select("uscc", *[pl.col(t).alias(f"_g_{t}") for t in TIER_TARGETS if t in have]),
            on="uscc",
            how="left",
            maintain_order="left",
        )
    for t in TIER_TARGETS:
        at_risk = ~pl.col(f"held_{t}").fill_null(False)
        got = pl.col(f"_g_{t}").fill_null(0) if f"_g_{t}" in _names(out) else pl.lit(0)
        out = out.with_columns(
            at_risk.alias(f"at_risk_{t}"),
            pl.when(at_risk).then(got.cast(pl.Int8)).otherwise(None).alias(f"y_{t}"),
        )

    roster = tables.get("stats_roster")
    published = False
    if roster is not None:
        ros = _lazy(roster).filter(pl.col("year") == year)
        published = ros.select(pl.len()).collect().item() > 0
    if published:
        on = ros.filter(pl.col("in_roster")).select("uscc").unique().with_columns(_on=pl.lit(True))
        out = out.join(on, on="uscc", how="left", maintain_order="left").with_columns(
            pl.col("_on").fill_null(False)
        )
        was = pl.col("in_four_above")
        out = out.with_columns(
            (was == False).alias("at_risk_upsize"),  # noqa: E712 - null stays null (unknown)
            (was == True).alias("at_risk_delist"),  # noqa: E712
        ).with_columns(
            pl.when(pl.col("at_risk_upsize"))
            .then(pl.col("_on").cast(pl.Int8))
            .otherwise(None)
            .alias("y_upsize"),
            pl.when(pl.col("at_risk_delist"))
            .then((~pl.col("_on")).cast(pl.Int8))
            .otherwise(None)
            .alias("y_delist"),
        )
    else:
        out = out.with_columns(
            pl.lit(False).alias("at_risk_upsize"),
            pl.lit(False).alias("at_risk_delist"),
            pl.lit(None, dtype=pl.Int8).alias("y_upsize"),
            pl.lit(None, dtype=pl.Int8).alias("y_delist"),
        )
    cols = [c for t in TARGETS for c in (f"at_risk_{t}", f"y_{t}")]
    return out.select(
        "uscc",
        *[pl.col(c).fill_null(False) if c.startswith("at_risk") else pl.col(c) for c in cols],
    )


def _names(lf: pl.LazyFrame) -> list[str]:
    return lf.collect_schema().names()
