"""The batch run: score the city into an immutable run folder, publish it, write candidate lists.

``run_batch`` (``tiering score``), ``select_candidates`` / ``load_candidates`` and
``export_candidates`` (``tiering candidates`` and the API's ``/v1/candidates``).
"""

from __future__ import annotations

from tiering.batch.candidates import TARGETS, CandidateError, load_candidates, select_candidates
from tiering.batch.export import EXPORT_COLUMNS, export_candidates
from tiering.batch.manifest import Manifest, ReconciliationError
from tiering.batch.run import BatchError, RunResult, run_batch
from tiering.batch.runfolder import RunFolderError, complete_runs, resolve_run
from tiering.batch.stages import Stages

__all__ = [
    "EXPORT_COLUMNS",
    "TARGETS",
    "BatchError",
    "CandidateError",
    "Manifest",
    "ReconciliationError",
    "RunFolderError",
    "RunResult",
    "Stages",
    "complete_runs",
    "export_candidates",
    "load_candidates",
    "resolve_run",
    "run_batch",
    "select_candidates",
]
