"""The stages a batch run calls, as swappable functions (read, validate, features, rules, models).

Why a seam: the run's mechanics (temporary folder, manifest, reconciliation, publishing) must be
testable on their own — including a stage that fails half way — and each stage is another part's
public interface (contracts, features, rules, models). ``Stages()`` wires the real ones; a test
replaces one field with ``dataclasses.replace``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl

__all__ = [
    "Assessment",
    "LoadedModels",
    "ModelOutput",
    "Stages",
    "history_only_columns",
    "input_files",
    "learned_columns",
    "load_models",
    "pack_versions",
    "score_models",
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


@dataclass(frozen=True)
class LoadedModels:
    """What :func:`load_models` found: the champions, or why the run scores by the rules only."""

    champions: Any | None
    reason: str | None = None


def input_files(data_dir: Path) -> dict[str, Path]:
    """The input file of each contract table found in ``data_dir``."""
    from data_contracts.readers import find_table_file
    from data_contracts.tables import TABLES

    found = {name: find_table_file(data_dir, name) for name in TABLES}
    return {k: v for k, v in found.items() if v is not None}


def _read(
    files: Mapping[str, Path], money_unit: str = "wan", industry_codes: str = "current"
) -> dict[str, pl.DataFrame]:
    """Each input file through the contracts' reader (header aliases, units, code versions).

    ``money_unit="yuan"`` converts 元 extracts to the contract's 万元; ``industry_codes="pre2019"``
    recodes GB/T 4754-2011 industry codes to 2017 — both as declared by the operator.
    """
    from data_contracts.readers import read_table

    return {
        name: read_table(path, name, money_unit=money_unit, industry_codes=industry_codes)  # type: ignore[arg-type]
        for name, path in files.items()
    }


def _validate(tables: Mapping[str, pl.DataFrame], as_of: date, gx: str, previous: Any) -> Any:
    from data_contracts.validate import validate_tables

    return validate_tables(tables, as_of, previous=previous, gx=gx)  # type: ignore[arg-type]


def _features(
    tables: Mapping[str, pl.DataFrame], as_of: date, *, history: bool = False
) -> pl.DataFrame:
    """The §11 frame; with ``history`` also the older figures the models read.

    Why here: the models' history features need Y−2…Y−4 figures. Built in the same query as the
    frame they add ~2–3 s at 1 M firms; rebuilt from the input tables inside the models stage
    they cost a second full frame (~5 s more) and keep the input tables (~1.3 GB) alive until
    then. The columns are identical either way (one function, ``assessment_frame``; a test in
    ``tests/unit/batch/test_real_pipeline.py`` checks it).
    """
    from features.asof import assessment_frame

    return assessment_frame(tables, as_of, history=history).collect()


def history_only_columns(frame: pl.DataFrame) -> list[str]:
    """The columns of ``frame`` that ``assessment_frame(..., history=True)`` adds for the models.

    The run drops them before the rules so the rules, the scores and the store see exactly the
    frame a rules-only run sees.
    """
    from features.asof import HISTORY_COLUMNS

    extra = (*HISTORY_COLUMNS, "standards_count_y1")  # the latter: asof's history-mode extra
    return [c for c in extra if c in frame.columns]


def _rules(frame: pl.DataFrame, as_of: date) -> Assessment:
    from tiering.engine import assess

    return assess(frame, as_of)


REASONS_TOP = 2_000
"""Firms per target that get Chinese reasons in a batch run (= the candidate lists' default)."""
FLAG_THRESHOLD = 0.5


def load_models() -> LoadedModels:
    """Load the registered ``champion`` models (imports, SHA-256 checks, deserialising).

    Needs no data, so a run starts it in the background at its very start (``run_batch``) and
    the models stage only waits for it: at 1 M firms the ~3.5 s it takes (mostly MLflow, sklearn
    and skops imports) then overlap reading and validating the inputs. Errors (a broken registry,
    a file whose SHA-256 differs) propagate to whoever takes the result; no registered champion
    or no model libraries installed is not an error but a reason to score by the rules only.
    """
    try:
        from models.scoring import NO_MODEL_NOTE, load_champions
    except ImportError as exc:
        return LoadedModels(None, f"模型组件不可用（{exc.name}）")
    from tiering.settings import get_settings

    champions = load_champions(get_settings().resolved_mlflow_uri)
    return LoadedModels(champions, None if champions is not None else NO_MODEL_NOTE)


def score_models(
    frame: pl.DataFrame,
    tables: Mapping[str, pl.DataFrame] | None,
    as_of: date,
    loaded: LoadedModels | None = None,
    *,
    reasons_top: int = REASONS_TOP,
) -> ModelOutput:
    """Score with the registered ``champion`` models (``models.scoring``; each file's SHA-256 is
    checked when loaded); rules only, and why, when none is registered.

    ``loaded`` is what :func:`load_models` returned (loaded now when not given). ``frame`` should
    carry the history columns (``_features(..., history=True)``); otherwise ``tables`` must be
    given and the history is rebuilt from them — with neither the models refuse to score
    (``MissingHistoryError``) rather than read the history as unknown.

    Probabilities cover every firm; the Chinese reasons (the costly part: ~7–12 ms a firm in
    ``models.reasons.explain``) only the ``reasons_top`` most likely firms of each target — the
    ones the candidate lists show.
    """
    loaded = loaded if loaded is not None else load_models()
    champions = loaded.champions
    if champions is None:
        return ModelOutput(None, {"used": False, "reason": loaded.reason})
    raw = champions.predict(frame, as_of=as_of, tables=tables, reasons_top=reasons_top)
    items = [
        {"target": t, "name": f"tiering-{t}", "version": str(v)}
        for t, v in sorted(champions.versions.items())
    ]
    info = {
        "used": True,
        "items": items,
        "notes": champions.notes,
        "flag_threshold": FLAG_THRESHOLD,
        "reasons_top": reasons_top,
    }
    return ModelOutput(learned_columns(raw), info)


def learned_columns(raw: pl.DataFrame, threshold: float = FLAG_THRESHOLD) -> pl.DataFrame:
    """From ``p_<target>`` / ``reasons_<target>``: the learned 小进规 / 退规 flags (probability ≥
    ``threshold``; the models leave ``p`` null where a firm is not at risk) and one ``reasons``
    list of ``{target, text}`` across targets (what the store and the API carry).

    >>> raw = pl.DataFrame({"uscc": ["A"], "p_delist": [0.7], "reasons_delist": [["营业收入下降"]]})
    >>> learned_columns(raw).row(0, named=True)["reasons"]
    [{'target': 'delist', 'text': '营业收入下降'}]
    """
    out = raw
    for target in ("upsize", "delist"):
        if f"p_{target}" in raw.columns:
            out = out.with_columns(
                (pl.col(f"p_{target}") >= threshold).fill_null(False).alias(f"{target}_learned")
            )
    reason_cols = [c for c in raw.columns if c.startswith("reasons_")]
    if not reason_cols:
        return out
    parts = [
        pl.col(c)
        .fill_null([])
        .list.eval(
            pl.struct(
                pl.lit(c.removeprefix("reasons_")).alias("target"), pl.element().alias("text")
            )
        )
        for c in reason_cols
    ]
    # reasons exist for the few thousand firms each candidate list shows: merge the lists on
    # those rows only and give every other firm an empty list (at 1 M firms: ~0.8 s, not ~3.3 s)
    has = pl.any_horizontal([pl.col(c).list.len().fill_null(0) > 0 for c in reason_cols])
    rows = raw.select(pl.arg_where(has)).to_series().to_numpy()
    merged = raw[rows].select(pl.concat_list(parts).alias("reasons"))["reasons"]
    pos = np.full(raw.height, len(rows), dtype=np.int64)  # → the empty list appended below
    pos[rows] = np.arange(len(rows))
    empty = pl.Series("reasons", [[]], dtype=merged.dtype)
    return out.with_columns(pl.concat([merged, empty]).gather(pos).alias("reasons"))


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
    """The functions a run calls; defaults are the real components.

    ``load_models`` runs in a background thread from the start of a run; ``models`` receives its
    result. ``features`` is called with ``history=True`` when the models will be used.
    """

    read: Callable[..., dict[str, pl.DataFrame]] = _read
    validate: Callable[[Mapping[str, pl.DataFrame], date, str, Any], Any] = _validate
    features: Callable[..., pl.DataFrame] = _features
    rules: Callable[[pl.DataFrame, date], Assessment] = _rules
    load_models: Callable[[], Any] = load_models
    models: Callable[[pl.DataFrame, Mapping[str, pl.DataFrame] | None, date, Any], ModelOutput] = (
        score_models
    )
