"""The model registry: ``tiering-<target>`` with aliases ``champion`` / ``challenger``.

Why these rules:

* **Safe format.** Models are logged with MLflow's sklearn flavour in the *skops* format, which
  refuses to construct any type outside an explicit allow-list (``TRUSTED_TYPES``); pickle/joblib
  would execute whatever the file says. ``pip_requirements`` are passed so MLflow does not import
  and probe the environment to infer them.
* **Integrity.** The SHA-256 of the model file is recorded on the model version at registration
  and checked before every load; a mismatch refuses to load (``ModelIntegrityError``).
* **Promotion is evidence-based and recorded.** ``promote`` moves ``champion`` only when the
  challenger beats it on the latest backtest year both were evaluated on — higher PR-AUC (the
  ranking of rare positives staff act on), ties broken by lower Brier score. MLflow keeps no
  history of which version held an alias when, so every decision (promoted or refused) is appended
  to a JSON-lines promotion ledger: who, when (UTC), why, the versions and the metrics compared.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from models.targets import TARGETS
from tiering.errors import TieringError

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "TRUSTED_TYPES",
    "ModelIntegrityError",
    "PromotionDecision",
    "default_ledger",
    "list_models",
    "load_model",
    "model_name",
    "promote",
    "register",
    "sha256_file",
]

CHAMPION, CHALLENGER = "champion", "challenger"
MODEL_FILE = "model.skops"
TIE = 1e-9
TRUSTED_TYPES: list[str] = [
    "models.estimator.TierScorer",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
]


class ModelIntegrityError(TieringError, RuntimeError):
    """A model file whose SHA-256 differs from the one recorded at registration, or untrusted."""


def model_name(target: str) -> str:
    """Registered model name of a target.

    >>> model_name("little_giant")
    'tiering-little_giant'
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; expected one of {TARGETS}")
    return f"tiering-{target}"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{p}=={version(p)}" for p in ("scikit-learn", "skops", "numpy", "scipy", "polars")]


def register(model: Any, target: str, *, backtest: pl.DataFrame | None = None) -> Any:
    """Log ``model`` in the active run (skops), register it with its SHA-256, alias ``challenger``.

    ``backtest`` (the scorer's rows of the backtest table) is stored on the version as the
    evidence ``promote`` compares: ``{year: {"pr_auc": …, "brier": …}}``.
    """
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient

    name = model_name(target)
    info = mlflow.sklearn.log_model(
        model,
        name=f"model-{target}",
        serialization_format="skops",
        skops_trusted_types=TRUSTED_TYPES,
        pip_requirements=_pip_requirements(),
    )
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=info.model_uri, dst_path=tmp))
        digest = sha256_file(local / MODEL_FILE)
    evidence = _evidence(backtest, target)
    tags = {
        "target": target,
        "sha256": digest,
        "model_file": MODEL_FILE,
        "backtest": json.dumps(evidence, sort_keys=True),
        "calibration": getattr(model, "calibration_method_", ""),
    }
    version = mlflow.register_model(info.model_uri, name, tags=tags)
    client = MlflowClient()
    client.set_registered_model_alias(name, CHALLENGER, version.version)
    return version


def _evidence(backtest: pl.DataFrame | None, target: str) -> dict[str, dict[str, float]]:
    if backtest is None or backtest.height == 0:
        return {}
    rows = backtest.filter((pl.col("target") == target) & (pl.col("model") == "hgb"))
    return {
        str(r["year"]): {"pr_auc": float(r["pr_auc"]), "brier": float(r["brier"])}
        for r in rows.iter_rows(named=True)
    }


def _version(client: Any, name: str, ref: str | int) -> Any:
    if isinstance(ref, int) or str(ref).isdigit():
        return client.get_model_version(name, str(ref))
    return client.get_model_version_by_alias(name, str(ref))


