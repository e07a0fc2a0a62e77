"""IP, credentials, awards, niche position and the MIIT platform score, firm by year.

Why it is a process and not a draw: titles are granted on these facts and in turn feed them (a
titled firm files more patents, builds R&D institutions and registers on the MIIT platform), so
the state carries over years. Stocks (patents, standards) accumulate and lapse; certificates
(高新技术企业) last three years; awards keep the latest one; market shares are meaningful only for
firms that file them (R&D doers in manufacturing, software and science) and are large only for
niche leaders — a firm's share is its main revenue over the size of its niche market. The MIIT
platform score exists from 2025 only, and only for firms that engage with the platform.
Hidden champions (``Population.lead``) sit in narrower niches (so the same revenue is a larger
share), entered them earlier, file more IP, build institutions faster, run certified management
systems and own brands, and more often sit at a key link of a chain in a priority domain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from tiering.simulate.population import GROUPS, Population

__all__ = ["PLATFORM_FIRST_YEAR", "RD_LEVELS", "CapState", "init_capabilities", "step_capabilities"]

PLATFORM_FIRST_YEAR = 2025
LEAD_NICHE = 1.3  # ln narrower niche market per unit of hidden-champion strength
RD_LEVELS = np.array(["none", "below_city", "city", "provincial", "national"], dtype=object)
AWARD_LEVELS = np.array(["none", "city", "provincial", "national"], dtype=object)
SCI_LEVELS = np.array(["none", "provincial", "national"], dtype=object)
DOMAINS = np.array(["none", "foundation", "breakthrough"], dtype=object)
_G = {g: i for i, g in enumerate(GROUPS)}
_MFG = np.array([_G["mfg_cluster"], _G["mfg"]])
_FILERS = np.array([_G["mfg_cluster"], _G["mfg"], _G["software"], _G["sci"]])
_LG22 = np.zeros(len(GROUPS))
_LG22[[_G["mfg_cluster"], _G["mfg"], _G["software"], _G["sci"]]] = [0.7, 0.35, 0.5, 0.2]


def _sig(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def labels(levels: np.ndarray, codes: np.ndarray) -> pl.Series:
    """String column from integer codes (a gather on a tiny series: no per-row Python strings).

    >>> labels(RD_LEVELS, np.array([0, 4])).to_list()
    ['none', 'national']
    """
    return pl.Series(levels.tolist(), dtype=pl.String).gather(pl.Series(codes, dtype=pl.Int64))


@dataclass
class CapState:
    """Per-firm capability state (stocks and certificates)."""

    inv: np.ndarray
    c1: np.ndarray
    c1_self: np.ndarray
    c1_hv: np.ndarray
    c2: np.ndarray
    high_tech_until: np.ndarray  # last year the certificate is valid; 0 = never
    honor: np.ndarray
    rd_inst: np.ndarray  # index into RD_LEVELS
    digital: np.ndarray
    iso: np.ndarray
    quality_award: np.ndarray
    own_brand: np.ndarray
    standards: np.ndarray
    standard_led: np.ndarray  # year, 0 = never
    sci_level: np.ndarray
    sci_rank: np.ndarray
    sci_year: np.ndarray
    maker_rank: np.ndarray
    maker_year: np.ndarray
    niche_start: np.ndarray  # fractional year
    domain: np.ndarray  # index into DOMAINS
    sei_product: np.ndarray
    filer: np.ndarray
    niche_market: np.ndarray  # 万元
    china_world: np.ndarray
    rank_noise: np.ndarray
    key_chain: np.ndarray
    lg22: np.ndarray
    lg26: np.ndarray
    field_factor: np.ndarray
    new_product: np.ndarray
    local_base: np.ndarray
    construction: np.ndarray
    lead: np.ndarray  # hidden-champion strength (latent; copied from the population)
    started: np.ndarray


def init_capabilities(pop: Population, rng: np.random.Generator, rd_doer: np.ndarray) -> CapState:
    """Static traits; stocks start at zero and are seeded when a firm enters the process."""
    n, g = pop.n, pop.group
    z = np.zeros(n, dtype=np.int64)
    mfg = np.isin(g, _MFG)
    tech_like = mfg | (g == _G["software"]) | (g == _G["sci"])
    u = rng.random(n)
    h = pop.lead
    p_break = np.where(mfg, 0.06, np.where(tech_like, 0.04, 0.0)) * np.exp(0.5 * pop.tech + h)
    p_found = np.where(mfg, 0.18, np.where(tech_like, 0.05, 0.0))
    domain = np.where(u < p_break, 2, np.where(u < p_break + p_found, 1, 0)).astype(np.int8)
    market = np.exp(
        rng.normal(np.log(3e5) - 0.6 * pop.tech - 0.4 * pop.quality - LEAD_NICHE * h, 1.1, n)
    )
    market = market / np.where(domain > 0, 4.0, 1.0)
    est_frac = (
        pop.est_year
        + (pop.established - pop.established.astype("datetime64[Y]")).astype(int) / 365.0
    )
    return CapState(
        inv=z.copy(), c1=z.copy(), c1_self=z.copy(), c1_hv=z.copy(), c2=z.copy(),
        high_tech_until=z.copy(), honor=np.zeros(n, bool), rd_inst=z.copy(), digital=z.copy(),
        iso=np.zeros(n, bool), quality_award=z.copy(), own_brand=np.zeros(n, bool),
        standards=z.copy(), standard_led=z.copy(), sci_level=z.copy(), sci_rank=z.copy(),
        sci_year=z.copy(), maker_rank=z.copy(), maker_year=z.copy(),
        niche_start=est_frac + rng.exponential(1.5, n) * np.exp(-h),
        domain=domain,
        sei_product=pop.sei & (~pop.sei_partial | (rng.random(n) < 0.45)),
        filer=np.isin(g, _FILERS) & rd_doer,
        niche_market=market,
        china_world=rng.uniform(0.15, 0.6, n),
        rank_noise=rng.uniform(0.7, 1.3, n),
        key_chain=tech_like
        & (rng.random(n) < _sig(-1.2 + 0.8 * pop.tech + 1.0 * (domain > 0) + 1.5 * h)),
        lg22=rng.random(n) < 1 - (1 - _LG22[g]) * np.exp(-1.5 * h),
        lg26=rng.random(n) < (1 - (1 - np.minimum(_LG22[g] + 0.1, 1.0)) * np.exp(-1.5 * h)) * tech_like,
        field_factor=rng.uniform(0.7, 1.0, n),
        new_product=mfg & (rng.random(n) < 0.08),
        lead=h,
        local_base=np.where(g == _G["mfg_cluster"], 6.0, np.where(g == _G["software"], 4.0, 0.0))
        + np.where(pop.zone != None, 2.0, 0.0)  # noqa: E711
        + rng.normal(0, 1.5, n),
        construction=(pop.section == "E") & (rng.random(n) < 0.02),
        started=np.zeros(n, bool),
    )  # fmt: skip


def step_capabilities(
    pop: Population,
    cs: CapState,
    year: int,
    idx: np.ndarray,
    fin: dict[str, np.ndarray],
    growth: np.ndarray,
    rng: np.random.Generator,
    *,
    title_level: np.ndarray,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray | pl.Series]]:
    """Advance capabilities of firms ``idx`` in ``year``; return (ip, credentials) columns."""
    n = len(idx)
    g, tech, eng = pop.group[idx], pop.tech[idx], pop.engagement[idx]
    lvl = title_level[idx]
    h = cs.lead[idx]
    rev, rd, emp = fin["revenue"], fin["rd_expense"], fin["employees"]
    main = fin["main_revenue"]
    rd_int = np.where(rev > 0, rd / np.maximum(rev, 1e-9), 0.0)
    new = ~cs.started[idx]
    age = np.maximum(year - pop.est_year[idx], 0)
    mfg = np.isin(g, _MFG)
    tech_like = np.isin(g, _FILERS)

    # -- IP: flows driven by R&D money, raised by titles; lapses; entrants bring a stock.
    lam1 = np.where(rd > 0, 0.012 * rd**0.75 * np.exp(0.3 * tech + 0.4 * h), 0.0) * np.where(
        lvl >= 2, 1.3, 1.0
    )
    lam2 = np.where(rd > 0, 0.05 * rd**0.6, 0.0) + np.where(g == _G["software"], 0.3, 0.0)
    mult = np.where(new, np.minimum(age, 8) * 0.7 + 1.0, 1.0)
    f_inv = rng.poisson(lam1 * mult)
    f_c1 = rng.binomial(f_inv, 0.75)
    f_self = rng.binomial(f_c1, 0.9)
    inv = cs.inv[idx] - rng.binomial(cs.inv[idx], 0.04) + f_inv
    c1 = cs.c1[idx] - rng.binomial(cs.c1[idx], 0.04) + f_c1
    c1 = np.minimum(c1, inv)
    c1_self = np.minimum(cs.c1_self[idx] - rng.binomial(cs.c1_self[idx], 0.04) + f_self, c1)
    c1_hv = cs.c1_hv[idx] + rng.binomial(np.maximum(c1 - cs.c1_hv[idx], 0), 0.03 + 0.03 * new)
    c1_hv = np.minimum(c1_hv, c1)
    c2 = cs.c2[idx] - rng.binomial(cs.c2[idx], 0.08) + rng.poisson(lam2 * mult)
    cs.inv[idx], cs.c1[idx], cs.c1_self[idx], cs.c1_hv[idx], cs.c2[idx] = (
        inv,
        c1,
        c1_self,
        c1_hv,
        c2,
    )

    # -- 高新技术企业: three-year certificate for R&D-intensive firms with IP that apply.
    staff_share = np.where(emp > 0, fin["rd_staff"] / np.maximum(emp, 1), 0.0)
    ht_line = np.where(rev <= 5000, 0.05, np.where(rev <= 20000, 0.04, 0.03))
    ht_ok = (rd_int >= ht_line) & (staff_share >= 0.1) & ((c1 + c2) >= 1)
    held = cs.high_tech_until[idx] >= year
    expiring = cs.high_tech_until[idx] == year
    apply = (
        ht_ok
        & (~held | expiring)
        & (rng.random(n) < _sig(-1.6 + 0.8 * eng + np.where(new, 1.0, 0.0)))
    )
    cs.high_tech_until[idx] = np.where(apply, year + 2, cs.high_tech_until[idx])
    high_tech = cs.high_tech_until[idx] >= year
    cs.honor[idx] |= (c1 >= 8) & (rng.random(n) < 0.02)

    # -- R&D institutions climb a level at a time; bigger R&D budgets unlock higher levels.
    inst = cs.rd_inst[idx]
    gate = np.array([1, 20, 80, 300, 3000])[np.minimum(inst + 1, 4)]
    p_up = (
        np.array([0.10, 0.06, 0.04, 0.01, 0.0])[inst]
        * np.exp(0.4 * tech + 0.6 * h)
        * np.where(lvl >= 2, 1.5, 1.0)
    )
    steps = 1 + new * np.minimum(age // 3, 3)
    up = (rd >= gate) & (rng.random(n) < 1 - (1 - p_up) ** steps)
    cs.rd_inst[idx] = inst = np.where(up, np.minimum(inst + 1, 4), inst)

    # -- Management: digital maturity, QMS, brand, quality awards, standards.
    lemp = np.log1p(emp)
    d0 = np.clip(np.round(0.4 * lemp + 0.4 * tech + 0.5 * h + rng.normal(0, 0.8, n)), 0, 3)
    dig = np.where(
        new, d0, cs.digital[idx] + (rng.random(n) < 0.08 + 0.1 * (lvl >= 2) + 0.15 * (lvl >= 3))
    )
    cs.digital[idx] = dig = np.minimum(dig, 4).astype(np.int64)
    iso0 = rng.random(n) < _sig(-3.0 + 0.55 * lemp + 0.8 * mfg + h)
    p_iso = 0.03 * (emp >= 10) + 0.25 * (lvl >= 3) + 0.1 * h
    cs.iso[idx] = iso = np.where(new, iso0, cs.iso[idx] | (rng.random(n) < p_iso))
    brand0 = rng.random(n) < _sig(-2.5 + 0.3 * np.log1p(rev) + 0.5 * tech_like + h)
    p_brand = 0.02 + 0.2 * (lvl >= 3) + 0.1 * h
    cs.own_brand[idx] = brand = np.where(new, brand0, cs.own_brand[idx] | (rng.random(n) < p_brand))
    cs.key_chain[idx] |= tech_like & (lvl >= 3) & (rng.random(n) < 0.15)
    big = mfg & (rev >= 5000)
    qa = cs.quality_award[idx]
    u = rng.random(n)
    qa = np.maximum(
        qa,
        np.where(
            big & (u < 0.0005), 3, np.where(big & (u < 0.004), 2, np.where(big & (u < 0.015), 1, 0))
        ),
    )
    cs.quality_award[idx] = qa
    lam_std = np.where(
        tech_like | mfg, 0.015 * (np.maximum(rev, 0) / 1000) ** 0.4 * np.exp(tech), 0.0
    )
    f_std = rng.poisson(lam_std * mult)
    cs.standards[idx] = std = cs.standards[idx] + f_std
    led = (f_std > 0) & (rng.random(n) < 0.2)
    cs.standard_led[idx] = np.where(led, year, cs.standard_led[idx])

    # -- Awards: provincial / national S&T awards (rank among units), 创客中国 top 500.
    p_prov = np.minimum(0.0015 * np.sqrt(rd / 200), 0.05) * (rd > 0)
    u = rng.random(n)
    nat = u < p_prov / 20
    prov = (~nat) & (u < p_prov)
    rank = 1 + rng.geometric(0.35, n) - 1
    win = nat | prov
    cs.sci_level[idx] = np.where(win, np.where(nat, 2, 1), cs.sci_level[idx])
    cs.sci_rank[idx] = np.where(win, rank, cs.sci_rank[idx])
    cs.sci_year[idx] = np.where(win, year, cs.sci_year[idx])
    maker = tech_like & (rd > 0) & (age <= 8) & (rng.random(n) < 0.0006 * np.exp(0.5 * tech))
    cs.maker_rank[idx] = np.where(maker, rng.integers(1, 501, n), cs.maker_rank[idx])
    cs.maker_year[idx] = np.where(maker, year, cs.maker_year[idx])

    # -- Niche and market position.
    niche_years = np.round(np.maximum(year + 1 - cs.niche_start[idx], 0.0), 1)
    filer = cs.filer[idx] & (rev > 0)
    share_d = np.clip(main / cs.niche_market[idx], 0.0001, 0.85)
    share_g = share_d * cs.china_world[idx]
    rank_d = np.clip(np.round(0.35 / share_d * cs.rank_noise[idx]), 1, 999)
    rank_g = np.clip(np.round(0.3 / share_g * cs.rank_noise[idx]), 1, 999)
    nan = np.full(n, np.nan)

    # -- MIIT platform (from 2025), local 特色化 points, construction and real-estate flags.
    engaged = (eng + 0.8 * (lvl >= 2) + 0.5 * (rd > 0)) > 0.9
    has_score = engaged & (year >= PLATFORM_FIRST_YEAR) & (rev > 0)
    score = (
        20 + 12 * np.minimum(rd_int / 0.03, 2.5) + 4 * np.log1p(c1 + c2) + 3 * dig
        + 10 * np.clip(growth, -0.5, 0.5) + 5 * (lvl >= 3) + rng.normal(0, 6, n)
    )  # fmt: skip
    score = np.round(np.clip(score, 0, 100), 1)
    score_day = rng.integers(0, 60, n)
    local = np.clip(np.round(cs.local_base[idx] + dig + 2 * (inst >= 2) + 2 * (lvl >= 2)), 0, 15)
    cs.started[idx] = True

    ip = {
        "class1_ip": c1, "class1_self_developed": c1_self, "class1_high_value": c1_hv,
        "class2_ip": c2, "invention_patents": inv,
    }  # fmt: skip
    cred = {
        "high_tech": high_tech,
        "honor_ip_demo": cs.honor[idx].copy(),
        "rd_institution_level": labels(RD_LEVELS, inst),
        "digital_level": dig,
        "iso9001": iso.copy(),
        "quality_award_level": labels(AWARD_LEVELS, qa),
        "own_brand": brand.copy(),
        "standards_count": std.copy(),
        "standard_led_year": np.where(cs.standard_led[idx] > 0, cs.standard_led[idx], -1),
        "sci_award_level": labels(SCI_LEVELS, cs.sci_level[idx]),
        "sci_award_rank": np.where(cs.sci_level[idx] > 0, cs.sci_rank[idx], -1),
        "sci_award_year": np.where(cs.sci_level[idx] > 0, cs.sci_year[idx], -1),
        "maker_china_rank": np.where(cs.maker_year[idx] > 0, cs.maker_rank[idx], -1),
        "maker_china_year": np.where(cs.maker_year[idx] > 0, cs.maker_year[idx], -1),
        "niche_years": niche_years,
        "niche_domain": labels(DOMAINS, cs.domain[idx]),
        "sei_product": cs.sei_product[idx],
        "market_share_domestic": np.where(filer, np.round(share_d, 4), nan),
        "market_share_global": np.where(filer, np.round(share_g, 4), nan),
        "domestic_rank": np.where(filer, rank_d, -1).astype(np.int64),
        "global_rank": np.where(filer, rank_g, -1).astype(np.int64),
        "market_position_ok": np.where(filer, (share_d >= 0.03) | (rank_d <= 10), False),
        "market_position_known": filer,
        "key_chain_link": cs.key_chain[idx],
        "lg_domain_2022": cs.lg22[idx],
        "lg_domain_2026": cs.lg26[idx],
        "years_in_field": np.round(niche_years * cs.field_factor[idx], 1),
        "new_product": cs.new_product[idx],
        "platform_score": np.where(has_score, score, nan),
        "platform_score_day": np.where(has_score, 104 + score_day, -1),  # day of year (Apr–Jun)
        "local_feature_points": local.astype(float),
        "construction_qualified": cs.construction[idx]
        | ((pop.section[idx] == "E") & (rev >= 5000)),
        "real_estate_active": (pop.industry[idx] == "7010") & (rev >= 300) & (rng.random(n) < 0.6),
    }
    return ip, cred
