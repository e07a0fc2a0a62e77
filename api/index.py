"""In-memory index of the latest published run: scope checks, search and paging without SQL.

Why: every look-up first asks "does this firm exist, and is it in the caller's districts?" and
every search filters by name, district and tier. Holding the run's light columns (uscc, name,
district, tiers, probability — a few dozen bytes a firm, ~100 MB at 1 M firms) in a polars frame
plus a ``uscc → district`` dict answers both in microseconds to milliseconds, and the store is
only asked for the one row a look-up returns. Built once at start-up (and on reload).

>>> import datetime as dt
>>> f = pl.DataFrame({"uscc": ["B", "A"], "name": ["乙公司", "甲公司"], "district": ["420106", "420111"],
...     "held_tier": [None, "innovative"], "eligible_tier": ["innovative", "specialized"]})
>>> idx = FirmIndex("run-1", dt.date(2025, 6, 30), f)
>>> idx.district_of("A"), "Z" in idx
('420111', False)
>>> total, rows = idx.search(name="甲", districts=None)
>>> total, rows[0]["uscc"]
(1, 'A')
>>> idx.search(districts=("420106",))[0]
1
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import polars as pl

__all__ = ["FirmIndex"]


class FirmIndex:
    """The light columns of one run, sorted by uscc, with O(1) membership and district."""

    def __init__(self, run_id: str, as_of: dt.date, frame: pl.DataFrame) -> None:
        self.run_id = run_id
        self.as_of = as_of
        self.frame = frame.sort("uscc").rechunk()
        self._district: dict[str, str | None] = dict(
            zip(self.frame["uscc"].to_list(), self.frame["district"].to_list(), strict=True)
        )

    def __len__(self) -> int:
        return self.frame.height

    def __contains__(self, uscc: object) -> bool:
        return uscc in self._district

    def district_of(self, uscc: str) -> str | None:
        """The firm's district (``None`` if unknown or absent; check ``in`` first)."""
        return self._district.get(uscc)

    def search(
        self,
        *,
        name: str | None = None,
        district: str | None = None,
        tier: str | None = None,
        eligible_tier: str | None = None,
        next_tier: str | None = None,
        districts: Collection[str] | None,
        page: int = 1,
        size: int = 50,
    ) -> tuple[int, list[dict[str, Any]]]:
        """Filter, count and page; ``districts=None`` means city-wide (bureau)."""
        preds: list[pl.Expr] = []
        if districts is not None:
            preds.append(pl.col("district").is_in(list(districts)))
        if district is not None:
            preds.append(pl.col("district") == district)
        if name:
            preds.append(pl.col("name").str.contains(name, literal=True))
        for col, val in (
            ("held_tier", tier),
            ("eligible_tier", eligible_tier),
            ("next_tier", next_tier),
        ):
            if val is not None:
                preds.append(pl.col(col).is_null() if val == "none" else pl.col(col) == val)
        hits = self.frame.filter(*preds) if preds else self.frame
        start = (page - 1) * size
        return hits.height, hits.slice(start, size).to_dicts()
