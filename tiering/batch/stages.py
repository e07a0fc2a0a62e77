"""The stages a batch run calls, as swappable functions (read, validate, features, rules, models).

Why a seam: the run's mechanics (temporary folder, manifest, reconciliation, publishing) must be
testable on their own — including a stage that fails half way — and each stage is another part's
public interface (contracts, features, rules, models). ``Stages()`` wires the real ones; a test
replaces one field with ``dataclasses.replace``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import polars as pl

__all__ = [
    "Assessment",
    "ModelOutput",
    "Stages",
    "input_files",
    "pack_versions",
    "predict_with_registry",
]


class Assessment(Protocol):
    """What ``tiering.engine.assess`` returns (§11 outputs)."""

    criteria: pl.DataFrame | pl.LazyFrame
    tiers: pl.DataFrame | pl.LazyFrame
    firms: pl.DataFrame | pl.LazyFrame


@dataclass(frozen=True)
class ModelOutput:
    """Per-firm predictions (``uscc``, ``p_<target>``, ``<flag>_learned``, ``reasons``) + provenance."""

    predictions: pl.DataFrame | None
    info: dict[str, Any]


def input_files(data_dir: Path) -> dict[str, Path]:
    """The input file of each contract table found in ``data_dir``."""
    from data_contracts.readers import find_table_file
    from data_contracts.tables import TABLES

    found = {name: find_table_file(data_dir, name) for name in TABLES}
    return {k: v for k, v in found.items() if v is not None}


def _read(files: Mapping[str, Path]) -> dict[str, pl.DataFrame]:
    from data_contracts.readers import read_table

    return {name: read_table(path, name) for name, path in files.items()}


def _validate(tables: Mapping[str, pl.DataFrame], as_of: date, gx: str, previous: Any) -> Any:
    from data_contracts.validate import validate_tables

    return validate_tables(tables, as_of, previous=previous, gx=gx)  # type: ignore[arg-type]


def _features(tables: Mapping[str, pl.DataFrame], as_of: date) -> pl.DataFrame:
    from features.asof import assessment_frame

    return assessment_frame(tables, as_of).collect()


def _rules(frame: pl.DataFrame, as_of: date) -> Assessment:
    from tiering.engine import assess

    return assess(frame, as_of)


def _models(frame: pl.DataFrame, tables: Mapping[str, pl.DataFrame], as_of: date) -> ModelOutput:
    """Predict with the registered ``champion`` models; rules only (and why) when there are none.

    Uses ``models.serving`` (``load_champions`` / ``predict`` / ``describe``) when the models part
    provides it, otherwise the registry directly: each target's champion is loaded (its SHA-256
    checked by ``models.registry.load_model``) and scores every firm.
    """
    try:
        from models import serving  # type: ignore[attr-defined]
    except ImportError:
        serving = None
    if serving is not None and hasattr(serving, "load_champions"):
        champions = serving.load_champions()
        if not champions:
            return ModelOutput(None, {"used": False, "reason": "注册表中没有 champion 模型"})
        predictions = serving.predict(champions, frame)
        return ModelOutput(predictions, {"used": True, "items": serving.describe(champions)})
    try:
        from models.registry import load_model
        from models.targets import TARGETS
    except ImportError as exc:
        return ModelOutput(None, {"used": False, "reason": f"模型组件不可用（{exc.name}）"})
    return predict_with_registry(frame, as_of, load_model, TARGETS)


def predict_with_registry(
    frame: pl.DataFrame,
    as_of: date,
    load_model: Callable[..., Any],
    targets: Sequence[str],
    *,
    reasons_top: int = 200,
    flag_threshold: float = 0.5,
) -> ModelOutput:
    """``p_<target>`` for every firm, ``<target>_learned`` flags (probability ≥ ``flag_threshold``
    among the firms the flag concerns), and top reasons for the ``reasons_top`` firms at the head
    of each target's list (explaining every firm would cost firms × features model passes)."""
    import numpy as np

    from models.dataset import model_frame
    from models.reasons import explain_frame

    loaded: dict[str, tuple[Any, Any]] = {}
    for target in targets:
        try:
            loaded[target] = load_model(target, "champion")
        except Exception as exc:  # no such model / alias: that target is simply not scored
            if type(exc).__name__ == "ModelIntegrityError":
                raise
    if not loaded:
        return ModelOutput(None, {"used": False, "reason": "注册表中没有 champion 模型"})
    X = model_frame(frame, as_of.year).collect()
    out = frame.select("uscc")
    reasons: list[list[str]] = [[] for _ in range(frame.height)]
    items = []
    for target, (model, mv) in loaded.items():
        p = np.asarray(model.predict_proba(X)[:, 1], dtype=np.float64)
        out = out.with_columns(pl.Series(f"p_{target}", p))
        if target in ("upsize", "delist"):
            # 小进规 concerns firms off the roster, 退规 firms on it: elsewhere the flag is moot
            on_roster = (
                frame["in_four_above"].fill_null(False)
                if "in_four_above" in frame.columns
                else pl.Series([target == "delist"] * frame.height)
            )
            at_risk = on_roster if target == "delist" else ~on_roster
            out = out.with_columns(
                ((pl.col(f"p_{target}") >= flag_threshold) & at_risk).alias(f"{target}_learned")
            )
        head = np.argsort(-p, kind="stable")[:reasons_top]
        texts = explain_frame(model, X[head.tolist()]).to_list()
        for i, t in zip(head.tolist(), texts, strict=True):
            reasons[i].extend(t or [])
        items.append(
            {
                "target": target,
                "name": getattr(mv, "name", None),
                "version": str(getattr(mv, "version", "")),
                "sha256": (getattr(mv, "tags", None) or {}).get("sha256"),
            }
        )
    out = out.with_columns(
        pl.Series("reasons", [r or None for r in reasons], dtype=pl.List(pl.String))
    )
    return ModelOutput(out, {"used": True, "items": items, "flag_threshold": flag_threshold})


def pack_versions(packs: list[str]) -> dict[str, dict[str, Any]]:
    """Version and SHA-256 of each rule pack a run used (from the shipped YAML)."""
    import yaml

    root = Path(__file__).resolve().parent.parent / "packs"
    out: dict[str, dict[str, Any]] = {}
    for pack in sorted(packs):
        path = root / f"{pack}.yaml"
        if not path.is_file():
            out[pack] = {"version": None, "sha256": None}
            continue
        data = path.read_bytes()
        meta = yaml.safe_load(data) or {}
        out[pack] = {
            "version": str(meta.get("version")) if meta.get("version") is not None else None,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    return out


@dataclass(frozen=True)
class Stages:
    """The functions a run calls; defaults are the real components."""

    read: Callable[[Mapping[str, Path]], dict[str, pl.DataFrame]] = _read
    validate: Callable[[Mapping[str, pl.DataFrame], date, str, Any], Any] = _validate
    features: Callable[[Mapping[str, pl.DataFrame], date], pl.DataFrame] = _features
    rules: Callable[[pl.DataFrame, date], Assessment] = _rules
    models: Callable[[pl.DataFrame, Mapping[str, pl.DataFrame], date], ModelOutput] = _models
