"""End to end on a small simulated city: train → MLflow evidence → promote → serve."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest


def test_outcome_years_need_a_prior_financial_year(city):
    from models.pipeline import outcome_years

    assert outcome_years(city) == [2020, 2021, 2022, 2023, 2024, 2025]
    assert outcome_years(city, until=2023)[-1] == 2023


@pytest.mark.slow
def test_train_logs_evidence_registers_promotes_and_serves(
    city, fresh_store, tmp_path, monkeypatch
):
    import mlflow
    from mlflow import MlflowClient

    from features.asof import assessment_frame
    from models.pipeline import train
    from models.registry import promote
    from models.scoring import MissingHistoryError, load_champions

    monkeypatch.setenv("TIERING_HOME", str(tmp_path))
    uri = fresh_store
    res = train(city, until=2024, tracking_uri=uri, params={"max_iter": 20}, run_backtest=False)
    assert "champion" not in res.models
    assert set(res.models) | set(res.skipped) == {"innovative", "specialized", "little_giant",
                                                  "upsize", "delist"}  # fmt: skip
    assert res.versions and set(res.versions) == set(res.models)
    run = MlflowClient().get_run(res.run_id)
    assert run.data.tags["data_fingerprint"] == res.fingerprint and len(res.fingerprint) == 64
    assert any(k.startswith("pack.") for k in run.data.tags)
    assert run.data.params["until"] == "2024"
    feats = mlflow.artifacts.load_dict(f"runs:/{res.run_id}/features.json")["features"]
    assert len(feats) > 20
    for t in res.versions:
        assert promote(t, by="test", ledger=tmp_path / "ledger.jsonl").promoted
    champs = load_champions(uri)
    assert champs is not None and set(champs.versions) == set(res.versions)
    frame = assessment_frame(city, date(2025, 3, 31)).collect()
    out = champs.predict(frame, as_of=date(2025, 3, 31), tables=city, reasons_top=10)
    assert out.height == frame.height and out["uscc"].to_list() == frame["uscc"].to_list()
    for t in res.versions:
        p = out[f"p_{t}"].drop_nulls()
        assert p.len() > 0 and ((p >= 0) & (p <= 1)).all()
    on_roster = frame["in_four_above"].fill_null(False)
    if "upsize" in res.versions:
        assert out.filter(on_roster)["p_upsize"].null_count() == int(on_roster.sum())
    explained = out.filter(pl.col(f"reasons_{next(iter(res.versions))}").list.len() > 0)
    assert 0 < explained.height <= 10
    # no history columns and no tables: refused rather than scored with a train/serve skew
    with pytest.raises(MissingHistoryError, match="history=True"):
        champs.predict(frame, as_of=date(2025, 3, 31), reasons=False)
    # a frame built with history=True needs no tables and scores exactly like the tables path
    full = assessment_frame(city, date(2025, 3, 31), history=True).collect()
    same = champs.predict(full, reasons=False)
    cols = [f"p_{t}" for t in res.versions]
    assert same.select(cols).equals(out.select(cols))
    # explicit opt-in (what-if rows): history read as unknown, probabilities still valid
    unknown = champs.predict(frame, as_of=date(2025, 3, 31), reasons=False,
                             missing_history="unknown")  # fmt: skip
    assert unknown.height == frame.height
