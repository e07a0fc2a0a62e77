"""梯度培育 — enterprise tiering: official SME-ladder rules, learned scorer, batch runs.

The public entry point of the rule engine is :func:`tiering.engine.assess` (re-exported lazily here
so that ``import tiering`` stays cheap for the CLI).
"""

from __future__ import annotations

__all__ = ["__version__", "assess"]
__version__ = "0.1.0"


def __getattr__(name: str):  # lazy re-export: importing the engine pulls polars + YAML packs
    if name == "assess":
        from tiering.engine import assess

        return assess
    raise AttributeError(name)
