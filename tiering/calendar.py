"""The rule calendar: which pack applies to a tier on a date, for a new application or a review.

Why data: provinces open rounds on their own dates, and the 2026 switch is staggered (specialized
and new little_giant applications switch on 2026-04-01; the 2026 little_giant review round still
uses the 2022 standard per 工信厅企业函〔2026〕117号; reviews from 2027 use the 2026 standard).
The dates live in ``tiering/packs/calendar.yaml``.

>>> import datetime as dt
>>> pack_for("specialized", dt.date(2026, 3, 31), "new")
'specialized-2022'
>>> pack_for("specialized", dt.date(2026, 4, 1), "new")
'specialized-2026'
>>> pack_for("little_giant", dt.date(2026, 9, 1), "review")
'little_giant-2022'
>>> pack_for("little_giant", dt.date(2027, 1, 1), "review")
'little_giant-2026'
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import yaml
from pydantic import ValidationError

from tiering.errors import PackError
from tiering.pack_model import TIER_ORDER, Calendar

__all__ = ["calendar", "load_calendar", "pack_for", "packs_in_force"]


def load_calendar(path: str | Path) -> Calendar:
    """Parse a calendar file; every pack it names must be a shipped tier pack."""
    from tiering.pack_loader import list_packs

    path = Path(path)
    try:
        cal = Calendar.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (ValidationError, yaml.YAMLError) as exc:
        raise PackError(f"{path.name}: invalid calendar: {exc}", value=path.name) from None
    known = set(list_packs())
    for i, e in enumerate(cal.entries):
        if e.pack not in known:
            raise PackError(
                f"{path.name}: entries.{i}.pack: unknown pack “{e.pack}”",
                field="pack",
                value=e.pack,
            )
    return cal


@functools.cache
def calendar() -> Calendar:
    """The shipped calendar (loaded once)."""
    from tiering.pack_loader import packs_dir

    return load_calendar(packs_dir() / "calendar.yaml")


def pack_for(tier: str, as_of: dt.date, application: str = "new") -> str | None:
    """Pack in force for ``tier`` on ``as_of`` (``None`` before the tier's first entry)."""
    best = None
    for e in calendar().entries:
        if (
            e.tier == tier
            and e.application == application
            and e.start <= as_of
            and (best is None or e.start >= best.start)
        ):
            best = e
    return best.pack if best else None


def packs_in_force(as_of: dt.date, application: str = "new") -> list[str]:
    """Tier packs in force on ``as_of`` for ``application``, in ladder order."""
    if application not in ("new", "review"):
        raise PackError(f"申请类型须为 new 或 review，收到“{application}”", field="application")
    out = [pack_for(t, as_of, application) for t in TIER_ORDER]
    return [p for p in out if p is not None]
