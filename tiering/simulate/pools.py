"""Candidate pools of a recognition round and the point-in-time tables the rule engine reads.

Why pools: a round asks the rule engine about every firm that could be granted, but at city scale
most firms cannot meet even one mandatory criterion (no R&D, no revenue, wrong industry). Building
the §11 frame and assessing only the *pool* — the firms passing a tier's necessary conditions —
makes a 1 M-firm run feasible. The pool must never change a grant, so every filter below is a
**necessary condition of a ``met`` verdict** read off the same Y−1 figures the engine reads, and it
is also what reviewers hold an ``undetermined`` applicant to (recognitions.py): a firm outside the
pool is therefore never granted, whether or not the engine saw it. Why each filter is necessary:

- ``tech_sme-2017``: TS-G2 (employees ≤ 500, revenue ≤ 20000, assets ≤ 20000, all Y−1) is a
  gate; the verdict then needs a direct route (TS-D1 高企, TS-D2 national S&T award, TS-D3
  provincial+ R&D institution, TS-D4 led a standard in 5 years) or TS-1 > 0 points, and TS-1 is
  the R&D-staff share (lowest band 10 %), so R&D staff > 0.
- ``innovative-2022``: a direct route (IN-D1 provincial+ award in 3 years, IN-D2 高企/示范,
  IN-D3 provincial+ institution, IN-D4 equity Y−3..Y−1 ≥ 500) or 创新能力 ≥ 20 points, which is
  IN-1 (IP: none → 0) + IN-2 (R&D ratio: 0 → 0) — so some IP or R&D > 0.
- ``specialized-2022`` SP-M2 / ``specialized-2026`` SP6-P5: R&D Y−1 ≥ 100 and ≥ 3 % of revenue.
- ``little_giant-*``: the pool is the holders of a valid 专精特新 title (the ladder); no filter.
- ``champion-2023``: CH-0 section C; CH-1 ≥ 10 years in the field (≥ 5 for a new product);
  CH-2 mean main revenue Y−3..Y−1 ≥ 40000, so at least one known year ≥ 40000 (a year before
  the simulated window is unknown to the engine; reviewers take the known years as the truth).

A firm without a Y−1 financial row (registered in the round year) is never in a pool: with no
上年 figures every mandatory money criterion is unknown and no application can be filed.
``tests/data/simulate`` checks on a small city that assessing every firm instead of the pools
changes no grant and that no firm outside a pool is ever ``met``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from data_contracts.tables import TABLES

__all__ = ["PoolTables", "YearView", "necessary"]

_FIN = ("revenue", "main_revenue", "rd_expense", "rd_staff", "employees", "total_assets",
        "equity_financing")  # fmt: skip
_RD_LEVEL = {"none": 0, "below_city": 1, "city": 2, "provincial": 3, "national": 4}
_SCI = {"none": 0, "provincial": 1, "national": 2}


@dataclass
class YearView:
    """Full-length (n) arrays of the figures of year ``y`` (= the rounds' Y−1) and before."""

    y: int
    present: np.ndarray
    fin: dict[str, np.ndarray]
    main_y2: np.ndarray  # NaN where unknown
    main_y3: np.ndarray
    equity_y2: np.ndarray
    equity_y3: np.ndarray
    ip_any: np.ndarray  # class1_ip + class2_ip ≥ 1
    high_tech: np.ndarray
    honor: np.ndarray
    rd_inst: np.ndarray  # 0 none … 4 national
    sci_level: np.ndarray  # 0 none, 1 provincial, 2 national
    sci_rank: np.ndarray
    sci_year: np.ndarray
    standard_led: np.ndarray  # year, 0 never
    years_in_field: np.ndarray
    new_product: np.ndarray
    global_rank: np.ndarray  # 999 where unknown

    @classmethod
    def build(cls, city: object, y: int) -> YearView:
        """Arrays from the loop's chunks (``city.year_frame``) of years y, y−1, y−2."""
        n = city.pop.n  # type: ignore[attr-defined]

        def arr(df: pl.DataFrame, col: str, fill: float, dtype: object = float) -> np.ndarray:
            out = np.full(n, fill, dtype=dtype)  # type: ignore[call-overload]
            if df.height:
                out[df["fi"].to_numpy()] = df[col].fill_null(fill).to_numpy()
            return out

        f1 = city.year_frame("financials", y)  # type: ignore[attr-defined]
        f2 = city.year_frame("financials", y - 1)  # type: ignore[attr-defined]
        f3 = city.year_frame("financials", y - 2)  # type: ignore[attr-defined]
        ip = city.year_frame("ip", y)  # type: ignore[attr-defined]
        cr = city.year_frame("credentials", y)  # type: ignore[attr-defined]
        present = np.zeros(n, dtype=bool)
        if f1.height:
            present[f1["fi"].to_numpy()] = True
        cr = cr.with_columns(
            _inst=pl.col("rd_institution_level").replace_strict(_RD_LEVEL, default=0),
            _sci=pl.col("sci_award_level").replace_strict(_SCI, default=0),
        )
        ip = ip.with_columns(_ip=(pl.col("class1_ip") + pl.col("class2_ip")) >= 1)
        return cls(
            y=y,
            present=present,
            fin={c: arr(f1, c, 0.0) for c in _FIN},
            main_y2=arr(f2, "main_revenue", np.nan),
            main_y3=arr(f3, "main_revenue", np.nan),
            equity_y2=arr(f2, "equity_financing", 0.0),
            equity_y3=arr(f3, "equity_financing", 0.0),
            ip_any=arr(ip, "_ip", False, bool),
            high_tech=arr(cr, "high_tech", False, bool),
            honor=arr(cr, "honor_ip_demo", False, bool),
            rd_inst=arr(cr, "_inst", 0, np.int64),
            sci_level=arr(cr, "_sci", 0, np.int64),
            sci_rank=arr(cr, "sci_award_rank", 999, np.int64),
            sci_year=arr(cr, "sci_award_year", 0, np.int64),
            standard_led=arr(cr, "standard_led_year", 0, np.int64),
            years_in_field=arr(cr, "years_in_field", 0.0),
            new_product=arr(cr, "new_product", False, bool),
            global_rank=arr(cr, "global_rank", 999, np.int64),
        )

    def main_known_mean(self) -> np.ndarray:
        """Mean main revenue over the known years of Y−3..Y−1 (what reviewers hold CH-2 to)."""
        m = np.vstack([self.fin["main_revenue"], self.main_y2, self.main_y3])
        known = ~np.isnan(m)
        return np.where(known, m, 0.0).sum(0) / np.maximum(known.sum(0), 1)


def necessary(tier: str, v: YearView, section: np.ndarray) -> np.ndarray:
    """The tier's necessary conditions of ``met`` (see the module docstring for why)."""
    f, y = v.fin, v.y + 1  # y = the round year Y
    rd, rev = f["rd_expense"], f["revenue"]
    if tier == "tech_sme":
        size_ok = (f["employees"] <= 500) & (rev <= 20000) & (f["total_assets"] <= 20000)
        route = (
            v.high_tech
            | ((v.sci_level == 2) & (v.sci_rank <= 3) & (v.sci_year >= y - 5))
            | (v.rd_inst >= 3)
            | (v.standard_led >= y - 5)
        )
        return v.present & size_ok & (route | (f["rd_staff"] > 0))
    if tier == "innovative":
        route = (
            ((v.sci_level >= 1) & (v.sci_year >= y - 3))
            | v.high_tech
            | v.honor
            | (v.rd_inst >= 3)
            | (f["equity_financing"] + v.equity_y2 + v.equity_y3 >= 500 - 1e-6)
        )
        return v.present & (route | v.ip_any | (rd > 0))
    if tier == "specialized":
        return v.present & (rd >= 100 - 1e-6) & (rd * 100 >= 3 * rev - 1e-6)
    if tier == "little_giant":
        return v.present.copy()
    if tier == "champion":
        field = (v.years_in_field >= 10 - 1e-9) | (v.new_product & (v.years_in_field >= 5 - 1e-9))
        top = np.fmax(np.fmax(f["main_revenue"], v.main_y2), v.main_y3)
        return v.present & (section == "C") & field & (top >= 40000 - 1e-6)
    raise ValueError(f"未知等级 {tier}")


class PoolTables:
    """The seven input tables restricted to a pool of firms, as known on a round date.

    Why cached pieces: the USCC column (1 M strings) and the static register columns are built
    once per run; year-keyed history once per round year; only the pool filter runs per round.
    """

    def __init__(self, city: object) -> None:
        self.city = city
        pop = city.pop  # type: ignore[attr-defined]
        self.uscc = pl.Series("uscc", pop.uscc)
        self.static = pl.DataFrame(
            {
                "uscc": self.uscc,
                "name": pl.Series(pop.name),
                "established": pop.established,
                "district": pl.Series(pop.district),
                "street": pl.Series(pop.street),
                "zone": pl.Series([z if isinstance(z, str) else None for z in pop.zone.tolist()],
                                  dtype=pl.String),
                "industry": pl.Series(pop.industry),
                "registered_capital": pop.registered_capital,
                "resident": pop.resident,
            }
        )  # fmt: skip
        self._hist: tuple[int, dict[str, pl.DataFrame]] | None = None
        self._reach: np.ndarray | None = None

    def start_year(self, year: int, reach: np.ndarray) -> None:
        """Cache year rows Y−5..Y of the firms any round of ``year`` can touch (``reach``).

        The round year's own rows are included on purpose: the frame builder keeps only what
        was knowable on D (years ≤ Y−1, plus the year-Y platform score once published) — exactly
        as it does on the full tables. ``reach`` must cover every pool and every firm due for
        review in the year (recognitions.py builds it); restricting the cache to it once a
        year makes the per-date filters cheap.
        """
        mask = pl.Series(reach)
        hist = {}
        for name in ("financials", "ip", "credentials", "stats_roster"):
            df = self.city.table(name, (year - 5, year))  # type: ignore[attr-defined]
            hist[name] = df.filter(mask.gather(df["fi"]))
        self._hist, self._reach = (year, hist), reach

    def _keyed(self, df: pl.DataFrame, mask: pl.Series) -> pl.DataFrame:
        df = df.filter(mask.gather(df["fi"]))
        return df.with_columns(uscc=self.uscc.gather(df["fi"])).drop("fi")

    def tables(self, fi: np.ndarray, year: int, register: object) -> dict[str, pl.DataFrame]:
        """Input tables of firms ``fi`` for a round in ``year`` (as the full tables would be)."""
        city = self.city
        n = len(self.uscc)
        m = np.zeros(n, dtype=bool)
        m[fi] = True
        mask = pl.Series(m)
        closed = city.closed[fi]  # type: ignore[attr-defined]
        kind = city.exit_kind[fi]  # type: ignore[attr-defined]
        status = np.where(np.isnat(closed), "active", kind).astype(str)
        out = {
            "firms": self.static.filter(mask).with_columns(
                closed=pl.Series(closed), status=pl.Series(status)
            )
        }
        if self._hist is None or self._hist[0] != year or self._reach is None:
            raise RuntimeError("PoolTables.start_year must be called before a round of the year")
        if not self._reach[fi].all():
            raise RuntimeError("a pool firm is outside the year's reach")
        for name, df in self._hist[1].items():
            out[name] = self._keyed(df, mask)
        ev = city.table("events")  # type: ignore[attr-defined]
        ev = self._keyed(ev, mask)
        out["events"] = ev.with_columns(event_id=pl.int_range(pl.len()).cast(pl.String))
        rec = register.table()  # type: ignore[attr-defined]
        if rec.height:
            out["recognitions"] = self._keyed(rec, mask)
        else:
            out["recognitions"] = pl.DataFrame(schema=TABLES["recognitions"].schema())
        return out
