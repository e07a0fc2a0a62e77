"""Learned scorers: calibrated next-year probabilities per tier, 小进规 and 退规.

Public entry points (imported lazily so ``import models`` stays cheap):

- :func:`models.scoring.load_champions` / :func:`models.scoring.predict` — serve the registered
  ``champion`` models (SHA-256 checked): per-firm ``p_<target>`` and Chinese ``reasons_<target>``;
  ``None`` when no model is registered (the service then runs the rules only).
- :func:`models.pipeline.train` / :func:`models.pipeline.evaluate` — training with a rolling,
  time-only backtest, tracked in MLflow; registered as ``tiering-<target>`` (alias challenger).
- :func:`models.registry.promote` — evidence-based promotion to ``champion`` with a ledger.
- :data:`models.targets.TARGETS` — innovative, specialized, little_giant, upsize, delist
  (``champion`` is rules only).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["TARGETS", "evaluate", "load_champions", "predict", "promote", "train"]

_WHERE = {
    "TARGETS": "models.targets",
    "load_champions": "models.scoring",
    "predict": "models.scoring",
    "train": "models.pipeline",
    "evaluate": "models.pipeline",
    "promote": "models.registry",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'models' has no attribute {name!r}")
