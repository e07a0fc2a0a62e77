"""Yearly tax-side figures of every active firm: revenue to R&D staff, entry and exit.

Why this shape: the rules read levels (revenue ≥ 1000, R&D ≥ 100), ratios (R&D/revenue, main
revenue share, debt ratio) and growth over two years, so the generator must get all three right at
once. Revenue is log-normal-with-a-fat-tail (Student t) around a firm anchor that rises with age
and differs by industry group; growth is persistent (AR(1)) with city-wide year shocks (2020
hit Wuhan first and hardest) and industry-group shocks, plus a pull back to the anchor so the
cross-section stays stationary. R&D is done by a minority, concentrated in the clusters, with
intensity tied to a latent technology trait and raised by held titles (so history matters).
Hidden champions (``Population.lead``) are larger, grow faster, spend more on R&D, earn more of
their revenue from the main product and carry less debt — together, as such firms do.
Money in 万元 rounded to 0.01; every identity the contracts check holds by construction
(main_revenue ≤ revenue, rd_staff ≤ employees, assets and liabilities ≥ 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tiering.simulate.population import GROUPS, Population

__all__ = ["GROUP_PARAMS", "YEAR_SHOCKS", "FinState", "init_financials", "step_financials"]

# mu: ln revenue (万元) of a typical 8-year-old firm; sigma: spread of firm anchors; rpe: revenue
# per employee (万元); turnover: revenue / assets; margin: pre-tax margin; rd_prob / rd_int: share
# doing R&D and their typical R&D intensity; main_a/main_b: Beta of the main-revenue share;
# export: share of exporters.
GROUP_PARAMS: dict[str, dict[str, float]] = {
    "mfg_cluster": dict(mu=np.log(230), sigma=1.55, rpe=60, turnover=0.9, margin=0.06, rd_prob=0.60, rd_int=0.055, main_a=9, main_b=1.0, export=0.25),
    "mfg": dict(mu=np.log(170), sigma=1.5, rpe=70, turnover=1.0, margin=0.05, rd_prob=0.40, rd_int=0.040, main_a=8, main_b=1.2, export=0.15),
    "software": dict(mu=np.log(80), sigma=1.5, rpe=30, turnover=1.2, margin=0.08, rd_prob=0.60, rd_int=0.090, main_a=7, main_b=1.3, export=0.03),
    "sci": dict(mu=np.log(55), sigma=1.5, rpe=30, turnover=1.2, margin=0.08, rd_prob=0.35, rd_int=0.070, main_a=6, main_b=1.6, export=0.02),
    "wholesale": dict(mu=np.log(130), sigma=1.6, rpe=200, turnover=2.0, margin=0.02, rd_prob=0.01, rd_int=0.010, main_a=6, main_b=1.5, export=0.08),
    "retail": dict(mu=np.log(35), sigma=1.4, rpe=40, turnover=2.0, margin=0.03, rd_prob=0.005, rd_int=0.010, main_a=7, main_b=1.2, export=0.0),
    "hospitality": dict(mu=np.log(25), sigma=1.3, rpe=12, turnover=1.0, margin=0.04, rd_prob=0.002, rd_int=0.010, main_a=8, main_b=1.2, export=0.0),
    "construction": dict(mu=np.log(150), sigma=1.6, rpe=40, turnover=0.8, margin=0.04, rd_prob=0.05, rd_int=0.020, main_a=8, main_b=1.5, export=0.0),
    "real_estate": dict(mu=np.log(100), sigma=2.0, rpe=60, turnover=0.2, margin=0.10, rd_prob=0.0, rd_int=0.010, main_a=8, main_b=1.5, export=0.0),
    "finance": dict(mu=np.log(60), sigma=1.8, rpe=50, turnover=0.1, margin=0.15, rd_prob=0.02, rd_int=0.020, main_a=6, main_b=2.0, export=0.0),
    "transport": dict(mu=np.log(80), sigma=1.4, rpe=30, turnover=1.0, margin=0.04, rd_prob=0.02, rd_int=0.020, main_a=8, main_b=1.5, export=0.02),
    "services": dict(mu=np.log(28), sigma=1.4, rpe=15, turnover=1.0, margin=0.05, rd_prob=0.02, rd_int=0.020, main_a=7, main_b=1.5, export=0.0),
}  # fmt: skip
_P = {k: np.array([GROUP_PARAMS[g][k] for g in GROUPS]) for k in GROUP_PARAMS["mfg"]}
SIZE_OFFSET = -0.10  # global calibration of firm size (ln), tuned to ~18 k 四上 per million
LEAD_SIZE = 0.6  # ln size per unit of hidden-champion strength
LEAD_GROWTH = 0.04  # anchor growth per year of age (first 25) per unit of that strength

# City-wide growth shocks (ln points). 2020: the lockdown year; 2021: the rebound.
YEAR_SHOCKS: dict[int, float] = {2020: -0.16, 2021: 0.13, 2022: -0.02, 2023: 0.04, 2024: 0.02}
_DEFAULT_SHOCK = 0.02
_TECH_GROUPS = np.array([GROUPS.index(g) for g in ("mfg_cluster", "software", "sci")])


@dataclass
class FinState:
    """Per-firm dynamic state of the financial process."""

    anchor_effect: np.ndarray  # permanent firm size effect (ln)
    log_rev: np.ndarray
    growth: np.ndarray
    main_share: np.ndarray
    margin: np.ndarray
    debt: np.ndarray
    rpe_effect: np.ndarray
    turnover_effect: np.ndarray
    rd_doer: np.ndarray
    rd_effect: np.ndarray
    exporter: np.ndarray
    export_share: np.ndarray
    started: np.ndarray  # bool: firm has entered the process


def _anchor(pop: Population, st: FinState, year: int, idx: np.ndarray) -> np.ndarray:
    age = np.maximum(year - pop.est_year[idx], 0)
    climb = LEAD_GROWTH * pop.lead[idx] * np.minimum(age, 25)  # leaders keep growing for decades
    return (
        _P["mu"][pop.group[idx]] + SIZE_OFFSET + 0.5 * (np.log1p(age) - np.log(9))
        + st.anchor_effect[idx] + climb
    )  # fmt: skip


def init_financials(pop: Population, rng: np.random.Generator) -> FinState:
    """Draw the permanent traits; ``log_rev`` is set when a firm enters (see step)."""
    n = pop.n
    g = pop.group
    t5 = np.clip(rng.standard_t(5, n) * 0.75, -5.0, 5.0)
    h = pop.lead
    anchor_effect = _P["sigma"][g] * (0.85 * t5 + 0.3 * pop.quality) + LEAD_SIZE * h
    rd_p = np.clip(_P["rd_prob"][g] * np.exp(0.8 * pop.tech - 0.5 + 0.6 * t5 + 2.0 * h), 0, 0.97)
    main_share = rng.beta(_P["main_a"][g], _P["main_b"][g])
    exp_p = _P["export"][g]
    return FinState(
        anchor_effect=anchor_effect,
        log_rev=np.zeros(n),
        growth=np.zeros(n),
        main_share=1.0 - (1.0 - main_share) * np.exp(-1.2 * h),
        margin=np.clip(
            _P["margin"][g] + 0.06 * rng.standard_normal(n) + 0.02 * pop.quality, -0.3, 0.4
        ),
        debt=np.clip(rng.beta(2.6, 2.4, n) * 1.1 * np.exp(-0.25 * h), 0.02, 1.2),
        rpe_effect=0.45 * rng.standard_normal(n),
        turnover_effect=0.35 * rng.standard_normal(n),
        rd_doer=rng.random(n) < rd_p,
        rd_effect=0.5 * pop.tech + 0.35 * rng.standard_normal(n) + 0.3 * h,
        exporter=rng.random(n) < exp_p,
        export_share=rng.beta(2, 5, n),
        started=np.zeros(n, dtype=bool),
    )


def step_financials(
    pop: Population,
    st: FinState,
    year: int,
    idx: np.ndarray,
    rng: np.random.Generator,
    *,
    title_level: np.ndarray,
    high_tech: np.ndarray,
    group_shock: np.ndarray,
) -> dict[str, np.ndarray]:
    """Advance the firms ``idx`` (active in ``year``) by one year and return their figures.

    ``title_level`` (0 none … 5 champion, held at the start of the year) raises growth and R&D:
    titled firms get support money, attention and an incentive to keep their ratios up.
    """
    n = len(idx)
    g = pop.group[idx]
    anchor = _anchor(pop, st, year, idx)
    age = np.maximum(year - pop.est_year[idx], 0)
    new = ~st.started[idx]
    eps = rng.standard_normal(n)
    lvl = title_level[idx]
    title_boost = np.select([lvl >= 3, lvl == 2], [0.035, 0.015], 0.0)
    shock = YEAR_SHOCKS.get(year, _DEFAULT_SHOCK) + group_shock[g]
    gr = (
        0.3 * st.growth[idx]
        + 0.30 * np.exp(-age / 3.0)
        + shock
        + 0.03 * pop.quality[idx]
        - 0.08 * (st.log_rev[idx] - anchor)
        + 0.22 * eps
        + title_boost
    )
    start = anchor - np.where(age == 0, 0.9, 0.0) + 0.35 * rng.standard_normal(n)
    log_rev = np.where(new, start, st.log_rev[idx] + gr)
    gr = np.where(new, 0.0, gr)
    st.log_rev[idx], st.growth[idx], st.started[idx] = log_rev, gr, True

    # First-year firms report a part year; tiny shells go dormant now and then.
    est = pop.established[idx]
    frac = np.where(
        pop.est_year[idx] == year,
        (np.datetime64(f"{year}-12-31") - est).astype(int) / 365.0,
        1.0,
    )
    dormant = rng.random(n) < np.where(log_rev < np.log(20), 0.10, 0.01)
    revenue = np.where(dormant, 0.0, np.exp(log_rev) * frac)
    revenue = np.round(revenue, 2)
    share = np.clip(st.main_share[idx] + 0.03 * rng.standard_normal(n), 0.3, 1.0)
    main_revenue = np.round(revenue * share, 2)

    margin = np.clip(st.margin[idx] + 0.04 * rng.standard_normal(n) + 0.3 * gr, -0.5, 0.5)
    fixed = np.exp(rng.normal(1.5, 1.0, n))
    pretax = np.where(revenue > 0, revenue * margin, -fixed)
    total_costs = np.round(np.where(revenue > 0, revenue - pretax, fixed), 2)
    net_profit = np.round(np.where(pretax > 0, pretax * 0.85, pretax), 2)

    turnover = _P["turnover"][g] * np.exp(st.turnover_effect[idx])
    cap = pop.registered_capital[idx]
    total_assets = np.round(revenue / turnover + 0.3 * cap * rng.random(n) + 1.0, 2)
    debt = np.clip(st.debt[idx] + 0.04 * rng.standard_normal(n) - 0.2 * gr, 0.0, 1.5)
    st.debt[idx] = np.clip(0.8 * st.debt[idx] + 0.2 * debt, 0.0, 1.5)
    total_liabilities = np.round(total_assets * debt, 2)

    rpe = _P["rpe"][g] * np.exp(st.rpe_effect[idx] + 0.1 * rng.standard_normal(n))
    employees = np.where(
        revenue > 0,
        np.maximum(1, np.round(revenue / rpe)),
        rng.integers(0, 3, n),
    ).astype(np.int64)

    doer = st.rd_doer[idx] & (revenue > 0)
    boost = np.select([lvl >= 3, lvl == 2], [1.35, 1.2], 1.0) * np.where(high_tech[idx], 1.1, 1.0)
    rd_int = _P["rd_int"][g] * np.exp(st.rd_effect[idx] + 0.15 * rng.standard_normal(n)) * boost
    rd_int = np.minimum(rd_int, 0.5)
    rd_expense = np.round(np.where(doer, revenue * rd_int, 0.0), 2)
    staff_share = np.clip(rd_int * 2.5 * np.exp(0.3 * rng.standard_normal(n)), 0.02, 0.8)
    rd_staff = np.where(
        doer & (employees > 0), np.maximum(1, np.round(employees * staff_share)), 0
    ).astype(np.int64)
    rd_staff = np.minimum(rd_staff, employees)

    tech_group = np.isin(g, _TECH_GROUPS)
    p_eq = np.where(tech_group, 0.004 * np.exp(0.8 * pop.tech[idx]), 0.0003)
    p_eq = p_eq + np.select([lvl >= 3, lvl == 2], [0.04, 0.01], 0.0)
    rounds = (rng.random(n) < p_eq) & (revenue > 0)
    size = np.exp(rng.normal(np.log(1500), 1.0, n)) * (1 + np.sqrt(revenue / 5000))
    equity = np.round(np.where(rounds, size, 0.0), 2)
    export = np.round(np.where(st.exporter[idx], revenue * st.export_share[idx], 0.0), 2)
    return {
        "revenue": revenue,
        "main_revenue": main_revenue,
        "total_costs": total_costs,
        "net_profit": net_profit,
        "total_assets": total_assets,
        "total_liabilities": total_liabilities,
        "employees": employees,
        "rd_expense": rd_expense,
        "rd_staff": rd_staff,
        "equity_financing": equity,
        "export_revenue": export,
    }
