"""Placing a firm on the ladder (spec §0, §9): held, eligible and next tier; review and revocation.

Derivations (all vectorised; a null input never turns a flag on by itself):

- ``held_tier`` — the highest title held on the date (``held_<tier>``; null counts as not held),
  in ladder order 科技型 < 创新型 < 专精特新 < 小巨人 < 单项冠军.
- ``held_tech_innovative`` — holds a valid 科技型 *or* 创新型 title (the 2026 bottom rung).
- ``eligible_by_criteria`` — the highest tier whose verdict is ``met``, ignoring prerequisites.
- ``eligible_tier`` — the highest tier whose verdict is ``met`` *and* whose prerequisite title is
  held (specialized-2022: 创新型; specialized-2026: 科技型 or 创新型; little_giant: 专精特新).
- ``next_tier`` — the rung above the held one. From no title the bottom rung is 创新型 or 科技型,
  whichever verdict is closer to met (met > undetermined > unmet; tie → 创新型).
- ``revocation`` — holds a title and a revoking event is on record: serious dishonesty on the
  date, or a major accident / tax evasion / data fraud in the 3 years before it (§9).
- ``review_risk`` — a held title expiring within 12 months of the date (``<tier>_expires`` in
  [D, D + 1 year]) whose verdict under the pack its review will use (the calendar's review pack on
  the expiry date) is not ``met``; or ``revocation``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from tiering.pack_model import TIER_ORDER

__all__ = ["TIER", "held_tier", "ladder_exprs", "one_year_after"]

TIER = pl.Enum(list(TIER_ORDER))
_RUNG = {"tech_sme": 1, "innovative": 1, "specialized": 2, "little_giant": 3, "champion": 4}


def one_year_after(d: dt.date) -> dt.date:
    """Same day next year (28 Feb for 29 Feb).

    >>> one_year_after(dt.date(2024, 2, 29))
    datetime.date(2025, 2, 28)
    """
    try:
        return d.replace(year=d.year + 1)
    except ValueError:
        return d.replace(year=d.year + 1, day=28)


def _held(t: str) -> pl.Expr:
    return pl.col(f"held_{t}").fill_null(False)


def held_tier() -> pl.Expr:
    """Highest title held (Enum, null when none)."""
    chain = None
    for t in reversed(TIER_ORDER):
        chain = pl.when(_held(t)) if chain is None else chain.when(_held(t))
        chain = chain.then(pl.lit(t))
    assert chain is not None
    return chain.otherwise(None).cast(TIER)


def _highest(cond: Mapping[str, pl.Expr]) -> pl.Expr:
    chain = None
    for t in reversed(TIER_ORDER):
        if t not in cond:
            continue
        c = cond[t].fill_null(False)
        chain = pl.when(c) if chain is None else chain.when(c)
        chain = chain.then(pl.lit(t))
    if chain is None:
        return pl.lit(None, TIER)
    return chain.otherwise(None).cast(TIER)


def ladder_exprs(
    as_of: dt.date,
    verdicts: Mapping[str, str],
    prerequisites: Mapping[str, tuple[str, ...]],
    review_verdicts: Mapping[str, list[tuple[dt.date, str]]],
) -> dict[str, pl.Expr]:
    """Firm-level ladder expressions.

    ``verdicts``: tier → wide verdict column of the pack used for that tier; ``prerequisites``:
    tier → titles of which one must be held; ``review_verdicts``: tier → [(start date, verdict
    column)] of the review packs that can apply to an expiry within a year (latest start ≤ expiry
    wins).
    """
    met = {t: pl.col(c) == "met" for t, c in verdicts.items()}
    prereq_ok = {
        t: pl.any_horizontal([_held(p) for p in prerequisites.get(t, ())])
        if prerequisites.get(t)
        else pl.lit(True)
        for t in verdicts
    }
    held = held_tier()
    rung = held.cast(pl.String).replace_strict(_RUNG, default=0, return_dtype=pl.Int8)

    def closeness(t: str) -> pl.Expr:
        if t not in verdicts:
            return pl.lit(-1)
        v = pl.col(verdicts[t]).cast(pl.String)
        return v.replace_strict({"met": 2, "undetermined": 1, "unmet": 0}, default=-1)

    bottom = (
        pl.when(closeness("tech_sme") > closeness("innovative"))
        .then(pl.lit("tech_sme"))
        .otherwise(pl.lit("innovative"))
    )
    next_tier = (
        pl.when(rung == 0)
        .then(bottom)
        .when(rung == 1)
        .then(pl.lit("specialized"))
        .when(rung == 2)
        .then(pl.lit("little_giant"))
        .when(rung == 3)
        .then(pl.lit("champion"))
        .otherwise(None)
        .cast(TIER)
    )
    any_held = pl.any_horizontal([_held(t) for t in TIER_ORDER])
    events = pl.any_horizontal(
        [pl.col("serious_dishonesty"), pl.col("incident_3y"), pl.col("fraud_3y")]
    )
    revocation = any_held & events
    horizon = one_year_after(as_of)
    risks = []
    for t, options in review_verdicts.items():
        exp = pl.col(f"{t}_expires")
        due = (exp >= pl.lit(as_of)) & (exp <= pl.lit(horizon))
        verdict = None
        for start, col in sorted(options, reverse=True):
            cond = exp >= pl.lit(start)
            verdict = pl.when(cond) if verdict is None else verdict.when(cond)
            verdict = verdict.then(pl.col(col).cast(pl.String))
        if verdict is None:
            continue
        not_met = verdict.otherwise(None) != "met"
        risks.append(_held(t) & due & not_met)
    review_risk = pl.any_horizontal([*risks, revocation]) if risks else revocation
    return {
        "held_tier": held,
        "held_tech_innovative": _held("tech_sme") | _held("innovative"),
        "eligible_tier": _highest({t: met[t] & prereq_ok[t] for t in verdicts}),
        "eligible_by_criteria": _highest(met),
        "next_tier": next_tier,
        "review_risk": review_risk,
        "revocation": revocation,
    }
