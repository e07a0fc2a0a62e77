"""The title register of the simulated city: grants, expiries, revocations, who holds what when.

Why a register of arrays and not a table: the year loop asks "who holds tier T on date D" for
every firm many times a year (ladder prerequisites, title feedback on growth, exits); per-firm
arrays of the current grant answer that in one vectorised comparison. Every grant is also kept as
a row so the ``recognitions`` table can be written at the end with its revocation dates.

>>> import numpy as np
>>> r = TitleRegister(3)
>>> r.grant("specialized", np.array([1]), np.array(["2021-07-20"], "datetime64[D]"), "p", "new")
>>> r.held("specialized", np.datetime64("2024-07-19")).tolist()
[False, True, False]
>>> r.revoke(np.array([1]), np.array(["2022-01-05"], "datetime64[D]"))
>>> r.level(np.datetime64("2022-01-04")).tolist(), r.level(np.datetime64("2022-01-05")).tolist()
([0, 3, 0], [0, 0, 0])
"""

from __future__ import annotations

import numpy as np
import polars as pl

__all__ = ["LEVELS", "NAT", "TIERS", "TIER_INDEX", "VALID_YEARS", "TitleRegister", "add_years"]

TIERS = ("tech_sme", "innovative", "specialized", "little_giant", "champion")
TIER_INDEX = {t: i + 1 for i, t in enumerate(TIERS)}
LEVELS = {"tech_sme": "provincial", "innovative": "provincial", "specialized": "provincial",
          "little_giant": "national", "champion": "national"}  # fmt: skip
VALID_YEARS = {"tech_sme": 1, "innovative": 3, "specialized": 3, "little_giant": 3, "champion": 3}
NAT = np.datetime64("NaT", "D")


def add_years(d: np.ndarray, k: int) -> np.ndarray:
    """Same day ``k`` years later (29 Feb → 28 Feb), vectorised.

    >>> add_years(np.array(["2020-02-29", "2021-07-15"], "datetime64[D]"), 3).tolist()
    [datetime.date(2023, 2, 28), datetime.date(2024, 7, 15)]
    """
    month = d.astype("datetime64[M]")
    dom = (d - month.astype("datetime64[D]")).astype(int)
    target = month + 12 * k
    days_in = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(int)
    return target.astype("datetime64[D]") + np.minimum(dom, days_in - 1)


class TitleRegister:
    """Current grant per firm and tier, plus every grant as a row (see module docstring)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._cols: dict[str, list[np.ndarray]] = {k: [] for k in
            ("fi", "tier", "granted", "expires", "rule_version", "application")}  # fmt: skip
        self._n_rec = 0
        self.cur_rec = {t: np.full(n, -1, dtype=np.int64) for t in TIERS}
        self.granted = {t: np.full(n, NAT) for t in TIERS}
        self.expires = {t: np.full(n, NAT) for t in TIERS}
        self.revoked_on = {t: np.full(n, NAT) for t in TIERS}
        self.last_revoked = np.full(n, NAT)
        self._revocations: list[tuple[np.ndarray, np.ndarray]] = []
        self._table: pl.DataFrame | None = None

    def held(self, tier: str, on: np.datetime64) -> np.ndarray:
        """Whether each firm holds a valid, unrevoked ``tier`` title on ``on``."""
        g, e, r = self.granted[tier], self.expires[tier], self.revoked_on[tier]
        return (g <= on) & (e >= on) & (np.isnat(r) | (r > on))

    def level(self, on: np.datetime64) -> np.ndarray:
        """Highest tier index held on ``on`` per firm (0 = none)."""
        out = np.zeros(self.n, dtype=np.int8)
        for t in TIERS:
            out[self.held(t, on)] = TIER_INDEX[t]
        return out

    def grant(self, tier: str, fi: np.ndarray, granted: np.ndarray, pack: str, app: str) -> None:
        """Grant ``tier`` to firms ``fi`` on ``granted`` (valid for VALID_YEARS[tier])."""
        if not len(fi):
            return
        expires = add_years(granted, VALID_YEARS[tier]) - 1
        ids = np.arange(self._n_rec, self._n_rec + len(fi))
        self._n_rec += len(fi)
        for k, v in (("fi", fi), ("tier", np.full(len(fi), tier, dtype=object)), ("granted", granted),
                     ("expires", expires), ("rule_version", np.full(len(fi), pack, dtype=object)),
                     ("application", np.full(len(fi), app, dtype=object))):  # fmt: skip
            self._cols[k].append(v)
        self.cur_rec[tier][fi] = ids
        self.granted[tier][fi], self.expires[tier][fi] = granted, expires
        self.revoked_on[tier][fi] = NAT
        self._table = None

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
                self._table = None

    def table(self) -> pl.DataFrame:
        """Every grant as a ``recognitions`` row (with firm index ``fi``), cached until changed."""
        if self._table is not None:
            return self._table
        if not self._n_rec:
            return pl.DataFrame()
        cols = {k: np.concatenate(v) for k, v in self._cols.items()}
        revoked = np.full(self._n_rec, NAT)
        for ids, d in self._revocations:
            revoked[ids] = d
        self._table = pl.DataFrame(
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
        return self._table
