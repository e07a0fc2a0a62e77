"""The yearly recognition process: who applies, who is accepted, who is renewed or revoked.

Why it runs the real rule engine: the simulated titles must follow the official criteria *as
they were in force* (``tiering.engine.assess`` with the calendar's pack), assessed on the
point-in-time frame ``features.asof.assessment_frame`` builds from the tables generated so far —
exactly what the service will later see. What the rules cannot see decides the rest: a firm's
latent engagement and its district's service coverage drive who applies (never written), and
reviewers accept under annual quotas with noise. Titles last three years (科技型 one year) and go
through review (复核); revoking events and closures cancel them.

Rounds (assessment date D, grant window): 科技型 03-01; 创新型 06-15; 专精特新 07-15;
小巨人 and 单项冠军 09-01 — in ladder order so a title granted in June counts as held in July.
Before a tier's first calendar date the earliest pack of the tier stands in for the older
provincial/MIIT criteria (创新型 did not exist before 2022 and has no earlier rounds). The first
simulated year has no 上年 in the tables, so rounds start in the second year; the stock of titles
held when the window opens is seeded (granted in the three years before) from the first year's
figures, with the same latent drivers.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from tiering.simulate.streams import stream

__all__ = ["QUOTAS", "ROUNDS", "TIER_INDEX", "RecognitionProcess"]

TIERS = ("tech_sme", "innovative", "specialized", "little_giant", "champion")
TIER_INDEX = {t: i + 1 for i, t in enumerate(TIERS)}
LEVELS = {"tech_sme": "provincial", "innovative": "provincial", "specialized": "provincial",
          "little_giant": "national", "champion": "national"}  # fmt: skip
VALID_YEARS = {"tech_sme": 1, "innovative": 3, "specialized": 3, "little_giant": 3, "champion": 3}
# tier -> (round month, day, first grant day offset, grant window days)
ROUNDS = {
    "tech_sme": (3, 1, 1, 90),
    "innovative": (6, 15, 1, 25),
    "specialized": (7, 15, 1, 40),
    "little_giant": (9, 1, 1, 90),
    "champion": (9, 1, 60, 45),
}
# New titles a year per million firms (the city's targets and published batches) and the stock
# seeded before the window.
QUOTAS = {
    "tech_sme": 9000,
    "innovative": 1000,
    "specialized": 500,
    "little_giant": 80,
    "champion": 7,
}
SEED_STOCK = {
    "tech_sme": 7000,
    "innovative": 0,
    "specialized": 900,
    "little_giant": 20,
    "champion": 8,
}
FIRST_YEAR = {"innovative": 2022}
# latent apply propensity (logit intercept) per tier
APPLY = {
    "tech_sme": 0.3,
    "innovative": 0.0,
    "specialized": 0.2,
    "little_giant": 0.6,
    "champion": 0.8,
}
_REVIEW_KEEP = {"met": 0.95, "undetermined": 0.75, "unmet": 0.10}
_NAT = np.datetime64("NaT", "D")


def _sig(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _add_years(d: np.ndarray, k: int) -> np.ndarray:
    """Same day k years later (29 Feb → 28 Feb), vectorised."""
    y = d.astype("datetime64[Y]")
    doy = (d - y.astype("datetime64[D]")).astype(int)
    base = (y + k).astype("datetime64[D]")
    leap_fix = (doy == 59) & ((y.astype(int) + 1970) % 4 == 0)  # 29 Feb
    return base + np.where(leap_fix, 58, doy)


class RecognitionProcess:
    """Holds the title register and runs the yearly rounds (see module docstring)."""

    def __init__(self, n: int, seed: int, first_year: int, last_year: int) -> None:
        self.n, self.seed = n, seed
        self.first_year, self.last_year = first_year, last_year
        self.scale = n / 1_000_000
        self._cols: dict[str, list[np.ndarray]] = {k: [] for k in
            ("fi", "tier", "granted", "expires", "rule_version", "application")}  # fmt: skip
        self._n_rec = 0
        self.cur_rec = {t: np.full(n, -1, dtype=np.int64) for t in TIERS}
        self.granted = {t: np.full(n, _NAT) for t in TIERS}
        self.expires = {t: np.full(n, _NAT) for t in TIERS}
        self.revoked_on = {t: np.full(n, _NAT) for t in TIERS}
        self.last_revoked = np.full(n, _NAT)
        self._revocations: list[tuple[np.ndarray, np.ndarray]] = []
        self.log: list[dict[str, object]] = []

    # ---------------------------------------------------------------- register
    def held(self, tier: str, on: np.datetime64) -> np.ndarray:
        g, e, r = self.granted[tier], self.expires[tier], self.revoked_on[tier]
        return (g <= on) & (e >= on) & (np.isnat(r) | (r > on))

    def level(self, on: np.datetime64) -> np.ndarray:
        """Highest tier index held on ``on`` per firm (0 = none)."""
        out = np.zeros(self.n, dtype=np.int8)
        for t in TIERS:
            out = np.where(self.held(t, on), TIER_INDEX[t], out).astype(np.int8)
        return out

    def _grant(self, tier: str, fi: np.ndarray, granted: np.ndarray, pack: str, app: str) -> None:
        if not len(fi):
            return
        expires = _add_years(granted, VALID_YEARS[tier]) - 1
        ids = np.arange(self._n_rec, self._n_rec + len(fi))
        self._n_rec += len(fi)
        for k, v in (("fi", fi), ("tier", np.full(len(fi), tier, dtype=object)), ("granted", granted),
                     ("expires", expires), ("rule_version", np.full(len(fi), pack, dtype=object)),
                     ("application", np.full(len(fi), app, dtype=object))):  # fmt: skip
            self._cols[k].append(v)
        self.cur_rec[tier][fi] = ids
        self.granted[tier][fi], self.expires[tier][fi] = granted, expires
        self.revoked_on[tier][fi] = _NAT

    def revoke(self, fi: np.ndarray, dates: np.ndarray) -> None:
        """Cancel every title held by firms ``fi`` on their ``dates`` (events, closures)."""
        for t in TIERS:
            g, e, r = self.granted[t][fi], self.expires[t][fi], self.revoked_on[t][fi]
            hit = (g <= dates) & (e >= dates) & np.isnat(r)
            if hit.any():
                f, d = fi[hit], dates[hit]
                self.revoked_on[t][f] = d
                self._revocations.append((self.cur_rec[t][f], d))
                self.last_revoked[f] = np.where(
                    np.isnat(self.last_revoked[f]), d, np.maximum(self.last_revoked[f], d)
                )

    def on_events(self, events: pl.DataFrame) -> None:
        """Revoke titles for the revoking events of a year (§9)."""
        from tiering.simulate.events import REVOKING_KINDS

        ev = events.filter(pl.col("kind").is_in(REVOKING_KINDS)).sort("date")
        if ev.height:
            self.revoke(
                ev["fi"].to_numpy().astype(np.int64), ev["date"].to_numpy().astype("datetime64[D]")
            )

    def table(self) -> pl.DataFrame:
        """The ``recognitions`` rows (with firm index ``fi``)."""
        if not self._n_rec:
            return pl.DataFrame()
        cols = {k: np.concatenate(v) for k, v in self._cols.items()}
        revoked = np.full(self._n_rec, _NAT)
        for ids, d in self._revocations:
            revoked[ids] = d
        return pl.DataFrame(
            {
                "fi": cols["fi"].astype(np.uint32),
                "tier": cols["tier"].astype(str),
                "level": pl.Series(cols["tier"].astype(str)).replace_strict(LEVELS),
                "granted": cols["granted"],
                "expires": cols["expires"],
                "revoked": revoked,
                "rule_version": cols["rule_version"].astype(str),
                "application": cols["application"].astype(str),
            }
        )

    # ---------------------------------------------------------------- rounds
    def run(self, city: object, year: int) -> None:
        """All rounds of ``year`` (seeding the opening stock in the first year)."""
        if year == self.first_year:
            self._seed_stock(city, year)
            return
        for tier in TIERS:
            self._round(city, year, tier)

    @staticmethod
    def _pack(tier: str, on: dt.date, application: str) -> str | None:
        from tiering.calendar import calendar
        from tiering.engine import packs_in_force

        for p in packs_in_force(on, application):
            if p.startswith(tier + "-"):
                return p
        if tier in FIRST_YEAR and on.year < FIRST_YEAR[tier]:
            return None
        entries = sorted((e.start, e.pack) for e in calendar().entries if e.tier == tier)
        return entries[0][1] if entries else None

    def _dates(
        self, tier: str, year: int, k: int, rng: np.random.Generator
    ) -> tuple[dt.date, np.ndarray]:
        m, d, off, span = ROUNDS[tier]
        on = dt.date(year, m, d)
        return on, np.datetime64(on) + off + rng.integers(0, span, k)

    def _year_values(self, city: object, year: int) -> dict[str, np.ndarray]:
        """Last year's figures as full-length arrays (for cheap necessary-condition filters)."""
        fin = city.table("financials", (year, year))  # type: ignore[attr-defined]
        cred = city.table("credentials", (year, year))  # type: ignore[attr-defined]
        out: dict[str, np.ndarray] = {}
        fi = fin["fi"].to_numpy().astype(np.int64)
        for c in (
            "revenue",
            "main_revenue",
            "rd_expense",
            "rd_staff",
            "employees",
            "equity_financing",
        ):
            a = np.zeros(self.n)
            a[fi] = fin[c].to_numpy()
            out[c] = a
        a = np.zeros(self.n, dtype=bool)
        a[fi] = True
        out["present"] = a
        cfi = cred["fi"].to_numpy().astype(np.int64)
        for c in ("high_tech", "honor_ip_demo"):
            b = np.zeros(self.n, dtype=bool)
            b[cfi] = cred[c].to_numpy()
            out[c] = b
        inst = np.zeros(self.n, dtype=bool)
        inst[cfi] = cred["rd_institution_level"].is_in(["provincial", "national"]).to_numpy()
        out["rd_inst_prov"] = inst
        g = np.zeros(self.n, dtype=np.int64)
        g[cfi] = cred["global_rank"].fill_null(999).to_numpy()
        out["global_rank"] = g
        return out

    def _prefilter(self, tier: str, v: dict[str, np.ndarray], pop: object) -> np.ndarray:
        """Necessary conditions only (so the engine sees every firm that could pass)."""
        rd, rev = v["rd_expense"], v["revenue"]
        some = (rd > 0) | v["high_tech"] | v["rd_inst_prov"] | v["honor_ip_demo"]
        if tier == "tech_sme":
            return (v["rd_staff"] > 0) | v["high_tech"] | v["rd_inst_prov"]
        if tier == "innovative":
            return some | (v["equity_financing"] > 0)
        if tier == "specialized":
            return (rd >= 100) & (rd * 100 >= 3 * rev)
        if tier == "little_giant":
            return rd > 0
        return (pop.section == "C") & (v["main_revenue"] >= 20000)  # type: ignore[attr-defined]

    def _tables_for(self, city: object, fi: np.ndarray, year: int) -> dict[str, pl.DataFrame]:
        sel = pl.Series(fi.astype(np.uint32)).implode()
        uscc = pl.Series("uscc", city.pop.uscc)  # type: ignore[attr-defined]
        from tiering.simulate.assemble import firms_table

        out: dict[str, pl.DataFrame] = {}
        if getattr(self, "_firms_cache", (None, None))[0] != year:
            self._firms_cache = (year, firms_table(city).with_row_index("fi"))  # type: ignore[arg-type]
        firms = self._firms_cache[1]
        # the register as known on the round date: closures after it are not yet known
        out["firms"] = firms.filter(pl.col("fi").is_in(sel)).drop("fi")
        for name in ("financials", "ip", "credentials", "stats_roster"):
            df = city.table(name, (year - 4, year))  # type: ignore[attr-defined]
            df = df.filter(pl.col("fi").is_in(sel))
            out[name] = df.with_columns(uscc=uscc.gather(df["fi"])).drop("fi")
        ev = city.table("events")  # type: ignore[attr-defined]
        ev = ev.filter(pl.col("fi").is_in(sel))
        out["events"] = ev.with_columns(
            uscc=uscc.gather(ev["fi"]), event_id=pl.int_range(pl.len()).cast(pl.String)
        ).drop("fi")
        rec = self.table()
        if rec.height:
            rec = rec.filter(pl.col("fi").is_in(sel))
            out["recognitions"] = rec.with_columns(uscc=uscc.gather(rec["fi"])).drop("fi")
        else:
            from data_contracts.tables import table_schema

            out["recognitions"] = pl.DataFrame(schema=table_schema("recognitions"))
        return out

    def _verdicts(
        self, city: object, fi: np.ndarray, on: dt.date, pack: str, app: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """Engine verdicts (met/undetermined/unmet) and score for firms ``fi`` on ``on``."""
        from features.asof import assessment_frame
        from tiering.engine import assess

        if not len(fi):
            return np.array([], dtype=object), np.array([])
        tables = self._tables_for(city, fi, on.year - 1)
        frame = assessment_frame(tables, on).collect()
        res = assess(frame, on, packs=[pack], application=app)  # type: ignore[arg-type]
        tiers = res.tiers.filter(pl.col("pack").cast(pl.String) == pack)
        key = pl.DataFrame({"uscc": city.pop.uscc[fi], "_i": np.arange(len(fi))})  # type: ignore[attr-defined]
        joined = key.join(
            tiers.select(
                "uscc", pl.col("verdict").cast(pl.String), pl.col("score").cast(pl.Float64)
            ),
            on="uscc",
            how="left",
        ).sort("_i")
        verdict = joined["verdict"].fill_null("unmet").to_numpy().astype(object)
        score = joined["score"].fill_null(0.0).to_numpy()
        return verdict, score

    def _round(self, city: object, year: int, tier: str) -> None:
        rng = stream(self.seed, f"round-{tier}", year)
        pop = city.pop  # type: ignore[attr-defined]
        m, d, _, _ = ROUNDS[tier]
        on = dt.date(year, m, d)
        on64 = np.datetime64(on)
        # 1. review of titles expiring this year
        rev_pack = self._pack(tier, on, "review")
        exp = self.expires[tier]
        due = (
            np.flatnonzero(
                self.held(tier, on64) & (exp.astype("datetime64[Y]").astype(int) + 1970 == year)
            )
            if VALID_YEARS[tier] > 1
            else np.array([], dtype=np.int64)
        )
        open_ = np.isnat(city.closed) | (
            city.closed.astype("datetime64[Y]").astype(int) + 1970 > year
        )  # type: ignore[attr-defined]
        due = due[open_[due]]
        renewed = 0
        if len(due) and rev_pack is not None:
            verdict, _ = self._verdicts(city, due, on, rev_pack, "review")
            keep_p = np.array([_REVIEW_KEEP[v] for v in verdict]) * _sig(2.5 + pop.engagement[due])
            keep = rng.random(len(due)) < keep_p
            f = due[keep]
            self._grant(tier, f, self.expires[tier][f] + 1, rev_pack, "review")
            renewed = len(f)
        # 2. new applications
        pack = self._pack(tier, on, "new")
        if pack is None:
            return
        v = self._year_values(city, year - 1)
        lvl = self.level(on64)
        cand = v["present"] & open_ & ~self.held(tier, on64) & self._prefilter(tier, v, pop)
        if tier == "innovative":
            cand &= lvl < TIER_INDEX["specialized"]
        if tier == "specialized" and year >= 2022:
            cand &= self.held("innovative", on64) | self.held("tech_sme", on64) * (year >= 2026)
        if tier == "little_giant":
            cand &= self.held("specialized", on64)
        recent = ~np.isnat(self.last_revoked) & (self.last_revoked > on64 - 3 * 365)
        cand &= ~recent
        fi = np.flatnonzero(cand)
        verdict, score = self._verdicts(city, fi, on, pack, "new")
        eng, cov = pop.engagement[fi], pop.coverage[fi]
        base = np.select([verdict == "met", verdict == "undetermined"], [1.0, 0.6], 0.03)
        ladder = 0.5 * (lvl[fi] >= TIER_INDEX[tier] - 1)
        # firms aiming higher (R&D-heavy, ready for 专精特新) apply to the bottom rungs first
        ambition = (
            1.5 * self._prefilter("specialized", v, pop)[fi]
            if tier in ("innovative", "tech_sme")
            else 0.0
        )
        p_apply = base * _sig(APPLY[tier] + 1.2 * eng + 0.8 * cov + ladder + ambition)
        applied = rng.random(len(fi)) < p_apply
        a_fi, a_v = fi[applied], verdict[applied]
        merit = (
            np.select([a_v == "met", a_v == "undetermined"], [1.0, 0.55], 0.0)
            + 0.01 * score[applied]
            + (0.5 * self._prefilter("specialized", v, pop)[a_fi] if tier == "innovative" else 0.0)
            + 0.25 * pop.engagement[a_fi]
            + rng.normal(0.0, 0.3, len(a_fi))
        )
        quota = rng.poisson(QUOTAS[tier] * self.scale)
        passing = np.flatnonzero(merit > 0.6)
        order = passing[np.argsort(-merit[passing], kind="stable")][:quota]
        chosen = np.sort(a_fi[order])
        _, grant_days = self._dates(tier, year, len(chosen), rng)
        self._grant(tier, chosen, grant_days, pack, "new")
        self.log.append({"year": year, "tier": tier, "pack": pack, "candidates": len(fi),
                         "met": int((verdict == "met").sum()), "undetermined": int((verdict == "undetermined").sum()),
                         "applied": int(applied.sum()), "quota": int(quota), "granted": len(chosen),
                         "review_due": len(due), "renewed": renewed})  # fmt: skip

    def _seed_stock(self, city: object, year: int) -> None:
        """Titles held when the window opens, granted in the three years before (see docstring)."""
        pop = city.pop  # type: ignore[attr-defined]
        v = self._year_values(city, year)
        rng = stream(self.seed, "seed-stock")
        held_spec = np.zeros(self.n, dtype=bool)
        for tier in TIERS:
            k = rng.poisson(SEED_STOCK[tier] * self.scale)
            if not k:
                continue
            ok = v["present"] & self._prefilter(tier, v, pop)
            if tier == "little_giant":
                ok &= held_spec
            if tier == "champion":
                ok &= v["global_rank"] <= 5
            fi = np.flatnonzero(ok)
            merit = (
                np.log1p(v["rd_expense"][fi])
                + np.log1p(v["main_revenue"][fi]) * 0.5
                + pop.engagement[fi]
                + rng.normal(0, 0.5, len(fi))
            )
            chosen = np.sort(fi[np.argsort(-merit, kind="stable")[:k]])
            span = VALID_YEARS[tier]
            gyear = (
                year - rng.integers(0, span, len(chosen))
                if span > 1
                else np.full(len(chosen), year - 1)
            )
            m, d, off, w = ROUNDS[tier]
            days = (
                (gyear - 1970).astype("datetime64[Y]").astype("datetime64[D]")
                + (np.datetime64(f"2001-{m:02d}-{d:02d}") - np.datetime64("2001-01-01")).astype(int)
                + off
                + rng.integers(0, w, len(chosen))
            )
            pack = self._pack(tier, dt.date(year, 12, 31), "new") or self._pack(
                tier, dt.date(2023, 12, 31), "new"
            )
            self._grant(tier, chosen, days, pack or f"{tier}-legacy", "new")
            if tier == "specialized":
                held_spec[chosen] = True