def load_model(target: str, ref: str | int = CHAMPION) -> tuple[Any, Any]:
    """Load a registered model (alias or version) after checking its SHA-256 and its types.

    Returns ``(model, model_version)``. Raises ``ModelIntegrityError`` if the file's hash differs
    from the one recorded at registration or the file holds a type outside ``TRUSTED_TYPES``.
    """
    import mlflow
    import skops.io as sio
    from mlflow import MlflowClient

    client = MlflowClient()
    name = model_name(target)
    mv = _version(client, name, ref)
    expected = (mv.tags or {}).get("sha256")
    if not expected:
        raise ModelIntegrityError(
            f"{name} 版本 {mv.version} 没有登记 SHA-256，拒绝加载", field="sha256", value=mv.version
        )
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}/{mv.version}", dst_path=tmp
            )
        )
        path = local / (mv.tags.get("model_file") or MODEL_FILE)
        actual = sha256_file(path)
        if actual != expected:
            raise ModelIntegrityError(
                f"{name} 版本 {mv.version} 的模型文件 SHA-256 不符（登记 {expected[:12]}…，"
                f"实际 {actual[:12]}…），文件可能被篡改，拒绝加载",
                field="sha256",
                value=actual,
            )
        untrusted = sorted(set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
        if untrusted:
            raise ModelIntegrityError(
                f"{name} 版本 {mv.version} 含不受信任的类型 {untrusted}，拒绝加载", field="types"
            )
        model = sio.load(path, trusted=TRUSTED_TYPES)
    return model, mv


def list_models() -> pl.DataFrame:
    """One row per registered version of every target: version, aliases, SHA-256, evidence."""
    from mlflow import MlflowClient

    client = MlflowClient()
    rows = []
    for t in TARGETS:
        name = model_name(t)
        versions = client.search_model_versions(f"name='{name}'")
        if not versions:
            continue
        by_version: dict[str, list[str]] = {}
        for alias, v in client.get_registered_model(name).aliases.items():
            by_version.setdefault(str(v), []).append(alias)
        for mv in versions:
            ev = json.loads((mv.tags or {}).get("backtest") or "{}")
            last = max(ev, default=None)
            rows.append(
                {
                    "target": t,
                    "version": int(mv.version),
                    "aliases": ",".join(sorted(by_version.get(str(mv.version), []))),
                    "created": datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC).isoformat(
                        timespec="seconds"
                    ),
                    "sha256": (mv.tags or {}).get("sha256", "")[:12],
                    "calibration": (mv.tags or {}).get("calibration", ""),
                    "latest_year": int(last) if last else None,
                    "pr_auc": ev[last]["pr_auc"] if last else None,
                    "brier": ev[last]["brier"] if last else None,
                    "run_id": mv.run_id,
                }
            )
    schema = {"target": pl.String, "version": pl.Int64, "aliases": pl.String, "created": pl.String,
              "sha256": pl.String, "calibration": pl.String, "latest_year": pl.Int64,
              "pr_auc": pl.Float64, "brier": pl.Float64, "run_id": pl.String}  # fmt: skip
    return pl.DataFrame(rows, schema=schema).sort("target", "version")


@dataclass(frozen=True)
class PromotionDecision:
    """What ``promote`` decided and why (also the ledger entry)."""

    target: str
    promoted: bool
    reason: str
    challenger: int | None
    champion_before: int | None
    year: int | None
    challenger_metrics: dict[str, float] | None
    champion_metrics: dict[str, float] | None
    by: str
    at: str
    note: str = ""


def default_ledger() -> Path:
    """The promotion ledger next to the MLflow store (``<home>/model_promotions.jsonl``)."""
    from tiering.settings import get_settings

    return get_settings().home / "model_promotions.jsonl"


def _beats(ch: dict[str, float], cp: dict[str, float]) -> tuple[bool, str]:
    if ch["pr_auc"] > cp["pr_auc"] + TIE:
        return True, f"PR-AUC {ch['pr_auc']:.4f} > {cp['pr_auc']:.4f}"
    if abs(ch["pr_auc"] - cp["pr_auc"]) <= TIE and ch["brier"] < cp["brier"] - TIE:
        return True, f"PR-AUC 持平，Brier {ch['brier']:.5f} < {cp['brier']:.5f}"
    return False, (
        f"PR-AUC {ch['pr_auc']:.4f} 对 {cp['pr_auc']:.4f}、Brier {ch['brier']:.5f} 对 "
        f"{cp['brier']:.5f}，未优于现任冠军"
    )


def promote(
    target: str, *, by: str | None = None, note: str = "", ledger: Path | None = None
) -> PromotionDecision:
    """Move ``champion`` to the ``challenger`` version if it wins on the latest common year.

    With no champion yet, the challenger becomes champion. Every decision is appended to the
    ledger (default :func:`default_ledger`).
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    name = model_name(target)
    who = by or getpass.getuser()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        ch = client.get_model_version_by_alias(name, CHALLENGER)
    except MlflowException as e:
        raise TieringError(
            f"{name} 没有 challenger 版本，先运行 tiering train", field="alias"
        ) from e
    try:
        cp = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        cp = None
    ev_ch = json.loads(ch.tags.get("backtest") or "{}")
    year: int | None = None
    m_ch = m_cp = None
    if cp is None:
        ok, why = True, "尚无冠军模型，挑战者直接成为冠军"
    elif cp.version == ch.version:
        ok, why = False, "挑战者与冠军是同一版本"
    else:
        ev_cp = json.loads(cp.tags.get("backtest") or "{}")
        common = sorted(set(ev_ch) & set(ev_cp))
        if not common:
            ok, why = False, "两个版本没有共同的回测年份，无法比较"
        else:
            year = int(common[-1])
            m_ch, m_cp = ev_ch[common[-1]], ev_cp[common[-1]]
            ok, why = _beats(m_ch, m_cp)
            why = f"{year} 年回测：{why}"
    if ok:
        client.set_registered_model_alias(name, CHAMPION, ch.version)
    decision = PromotionDecision(
        target=target,
        promoted=ok,
        reason=why,
        challenger=int(ch.version),
        champion_before=int(cp.version) if cp is not None else None,
        year=year,
        challenger_metrics=m_ch,
        champion_metrics=m_cp,
        by=who,
        at=now,
        note=note,
    )
    path = Path(ledger) if ledger is not None else default_ledger()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(asdict(decision), ensure_ascii=False) + "\n")
    return decision
