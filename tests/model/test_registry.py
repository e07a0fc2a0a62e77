"""Registry: skops + SHA-256 integrity, aliases, evidence-based promotion with a ledger, serving."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from models import registry
from models.backtest import fit_target
from models.registry import ModelIntegrityError


@pytest.fixture(scope="module")
def store(tmp_path_factory, new_store, panel, fast_params):
    """A tmp sqlite MLflow store with two registered versions of the innovative model."""
    import mlflow

    from models.tracking import configure

    root = tmp_path_factory.mktemp("mlflow")
    uri = new_store(root)
    configure(uri)
    model = fit_target(panel, "innovative", [2020, 2021], 2022, fast_params)
    evidence = pl.DataFrame(
        {
            "target": ["innovative"] * 2,
            "year": [2022, 2023],
            "model": ["hgb"] * 2,
            "pr_auc": [0.30, 0.40],
            "brier": [0.10, 0.09],
        }
    )
    with mlflow.start_run():
        v1 = registry.register(model, "innovative", backtest=evidence)
        v2 = registry.register(model, "innovative", backtest=evidence)
    return {"uri": uri, "root": root, "model": model, "v1": int(v1.version), "v2": int(v2.version)}


def _set_evidence(version: int, evidence: dict) -> None:
    from mlflow import MlflowClient

    MlflowClient().set_model_version_tag(
        "tiering-innovative", str(version), "backtest", json.dumps(evidence)
    )


def _set_alias(alias: str, version: int) -> None:
    from mlflow import MlflowClient

    MlflowClient().set_registered_model_alias("tiering-innovative", alias, str(version))


def test_registered_version_records_sha256_and_loads_identically(store, panel):
    from models.tracking import configure

    configure(store["uri"])
    model, mv = registry.load_model("innovative", store["v1"])
    assert len(mv.tags["sha256"]) == 64
    X = panel.frame.filter(pl.col("year") == 2023).head(100).select(model.feature_names_)
    np.testing.assert_array_equal(model.predict_proba(X), store["model"].predict_proba(X))
    assert (
        "challenger"
        in registry.list_models().filter(pl.col("version") == store["v2"])["aliases"][0]
    )


def test_tampered_model_file_refuses_to_load(store):
    from models.tracking import configure

    configure(store["uri"])
    registry.load_model("innovative", store["v1"])
    files = [p for p in Path(store["root"]).rglob("model.skops")]
    assert files
    for f in files:
        f.write_bytes(f.read_bytes() + b"\0")  # every copy: whichever backs v1 is now altered
    with pytest.raises(ModelIntegrityError, match="SHA-256 不符"):
        registry.load_model("innovative", store["v1"])
    for f in files:
        f.write_bytes(f.read_bytes()[:-1])
    registry.load_model("innovative", store["v1"])  # restored file loads again


def test_version_without_recorded_hash_refuses_to_load(store):
    from mlflow import MlflowClient

    from models.tracking import configure

    configure(store["uri"])
    client = MlflowClient()
    client.delete_model_version_tag("tiering-innovative", str(store["v2"]), "sha256")
    try:
        with pytest.raises(ModelIntegrityError, match="没有登记 SHA-256"):
            registry.load_model("innovative", store["v2"])
    finally:
        _, mv = registry.load_model("innovative", store["v1"])
        client.set_model_version_tag(
            "tiering-innovative", str(store["v2"]), "sha256", mv.tags["sha256"]
        )


@pytest.mark.parametrize(
    ("champion", "challenger", "promoted", "why"),
    [
        ({"2023": {"pr_auc": 0.30, "brier": 0.1}}, {"2023": {"pr_auc": 0.35, "brier": 0.2}}, True, "PR-AUC"),
        ({"2023": {"pr_auc": 0.30, "brier": 0.1}}, {"2023": {"pr_auc": 0.25, "brier": 0.01}}, False, "未优于"),
        ({"2023": {"pr_auc": 0.30, "brier": 0.1}}, {"2023": {"pr_auc": 0.30, "brier": 0.05}}, True, "持平"),
        ({"2022": {"pr_auc": 0.9, "brier": 0.1}, "2023": {"pr_auc": 0.3, "brier": 0.1}},
         {"2022": {"pr_auc": 0.1, "brier": 0.1}, "2023": {"pr_auc": 0.4, "brier": 0.1}}, True, "2023"),
        ({"2021": {"pr_auc": 0.3, "brier": 0.1}}, {"2023": {"pr_auc": 0.9, "brier": 0.0}}, False, "共同"),
    ],
)  # fmt: skip
def test_promote_only_when_challenger_beats_champion_on_latest_common_year(
    store, tmp_path, champion, challenger, promoted, why
):
    from mlflow import MlflowClient

    from models.tracking import configure

    configure(store["uri"])
    _set_evidence(store["v1"], champion)
    _set_evidence(store["v2"], challenger)
    _set_alias("champion", store["v1"])
    _set_alias("challenger", store["v2"])
    ledger = tmp_path / "ledger.jsonl"
    d = registry.promote("innovative", by="区经信局-张三", note="季度复盘", ledger=ledger)
    assert d.promoted is promoted and why in d.reason
    now = MlflowClient().get_model_version_by_alias("tiering-innovative", "champion").version
    assert int(now) == (store["v2"] if promoted else store["v1"])
    entry = json.loads(ledger.read_text(encoding="utf-8").splitlines()[-1])
    assert entry["by"] == "区经信局-张三" and entry["promoted"] is promoted
    assert entry["champion_before"] == store["v1"] and entry["challenger"] == store["v2"]
    assert entry["at"].endswith("+00:00") and entry["note"] == "季度复盘"


def test_first_promotion_without_champion(store, tmp_path):
    from mlflow import MlflowClient

    from models.tracking import configure

    configure(store["uri"])
    client = MlflowClient()
    client.delete_registered_model_alias("tiering-innovative", "champion")
    d = registry.promote("innovative", by="ops", ledger=tmp_path / "l.jsonl")
    assert d.promoted and d.champion_before is None and "尚无冠军" in d.reason


def test_champions_serve_probabilities_and_reasons(store, panel):
    from models.scoring import load_champions

    _set_alias("champion", store["v1"])
    champs = load_champions(store["uri"])
    assert champs is not None and set(champs.models) == {"innovative"}
    assert "champion" in champs.notes  # 单项冠军: rules only, stated
    firms = panel.frame.filter(pl.col("year") == 2023).head(200)
    out = champs.predict(firms, reasons_top=20)
    assert out["uscc"].to_list() == firms["uscc"].to_list()
    held = firms["held_innovative"].cast(pl.Boolean).to_numpy()
    p = out["p_innovative"]
    assert p.filter(pl.Series(held)).null_count() == int(held.sum())  # holders are not at risk
    assert p.filter(pl.Series(~held)).null_count() == 0
    assert out["p_upsize"].null_count() == out.height  # no model for upsize: no probability
    n_explained = sum(1 for r in out["reasons_innovative"].to_list() if r)
    assert 0 < n_explained <= 20


def test_no_registered_model_means_rules_only(fresh_store):
    from models.scoring import load_champions

    assert load_champions(fresh_store) is None


@pytest.fixture
def settings_uri(monkeypatch):
    """Point the process settings (what the batch's model load reads) at a given MLflow store."""
    from tiering.settings import get_settings

    def use(uri: str) -> None:
        monkeypatch.setenv("TIERING_MLFLOW_URI", uri)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def test_batch_load_without_champion_means_rules_only(fresh_store, settings_uri):
    from models.scoring import NO_MODEL_NOTE
    from tiering.batch.stages import load_models

    settings_uri(fresh_store)
    assert load_models() == type(load_models())(None, NO_MODEL_NOTE)


def test_tampered_champion_stops_the_batch_in_its_models_stage(
    store, settings_uri, city_dir, tmp_path
):
    """The champions load in the background while the batch reads its inputs; a file whose
    SHA-256 differs still stops the run with the registry's own error, and nothing is written."""
    from datetime import date

    from models.tracking import configure
    from tiering.batch import run_batch
    from tiering.batch.stages import load_models

    configure(store["uri"])
    _set_alias("champion", store["v1"])
    settings_uri(store["uri"])
    assert set(load_models().champions.models) == {"innovative"}
    files = list(Path(store["root"]).rglob("model.skops"))
    for f in files:
        f.write_bytes(f.read_bytes() + b"\0")
    try:
        with pytest.raises(ModelIntegrityError, match="SHA-256 不符") as err:
            run_batch(city_dir, date(2025, 6, 30), tmp_path / "runs", gx="off", progress=False)
        assert err.value.field == "sha256"
    finally:
        for f in files:
            f.write_bytes(f.read_bytes()[:-1])
    assert not (tmp_path / "runs").exists() or not [
        p for p in (tmp_path / "runs").iterdir() if p.name != ".lock"
    ]
