"""The yearly recognition process: who applies, who is accepted, who is renewed or revoked.

Why it runs the real rule engine: the simulated titles must follow the official criteria *as
they were in force* (``tiering.engine.assess`` with the calendar's pack), assessed on the
point-in-time frame ``features.asof.assessment_frame`` builds from the tables generated so far —
exactly what the service will later see. What the rules cannot see decides the rest: a firm's
latent engagement and its district's service coverage drive who applies (never written), and
reviewers accept under annual quotas with noise. Titles last three years (科技型 one year) and go
through review (复核); revoking events and closures cancel them.

Round dates: 科技型 03-01; 创新型 06-15; 专精特新 07-15; 小巨人 and 单项冠军 09-01 — in ladder
order so a title granted in June counts as held in July. One §11 frame is built per round date
for the union of the firms due for review and the new candidates, and each application type is
assessed once with only the packs of that date (so 小巨人 and 单项冠军 share a frame and a call).
Candidates are restricted to pools of firms passing each tier's necessary conditions (pools.py
says why that changes no grant). Before a tier's first calendar date the earliest pack of the tier
stands in for the older provincial/MIIT criteria (创新型 did not exist before 2022 and has no
earlier rounds). The first simulated year has no 上年 in the tables, so rounds start in the
second year; the stock of titles held when the window opens is seeded (granted in the three years
before) from the first year's figures, with the same latent drivers.

Review of applications: the rounds decide on the §11 frame with the nulls whose truth the firm
knows filled in (it never placed in 创客中国, never won an award, leads no niche when it files no
market data — ``_firm_knows``); the written tables keep the nulls, so the service still sees
them as unknown. An applicant whose verdict is ``met`` can be accepted; one whose verdict is
``undetermined`` (every criterion met or still open — CH-4 is always ``manual_review``; a year
before the simulated window or an unpublished platform score is ``unknown``) can be accepted
after reviewers verify the open items against the evidence the firm submits. The simulator's
evidence is its hidden truth: the firm's necessary conditions (pools.py; for 单项冠军 also its
known main revenue and global rank) and its latent hidden-champion strength and technology
decide verification. ``unmet`` applicants are refused.
Accepted applicants are ranked by merit (verdict, score, engagement, reviewer noise) and granted
up to the year's quota. Every random draw is one number per firm (not per candidate), so the
outcome for a firm never depends on who else was in the pool — which also lets the round skip
the engine for firms that would not apply even with a ``met`` verdict (their apply draw is
already above the highest apply probability they could have).
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from tiering.simulate.pools import PoolTables, YearView, necessary
from tiering.simulate.register import TIER_INDEX, TIERS, VALID_YEARS, TitleRegister
from tiering.simulate.streams import stream

__all__ = ["QUOTAS", "ROUND_DATES", "SEED_STOCK", "TIER_INDEX", "RecognitionProcess"]

# (month, day) of the round → tiers assessed on that date.
ROUND_DATES: tuple[tuple[tuple[int, int], tuple[str, ...]], ...] = (
    ((3, 1), ("tech_sme",)),
    ((6, 15), ("innovative",)),
    ((7, 15), ("specialized",)),
    ((9, 1), ("little_giant", "champion")),
)
# tier -> (first grant day after the round date, grant window in days)
GRANT_WINDOW = {"tech_sme": (1, 90), "innovative": (1, 25), "specialized": (1, 40),
                "little_giant": (1, 90), "champion": (60, 45)}  # fmt: skip
# New titles a year per million firms (the city's targets and published batches).
QUOTAS = {"tech_sme": 9000, "innovative": 1000, "specialized": 520, "little_giant": 90,
          "champion": 5}  # fmt: skip
# Titles held per million firms when the window opens (granted in the three years before; 创新型
# did not exist yet). From shared/reference/enterprise_recognition_counts_hubei.csv, per ~0.9 M
# SMEs: 小巨人 — Hubei had 9 + 42 after MIIT batches 1–2, Wuhan ≈ 30 % of Hubei's (batch 3: 37 of
# 121), so ~10 per million; the rounds then reach ~250 per million by 2022 (Wuhan: 207 after
# batch 4 ≈ 230) and ~420 by 2025. 单项冠军 — Hubei 22 (firms + products) after batch 5, about a
# quarter in Wuhan → 5 per million.
SEED_STOCK = {"tech_sme": 7000, "innovative": 0, "specialized": 2300, "little_giant": 10,
              "champion": 5}  # fmt: skip
FIRST_YEAR = {"innovative": 2022}
# latent apply propensity (logit intercept) per tier
APPLY = {"tech_sme": 0.3, "innovative": 0.0, "specialized": 0.8, "little_giant": 0.8,
         "champion": 1.0}  # fmt: skip
# logit intercept of reviewers verifying the open items of an undetermined applicant
VERIFY = {"tech_sme": 0.0, "innovative": 0.0, "specialized": 0.3, "little_giant": -0.5,
          "champion": -1.0}  # fmt: skip
# 复核 keep rates by review verdict: reviews mostly confirm (published failure rates are a few
# per cent); a firm failing the review criteria on paper still often keeps its title, more often
# at the national level (小巨人, 单项冠军), where reviews weigh the firm's whole record.
_REVIEW_KEEP = {"met": 0.98, "undetermined": 0.9, "unmet": 0.35}
_REVIEW_KEEP_UNMET_NATIONAL = 0.6


def _sig(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# What a null means in the simulated city, known to the firm and shown to reviewers: it never
# placed in 创客中国 / never won an award / never led a standard, and a firm without market data
# (it files none: no R&D) leads no niche.
_TRUTH_OF_NULL: dict[str, object] = {
    "maker_china_rank": 999, "maker_china_year": 0, "sci_award_rank": 999, "sci_award_year": 0,
    "standard_led_year": 0, "market_share_domestic": 0.0, "market_share_global": 0.0,
    "domestic_rank": 999, "global_rank": 999, "market_position_ok": False,
}  # fmt: skip


def _firm_knows() -> list[pl.Expr]:
    """Fill the nulls the simulator knows the truth of (see _TRUTH_OF_NULL).

    Why: the service sees these as unknown and may call a firm ``undetermined``; the firm and
    its reviewers know better (it never placed, it leads no niche), so the rounds decide on the
    filled frame. What stays open — CH-4 (always manual review), a year before the simulated
    window, a platform score not yet published — is verified against the latent truth.
    """
    return [pl.col(c).fill_null(v) for c, v in _TRUTH_OF_NULL.items()]


@dataclass
class _TierRound:
    """One tier's round on one date: who is due, who is assessed, the per-firm random draws."""

    tier: str
    on: dt.date
    rev_pack: str | None
    new_pack: str | None
    due: np.ndarray
    cand: np.ndarray
    n_cand: int
    nec: np.ndarray
    aiming: np.ndarray
    p_intent: np.ndarray
    u_keep: np.ndarray
    u_apply: np.ndarray
    u_verify: np.ndarray
    noise: np.ndarray
    quota: int
    gday: np.ndarray
    review_verdict: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    verdict: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    score: np.ndarray = field(default_factory=lambda: np.array([]))


