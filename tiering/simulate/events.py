"""Rare incidents and credit listings: what voids titles and blocks applications (EL-3, EL-4).

Why: revocation (§9) and the compliance gates need real dates, and a learned scorer must see that
shells are listed (经营异常) far more often than operating firms, that major accidents hit
manufacturing and construction, and that data fraud is found mostly among titled firms (they are
the ones audited). Rates are per active firm-year; listings carry an end date when the firm is
removed (or null while still listed at the end of the simulated window).
"""

from __future__ import annotations

import numpy as np

from tiering.simulate.population import GROUPS, Population

__all__ = ["EVENT_RATES", "REVOKING_KINDS", "step_events"]

# kind -> base yearly probability per active firm.
EVENT_RATES: dict[str, float] = {
    "abnormal_operation": 0.015,
    "serious_dishonesty": 0.0008,
    "safety_accident": 0.0001,
    "quality_accident": 0.00008,
    "environmental_accident": 0.00008,
    "tax_evasion": 0.0003,
    "data_fraud": 0.00005,
    "sci_dishonesty": 0.0001,
}
REVOKING_KINDS = (
    "serious_dishonesty",
    "safety_accident",
    "quality_accident",
    "environmental_accident",
    "tax_evasion",
    "data_fraud",
)
_HEAVY = np.array([GROUPS.index(g) for g in ("mfg_cluster", "mfg", "construction")])


def step_events(
    pop: Population,
    year: int,
    idx: np.ndarray,
    revenue: np.ndarray,
    rd: np.ndarray,
    title_level: np.ndarray,
    listed_until: np.ndarray,
    last_day: np.datetime64,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Events of ``year`` for the active firms ``idx`` (arrays: fi, kind, date, end_date).

    ``listed_until`` (per firm, datetime64; NaT = not listed) keeps a firm from being listed
    twice at once and is updated in place.
    """
    n = len(idx)
    heavy = np.isin(pop.group[idx], _HEAVY)
    shell = revenue <= 0
    lvl = title_level[idx]
    start = np.datetime64(f"{year}-01-01")
    out_fi, out_kind, out_date, out_end = [], [], [], []
    for kind, base in EVENT_RATES.items():
        p = np.full(n, base)
        if kind == "abnormal_operation":
            p = p * np.where(shell, 4.0, 1.0) * np.exp(-0.3 * pop.engagement[idx])
        elif kind == "serious_dishonesty":
            p = p * np.where(shell, 3.0, 1.0)
        elif kind in ("safety_accident", "quality_accident", "environmental_accident"):
            p = p * np.where(heavy, 4.0, 0.3)
        elif kind == "data_fraud":
            p = p + np.where(lvl >= 2, 0.002, 0.0)
        elif kind == "sci_dishonesty":
            p = p * np.where(rd > 0, 5.0, 0.1)
        hit = rng.random(n) < p
        day = start + rng.integers(0, 365, n)
        if kind in ("abnormal_operation", "serious_dishonesty"):
            lu = (
                listed_until[idx]
                if kind == "abnormal_operation"
                else np.full(n, np.datetime64("NaT"), "datetime64[D]")
            )
            hit &= np.isnat(lu) | (lu < day)
            removed = rng.random(n) < (0.6 if kind == "abnormal_operation" else 0.5)
            span = rng.integers(60, 720 if kind == "abnormal_operation" else 1095, n)
            end = np.where(removed, day + span, np.datetime64("NaT"))
            end = np.where(end > last_day, np.datetime64("NaT"), end)
            if kind == "abnormal_operation":
                listed_until[idx[hit]] = np.where(
                    np.isnat(end[hit]), np.datetime64("2999-12-31"), end[hit]
                )
        else:
            end = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
        out_fi.append(idx[hit])
        out_kind.append(np.full(int(hit.sum()), kind, dtype=object))
        out_date.append(day[hit])
        out_end.append(end[hit].astype("datetime64[D]"))
    return {
        "fi": np.concatenate(out_fi),
        "kind": np.concatenate(out_kind),
        "date": np.concatenate(out_date),
        "end_date": np.concatenate(out_end),
    }
