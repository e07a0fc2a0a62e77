"""MLflow tracking, offline: where runs go, and what every training run records.

Why: a probability handed to a district must be traceable to the data, code and rules that made
it. Each run logs its parameters, backtest metrics, the feature list, a SHA-256 fingerprint of the
training panel, the rule pack versions in force and the calibration plots.

The store is a local SQLite file by default (``Settings.resolved_mlflow_uri``; set
``TIERING_MLFLOW_URI`` for PostgreSQL, e.g. ``postgresql+psycopg://…``). Telemetry is switched
off and nothing leaves the machine. MLflow is imported inside functions only (it is slow to
import and the CLI's ``--help`` must stay fast).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

__all__ = ["EXPERIMENT", "configure", "data_fingerprint", "log_training_run", "pack_versions"]

EXPERIMENT = "tiering"
_OFFLINE = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


def configure(uri: str | None = None, artifact_root: Path | None = None) -> str:
    """Point MLflow (tracking and registry) at ``uri`` and select the ``tiering`` experiment.

    Default store: the settings' ``resolved_mlflow_uri`` (SQLite in ``TIERING_HOME``). Artifacts
    (model files, plots) go to ``artifact_root``, by default ``mlartifacts/`` next to a SQLite
    file or in ``TIERING_HOME`` — never into the current directory.
    """
    for k, v in _OFFLINE.items():
        os.environ[k] = v
    from tiering.settings import get_settings

    home = get_settings().home
    uri = uri or get_settings().resolved_mlflow_uri
    if uri.startswith("sqlite:///"):
        db = Path(uri.removeprefix("sqlite:///"))
        db.parent.mkdir(parents=True, exist_ok=True)
        root = artifact_root or db.parent / "mlartifacts"
    else:
        root = artifact_root or home / "mlartifacts"
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        Path(root).mkdir(parents=True, exist_ok=True)
        mlflow.create_experiment(EXPERIMENT, artifact_location=Path(root).resolve().as_uri())
    mlflow.set_experiment(EXPERIMENT)
    return uri


def data_fingerprint(frame: pl.DataFrame, keys: Iterable[str] = ("uscc", "year")) -> str:
    """SHA-256 of the panel's content, independent of row order (rows sorted by ``keys``).

    >>> a = pl.DataFrame({"uscc": ["B", "A"], "year": [2024, 2024], "x": [1.0, 2.0]})
    >>> data_fingerprint(a) == data_fingerprint(a.reverse()), len(data_fingerprint(a))
    (True, 64)
    """
    keys = [k for k in keys if k in frame.columns]
    ordered = frame.sort(keys) if keys else frame
    buf = io.BytesIO()
    ordered.write_ipc(buf, compression="uncompressed")
    h = hashlib.sha256()
    h.update(json.dumps({c: str(t) for c, t in ordered.schema.items()}).encode())
    h.update(buf.getbuffer())
    return h.hexdigest()


def pack_versions(as_of: date | None = None) -> dict[str, str]:
    """Rule packs in force on ``as_of`` (via the rule engine), or the shipped pack files' hashes."""
    try:
        from tiering.engine import packs_in_force  # issue 2

        d = as_of or date.today()
        return {
            "new": ",".join(packs_in_force(d, "new")),
            "review": ",".join(packs_in_force(d, "review")),
        }
    except Exception:  # engine absent or not ready: fall back to the files themselves
        root = Path(__file__).resolve().parent.parent / "tiering" / "packs"
        return {
            p.stem: hashlib.sha256(p.read_bytes()).hexdigest()[:12]
            for p in sorted(root.glob("*.yaml"))
        }


def log_training_run(
    *,
    params: Mapping[str, Any],
    metrics: pl.DataFrame,
    features: Iterable[str],
    fingerprint: str,
    packs: Mapping[str, str],
    plots: Iterable[Path] = (),
    tables: Mapping[str, pl.DataFrame] | None = None,
) -> None:
    """Log one training run's evidence into the *active* MLflow run.

    ``metrics`` is the backtest table (target, year, model, metric columns); each numeric metric is
    logged as ``<target>.<model>.<metric>`` with ``step = year`` so MLflow plots it over time.
    """
    import mlflow

    mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
    mlflow.set_tags({"data_fingerprint": fingerprint, **{f"pack.{k}": v for k, v in packs.items()}})
    mlflow.log_dict({"features": list(features)}, "features.json")
    mlflow.log_dict(dict(packs), "rule_packs.json")
    if metrics.height:
        numeric = [c for c, t in metrics.schema.items() if t.is_numeric() and c != "year"]
        for row in metrics.iter_rows(named=True):
            for c in numeric:
                v = row[c]
                if v is not None and v == v:  # skip NaN
                    mlflow.log_metric(
                        f"{row['target']}.{row['model']}.{c}", float(v), step=int(row["year"])
                    )
        mlflow.log_text(metrics.write_csv(), "backtest_metrics.csv")
    for name, t in (tables or {}).items():
        mlflow.log_text(t.write_csv(), f"{name}.csv")
    for p in plots:
        mlflow.log_artifact(str(p), "plots")