@functools.cache
def _pack(tier: str, on: dt.date, application: str) -> str | None:
    """The pack a round of ``tier`` on ``on`` uses (earliest pack before the calendar starts)."""
    from tiering.calendar import calendar
    from tiering.engine import packs_in_force

    for p in packs_in_force(on, application):
        if p.startswith(tier + "-"):
            return p
    if tier in FIRST_YEAR and on.year < FIRST_YEAR[tier]:
        return None
    entries = sorted((e.start, e.pack) for e in calendar().entries if e.tier == tier)
    return entries[0][1] if entries else None


class RecognitionProcess:
    """Runs the yearly rounds over a :class:`TitleRegister` (see module docstring).

    ``exhaustive=True`` assesses every registered firm instead of the pools (slow; for the test
    that pools change no grant); ``quotas`` overrides :data:`QUOTAS` (per million firms).
    """

    def __init__(
        self, n: int, seed: int, first_year: int, last_year: int, *, exhaustive: bool = False,
        quotas: dict[str, float] | None = None,
    ) -> None:  # fmt: skip
        self.n, self.seed = n, seed
        self.quotas = {**QUOTAS, **(quotas or {})}
        self.first_year, self.last_year = first_year, last_year
        self.scale = n / 1_000_000
        self.exhaustive = exhaustive
        self.register = TitleRegister(n)
        self.log: list[dict[str, object]] = []
        self._pools: PoolTables | None = None
        self._view: YearView | None = None
        #: seconds spent per stage (pool tables, §11 frame, rule engine, decisions); not written
        self.timings: dict[str, float] = dict.fromkeys(("pools", "frame", "engine", "decide"), 0.0)

    # ---------------------------------------------------------------- register
    def level(self, on: np.datetime64) -> np.ndarray:
        """Highest tier index held on ``on`` per firm (0 = none)."""
        return self.register.level(on)

    def revoke(self, fi: np.ndarray, dates: np.ndarray) -> None:
        """Cancel every title held by firms ``fi`` on their ``dates`` (closures)."""
        self.register.revoke(fi, dates)

    def on_events(self, events: pl.DataFrame) -> None:
        """Revoke titles for the revoking events of a year (§9)."""
        from tiering.simulate.events import REVOKING_KINDS

        ev = events.filter(pl.col("kind").is_in(REVOKING_KINDS)).sort("date")
        if ev.height:
            self.register.revoke(
                ev["fi"].to_numpy().astype(np.int64), ev["date"].to_numpy().astype("datetime64[D]")
            )

    def table(self) -> pl.DataFrame:
        """The ``recognitions`` rows (with firm index ``fi``)."""
        return self.register.table()

    # ---------------------------------------------------------------- rounds
    def run(self, city: object, year: int) -> None:
        """All rounds of ``year`` (seeding the opening stock in the first year)."""
        if self._view is None or self._view.y != year - 1:
            self._view = YearView.build(city, year if year == self.first_year else year - 1)
        if year == self.first_year:
            self._seed_stock(city, year)
            return
        if self._pools is None:
            self._pools = PoolTables(city)
        self._pools.start_year(year, self._reach(city, year))
        for (m, d), tiers in ROUND_DATES:
            self._date_round(city, dt.date(year, m, d), tiers)

    def _reach(self, city: object, year: int) -> np.ndarray:
        """Every firm a round of ``year`` can assess: a pool member of some tier, or a holder
        of a title valid on or after 1 January (review, ladder). A firm granted a title during
        the year was in that tier's pool, so 小巨人 candidates (专精特新 holders) are covered."""
        v, pop = self._view, city.pop  # type: ignore[attr-defined]
        assert v is not None
        if self.exhaustive:
            return np.ones(self.n, dtype=bool)
        jan1 = np.datetime64(f"{year}-01-01")
        reach = np.zeros(self.n, dtype=bool)
        for tier in TIERS:
            if tier != "little_giant":
                reach |= necessary(tier, v, pop.section)
            reach |= self.register.expires[tier] >= jan1
        return reach

    def release(self) -> None:
        """Drop the per-run caches (pool history, year view) once the loop is done."""
        self._pools, self._view = None, None

    def _verdicts(
        self, frame: pl.DataFrame, fi: np.ndarray, uscc: np.ndarray, on: dt.date,
        packs: list[str], app: str,
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:  # fmt: skip
        """pack → (verdict, score) arrays aligned with ``fi`` (absent from the frame → unmet)."""
        from tiering.engine import assess

        out = {p: (np.full(len(fi), "unmet", dtype=object), np.zeros(len(fi))) for p in packs}
        if not len(fi) or not packs:
            return out
        sub = frame.filter(pl.col("uscc").is_in(pl.Series(uscc).implode()))
        res = assess(sub, on, packs=packs, application=app)  # type: ignore[arg-type]
        tiers = (
            res.tiers_lazy()
            .select(
                "uscc",
                pl.col("pack").cast(pl.String),
                pl.col("verdict").cast(pl.String),
                pl.col("score").cast(pl.Float64).fill_null(0.0),
            )
            .collect()
        )
        key = pl.DataFrame({"uscc": uscc, "_i": np.arange(len(fi))})
        for p in packs:
            j = key.join(tiers.filter(pl.col("pack") == p), on="uscc", how="left").sort("_i")
            out[p] = (
                j["verdict"].fill_null("unmet").to_numpy().astype(object),
                j["score"].fill_null(0.0).to_numpy(),
            )
        return out

    def _plan(self, city: object, on: dt.date, tier: str, lvl: np.ndarray) -> _TierRound:
        """Who is due for review and who would apply for ``tier`` on ``on`` (before verdicts)."""
        year, on64, n = on.year, np.datetime64(on), self.n
        pop, reg, v = city.pop, self.register, self._view  # type: ignore[attr-defined]
        assert v is not None
        rng = stream(self.seed, f"round-{tier}", year)
        u_keep, u_apply, u_verify = rng.random(n), rng.random(n), rng.random(n)
        noise = rng.normal(0.0, 0.3, n)
        quota = int(rng.poisson(self.quotas[tier] * self.scale))
        off, span = GRANT_WINDOW[tier]
        gday = on64 + off + rng.integers(0, span, n)
        closed = city.closed  # type: ignore[attr-defined]
        open_ = np.isnat(closed) | (closed > on64)
        exp_year = reg.expires[tier].astype("datetime64[Y]").astype(int) + 1970
        due = reg.held(tier, on64) & (exp_year == year) & open_ & (VALID_YEARS[tier] > 1)
        recent = ~np.isnat(reg.last_revoked) & (reg.last_revoked > on64 - 3 * 365)
        cand = v.present & open_ & ~reg.held(tier, on64) & ~recent
        if tier == "innovative":
            cand &= lvl < TIER_INDEX["specialized"]
        if tier == "specialized" and year >= 2022:
            cand &= reg.held("innovative", on64) | (reg.held("tech_sme", on64) & (year >= 2026))
        if tier == "little_giant":
            cand &= reg.held("specialized", on64)
        nec = necessary(tier, v, pop.section)
        aiming = necessary("specialized", v, pop.section)  # R&D-heavy firms climb early
        ambition = 1.5 * aiming if tier in ("innovative", "tech_sme") else 0.0
        ladder = 0.5 * (lvl >= TIER_INDEX[tier] - 1)
        # apply probability of a firm whose verdict is met (the highest it can be)
        p_intent = _sig(APPLY[tier] + 1.2 * pop.engagement + 0.8 * pop.coverage + ladder + ambition)
        pool = cand.copy()
        if not self.exhaustive:
            # a firm outside its pool is never granted (pools.py); one that would not apply even
            # with a met verdict never applies: neither needs the engine
            pool &= nec & (u_apply < p_intent)
        rev_pack, new_pack = _pack(tier, on, "review"), _pack(tier, on, "new")
        empty = np.array([], dtype=np.int64)
        return _TierRound(
            tier=tier, on=on, rev_pack=rev_pack, new_pack=new_pack,
            due=np.flatnonzero(due) if rev_pack else empty,
            cand=np.flatnonzero(pool) if new_pack else empty,
            n_cand=int((cand & nec).sum()), nec=nec, aiming=aiming, p_intent=p_intent,
            u_keep=u_keep, u_apply=u_apply, u_verify=u_verify, noise=noise, quota=quota,
            gday=gday,
        )  # fmt: skip

    def _date_round(self, city: object, on: dt.date, tiers: tuple[str, ...]) -> None:
        """One round date: plan each tier, build one frame, assess, decide (see docstring)."""
        from features.asof import assessment_frame

        assert self._pools is not None
        lvl = self.register.level(np.datetime64(on))
        plans = [self._plan(city, on, t, lvl) for t in tiers]
        union = np.unique(np.concatenate([np.concatenate([p.due, p.cand]) for p in plans]))
        if not len(union):
            return
        t0 = time.perf_counter()
        tables = self._pools.tables(union, on.year, self.register)
        t1 = time.perf_counter()
        frame = assessment_frame(tables, on).collect().with_columns(_firm_knows())
        t2 = time.perf_counter()
        self.timings["pools"] += t1 - t0
        self.timings["frame"] += t2 - t1
        uscc = city.pop.uscc  # type: ignore[attr-defined]
        for app in ("review", "new"):
            todo = [(p, p.due if app == "review" else p.cand) for p in plans]
            todo = [(p, f) for p, f in todo if len(f)]
            if not todo:
                continue
            allf = np.unique(np.concatenate([f for _, f in todo]))
            packs = sorted({str(p.rev_pack if app == "review" else p.new_pack) for p, _ in todo})
            res = self._verdicts(frame, allf, uscc[allf], on, packs, app)
            pos = np.full(self.n, -1)
            pos[allf] = np.arange(len(allf))
            for p, f in todo:
                verdict, score = res[str(p.rev_pack if app == "review" else p.new_pack)]
                if app == "review":
                    p.review_verdict = verdict[pos[f]]
                else:
                    p.verdict, p.score = verdict[pos[f]], score[pos[f]]
        t3 = time.perf_counter()
        self.timings["engine"] += t3 - t2
        for p in plans:
            self._decide(city, p)
        self.timings["decide"] += time.perf_counter() - t3

    def _decide(self, city: object, p: _TierRound) -> None:
        """Review the due titles and accept new applicants of one tier (see module docstring)."""
        pop, reg, v = city.pop, self.register, self._view  # type: ignore[attr-defined]
        assert v is not None
        # 1. review (复核) of titles expiring this year
        renewed = 0
        if len(p.due) and p.rev_pack is not None:
            keep = dict(_REVIEW_KEEP)
            if p.tier in ("little_giant", "champion"):
                keep["unmet"] = _REVIEW_KEEP_UNMET_NATIONAL
            keep_p = np.array([keep[x] for x in p.review_verdict])
            keep_p = keep_p * _sig(3.5 + pop.engagement[p.due])
            f = p.due[p.u_keep[p.due] < keep_p]
            reg.grant(p.tier, f, reg.expires[p.tier][f] + 1, p.rev_pack, "review")
            renewed = len(f)
        # 2. new applications
        fi, vd = p.cand, p.verdict
        if p.new_pack is None or not len(fi):
            return
        base = np.select([vd == "met", vd == "undetermined"], [1.0, 0.6], 0.03)
        applied = p.u_apply[fi] < base * p.p_intent[fi]
        truth = p.nec[fi]
        if p.tier == "champion":
            truth = truth & (v.main_known_mean()[fi] >= 40000 - 1e-6) & (v.global_rank[fi] <= 3)
        p_verify = _sig(VERIFY[p.tier] + 1.5 * pop.lead[fi] + 0.5 * pop.tech[fi])
        verified = (vd == "met") | ((vd == "undetermined") & truth & (p.u_verify[fi] < p_verify))
        ok = applied & verified
        merit = (
            (vd == "met") * 1.0
            + 0.01 * p.score
            + (1.5 * p.aiming[fi] if p.tier == "innovative" else 0.0)
            + 0.5 * pop.lead[fi]
            + 0.25 * pop.engagement[fi]
            + p.noise[fi]
        )
        acc = np.flatnonzero(ok)
        chosen = np.sort(fi[acc[np.argsort(-merit[acc], kind="stable")][: p.quota]])
        reg.grant(p.tier, chosen, p.gday[chosen], p.new_pack, "new")
        self.log.append({
            "year": p.on.year, "tier": p.tier, "pack": p.new_pack, "candidates": p.n_cand,
            "assessed": len(fi), "met": int((vd == "met").sum()),
            "undetermined": int((vd == "undetermined").sum()), "applied": int(applied.sum()),
            "accepted": int(ok.sum()), "quota": p.quota, "granted": len(chosen),
            "review_due": len(p.due), "renewed": renewed,
            "met_outside_pool": int(((vd == "met") & ~p.nec[fi]).sum()),
        })  # fmt: skip

    def _seed_stock(self, city: object, year: int) -> None:
        """Titles held when the window opens, granted in the three years before (see docstring)."""
        pop = city.pop  # type: ignore[attr-defined]
        v = self._view
        assert v is not None
        rng = stream(self.seed, "seed-stock")
        held_spec = np.zeros(self.n, dtype=bool)
        for tier in TIERS:
            k = rng.poisson(SEED_STOCK[tier] * self.scale)
            noise = rng.normal(0, 0.5, self.n)
            if not k:
                continue
            ok = necessary(tier, v, pop.section)
            if tier == "little_giant":
                ok &= held_spec
            if tier == "champion":
                ok &= v.global_rank <= 3
            fi = np.flatnonzero(ok)
            merit = (
                np.log1p(v.fin["rd_expense"][fi])
                + np.log1p(v.fin["main_revenue"][fi]) * 0.5
                + 1.5 * pop.lead[fi]
                + pop.engagement[fi]
                + noise[fi]
            )
            chosen = np.sort(fi[np.argsort(-merit, kind="stable")[:k]])
            span = VALID_YEARS[tier]
            gyear = (
                year - rng.integers(0, span, len(chosen))
                if span > 1
                else np.full(len(chosen), year - 1)
            )
            m, d = next(md for md, ts in ROUND_DATES if tier in ts)
            off, w = GRANT_WINDOW[tier]
            days = (
                (gyear - 1970).astype("datetime64[Y]").astype("datetime64[D]")
                + (np.datetime64(f"2001-{m:02d}-{d:02d}") - np.datetime64("2001-01-01")).astype(int)
                + off
                + rng.integers(0, w, len(chosen))
            )
            pack = _pack(tier, dt.date(year, 12, 31), "new") or _pack(
                tier, dt.date(2023, 12, 31), "new"
            )
            self.register.grant(tier, chosen, days, pack or f"{tier}-legacy", "new")
            if tier == "specialized":
                held_spec[chosen] = True
