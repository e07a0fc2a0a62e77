"""The year loop of the simulated city: entry and exit, figures, capabilities, roster, events and
the recognition rounds, one calendar year at a time, vectorised over firms.

Why one loop: the components feed each other across years (titles raise R&D and growth, figures
decide the roster and the next round's eligibility, incidents revoke titles), so they advance in
lock-step. Three burn-in years before the window warm the financial state up (so the first
written year already has realistic growth histories); they are never written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from tiering.simulate.capabilities import init_capabilities, step_capabilities
from tiering.simulate.events import step_events
from tiering.simulate.financials import init_financials, step_financials
from tiering.simulate.population import GROUPS, Population, draw_exits, make_population
from tiering.simulate.roster import KIND_LABELS, four_above_scope, meets_line, step_roster
from tiering.simulate.streams import stream

__all__ = ["BURN_IN", "City", "run_city"]

BURN_IN = 3
_NULL_INT = ("standard_led_year", "sci_award_rank", "sci_award_year", "maker_china_rank",
             "maker_china_year", "domestic_rank", "global_rank")  # fmt: skip


@dataclass
class City:
    """Everything the loop produced: the population and per-year chunks of each table."""

    pop: Population
    first_year: int
    last_year: int
    closed: np.ndarray
    exit_kind: np.ndarray
    chunks: dict[str, list[pl.DataFrame]] = field(default_factory=dict)

    def table(self, name: str, years: tuple[int, int] | None = None) -> pl.DataFrame:
        """Concatenated chunks of ``name`` (with firm index ``fi``), optionally by year range."""
        parts = self.chunks.get(name, [])
        if years is not None and name in ("financials", "ip", "credentials", "stats_roster"):
            # a year with no rows (a tiny city: no firm filed IP that year) is an empty chunk
            kept = [p for p in parts if p.height and years[0] <= p["year"][0] <= years[1]]
            parts = kept or [p.head(0) for p in parts[:1]]
        return pl.concat(parts, how="vertical", rechunk=False) if parts else pl.DataFrame()

    def year_frame(self, name: str, year: int) -> pl.DataFrame:
        """The chunk of a year-keyed table for ``year`` (empty, same columns, if not simulated)."""
        parts = self.chunks.get(name, [])
        for p in parts:
            if p.height and p["year"][0] == year:
                return p
        return parts[0].head(0) if parts else pl.DataFrame({"fi": pl.Series([], dtype=pl.UInt32)})


def _frame(year: int, idx: np.ndarray, cols: dict[str, np.ndarray | pl.Series]) -> pl.DataFrame:
    data: dict[str, pl.Series] = {
        "fi": pl.Series("fi", idx.astype(np.uint32)),
        "year": pl.Series("year", np.full(len(idx), year, dtype=np.int64)),
    }
    for k, v in cols.items():
        s = v.alias(k) if isinstance(v, pl.Series) else pl.Series(k, v)
        if k in _NULL_INT:
            s = s.set(s == -1, None) if len(s) else s
        elif s.dtype == pl.Float64:
            s = s.fill_nan(None)
        data[k] = s
    return pl.DataFrame(data)


RoundHook = Callable[["City", int, np.ndarray], np.ndarray]


def run_city(
    n: int,
    seed: int,
    first_year: int,
    last_year: int,
    *,
    recognition: object | None = None,
) -> City:
    """Simulate ``first_year..last_year``; ``recognition`` is a process with ``level(date)``,
    ``revoke(fi, dates)`` and ``run(city, year)`` (see recognitions.py); None = no titles."""
    pop = make_population(n, seed, first_year, last_year)
    fs = init_financials(pop, stream(seed, "financial-traits"))
    cs = init_capabilities(pop, stream(seed, "capability-traits"), fs.rd_doer)
    kind, measure, line = four_above_scope(pop)
    city = City(
        pop, first_year, last_year,
        closed=np.full(n, np.datetime64("NaT"), dtype="datetime64[D]"),
        exit_kind=np.full(n, None, dtype=object),
        chunks={t: [] for t in ("financials", "ip", "credentials", "stats_roster", "events")},
    )  # fmt: skip
    met = np.zeros(n, bool)
    on = np.zeros(n, bool)
    listed_until = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    last_day = np.datetime64(f"{last_year}-12-31")
    no_titles = np.zeros(n, dtype=np.int8)
    for year in range(first_year - BURN_IN, last_year + 1):
        burn = year < first_year
        jan1 = np.datetime64(f"{year}-01-01")
        level = recognition.level(jan1) if recognition is not None else no_titles
        if not burn:
            was = np.flatnonzero((pop.established < jan1) & np.isnat(city.closed) & fs.started)
            out, day, ekind = draw_exits(
                pop, was, year, fs.log_rev, fs.growth, level, stream(seed, "exits", year)
            )
            city.closed[out], city.exit_kind[out] = day, ekind
            if recognition is not None:
                recognition.revoke(out, day)
            rv = out[ekind == "revoked"]  # 吊销 follows a 经营异常 listing
            lday = np.maximum(
                city.closed[rv] - stream(seed, "exit-listing", year).integers(180, 720, len(rv)),
                pop.established[rv],
            )
            keep = lday >= np.datetime64(f"{first_year}-01-01")
            if keep.any():
                city.chunks["events"].append(
                    pl.DataFrame({"fi": rv[keep].astype(np.uint32), "kind": "abnormal_operation",
                                  "date": lday[keep], "end_date": np.full(int(keep.sum()), np.datetime64("NaT"), "datetime64[D]")})
                )  # fmt: skip
        year_end = np.datetime64(f"{year}-12-31")
        idx = np.flatnonzero((pop.established <= year_end) & np.isnat(city.closed))
        gshock = stream(seed, "group-shocks", year).normal(0.0, 0.05, len(GROUPS))
        ht = cs.high_tech_until >= year - 1
        fin = step_financials(pop, fs, year, idx, stream(seed, "financials", year),
                              title_level=level, high_tech=ht, group_shock=gshock)  # fmt: skip
        ip, cred = step_capabilities(pop, cs, year, idx, fin, fs.growth[idx],
                                     stream(seed, "capabilities", year), title_level=level)  # fmt: skip
        # 四上 roster of this reporting year, on last year's figures.
        if burn:
            on = met & (stream(seed, "roster-initial", year).random(n) < 0.85)
        else:
            written, inr = step_roster(
                idx, met, on, pop.engagement, pop.coverage, stream(seed, "roster", year)
            )
            widx = idx[written]
            on = np.zeros(n, bool)
            on[widx[inr]] = True
            city.chunks["stats_roster"].append(
                pl.DataFrame({
                    "fi": widx.astype(np.uint32),
                    "year": np.full(len(widx), year, dtype=np.int64),
                    "four_above_kind": np.array(KIND_LABELS, dtype=object)[kind[widx]],
                    "in_roster": inr,
                })
            )  # fmt: skip
        met = np.zeros(n, bool)
        met[idx] = meets_line(measure[idx], line[idx], fin["revenue"], fin["main_revenue"],
                              cred["construction_qualified"], cred["real_estate_active"])  # fmt: skip
        if burn:
            continue
        known = cred.pop("market_position_known")
        day = cred.pop("platform_score_day")
        cred["platform_score_date"] = np.where(
            day >= 0, jan1 + np.maximum(day, 0), np.datetime64("NaT")
        )
        pos = pl.Series(cred.pop("market_position_ok"))
        city.chunks["financials"].append(_frame(year, idx, fin))
        city.chunks["ip"].append(_frame(year, idx, ip))
        cf = _frame(year, idx, cred).with_columns(
            market_position_ok=pos.set(~pl.Series(known), None)
        )
        city.chunks["credentials"].append(cf)
        ev = step_events(pop, year, idx, fin["revenue"], fin["rd_expense"], level, listed_until,
                         last_day, stream(seed, "events", year))  # fmt: skip
        ev["date"] = np.maximum(ev["date"], pop.established[ev["fi"]])
        ev_df = pl.DataFrame({"fi": ev["fi"].astype(np.uint32), "kind": ev["kind"].astype(str),
                              "date": ev["date"], "end_date": ev["end_date"]})  # fmt: skip
        city.chunks["events"].append(ev_df)
        if recognition is not None:
            recognition.on_events(ev_df)
            recognition.run(city, year)
    return city
