"""Training panels: the assessment frame (and model features) as of many dates, stacked.

Why lazy and per-date: each date's frame is built from the raw tables exactly as the batch would
build it on that date (point-in-time by construction), so a model trained on the panel never sees
a figure from after its row's date. Polars runs the per-date plans in parallel.

>>> from datetime import date
>>> firms = pl.DataFrame({"uscc": ["A"], "established": [date(2020, 1, 1)]})
>>> p = training_panel({"firms": firms}, [date(2024, 1, 1), date(2025, 1, 1)], strict=False)
>>> p.select("as_of", "uscc").collect().rows()
[(datetime.date(2024, 1, 1), 'A'), (datetime.date(2025, 1, 1), 'A')]
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import polars as pl

from features.asof import Tables, assessment_frame
from features.model_features import model_features

__all__ = ["training_panel"]


def training_panel(
    tables: Tables,
    dates: Iterable[date],
    *,
    features: bool = True,
    history: bool = True,
    strict: bool = True,
) -> pl.LazyFrame:
    """One assessment frame per date (with its ``as_of``), stacked in date order, lazily.

    ``features`` appends ``model_features``; ``history`` builds each frame with the extra history
    columns (``HISTORY_COLUMNS``) the ``needs_history`` features read. Rows are ordered by
    ``(as_of, uscc)``; a firm appears once per date on which it is in the population.
    """
    ds = sorted(set(dates))
    if not ds:
        raise ValueError("training_panel needs at least one date")
    tables = {k: v.lazy() for k, v in tables.items() if v is not None}
    parts = []
    for d in ds:
        frame = assessment_frame(tables, d, history=history, strict=strict)
        parts.append(model_features(frame) if features else frame)
    return pl.concat(parts, how="vertical")
