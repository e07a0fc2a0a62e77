"""A published firm's ``detail`` (verdicts, gaps, figures, probabilities, reasons), from its run
folder.

Why from the folder: ``firm_results`` keeps each firm's typed columns only (see
``publish.typed_rows``); every detail field is in the folder's ``scores.parquet``, as every
criterion is in its ``criteria.parquet``. The compact ``detail`` text is rebuilt here with the
same function that defines it (``publish.detail_rows``), so a record reads back exactly as when
the store held it. A folder that is gone (pruned, moved) gives no detail: the record keeps its
typed columns and its detail fields read as missing. Runs published before the store stopped
holding ``detail`` still have it in their rows, and those rows are read as they are.

This is the reader for the ``Store`` facade and the CLI (a filtered scan of the parquet file, a
few milliseconds to tens of them); the API maps the detail of the run it serves instead
(``api.detail_cache``).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import polars as pl

from tiering.store.publish import detail_rows

__all__ = ["SCORES_FILE", "folder_details"]

SCORES_FILE = "scores.parquet"


def folder_details(run_dir: str | Path | None, usccs: Collection[str]) -> dict[str, str]:
    """``uscc → detail`` of these firms, from ``run_dir``'s scores (``{}`` when it is gone)."""
    if not run_dir or not usccs:
        return {}
    path = Path(run_dir) / SCORES_FILE
    if not path.is_file():
        return {}
    scores = pl.scan_parquet(path).filter(pl.col("uscc").is_in(list(usccs))).collect()
    return dict(detail_rows(scores).iter_rows()) if scores.height else {}
