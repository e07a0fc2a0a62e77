"""The batch run's mechanics with fake stages: run folder, manifest, reconciliation, safety."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

import polars as pl
import pytest

from tiering.batch import ReconciliationError, run_batch
from tiering.batch.stages import LoadedModels, ModelOutput, score_models
from tiering.errors import TieringError
from tiering.store import Store

from .conftest import AS_OF, N_FIRMS, fake_read


def visible(runs: Path) -> list[str]:
    return sorted(p.name for p in runs.iterdir() if p.name != ".lock")


def test_run_writes_complete_folder_and_publishes(
    data_dir, fake_stages, store: Store, tmp_path
) -> None:
    runs = tmp_path / "runs"
    res = run_batch(data_dir, AS_OF, runs, store=store, stages=fake_stages, progress=False)
    assert visible(runs) == [res.run_id]
    files = {p.relative_to(res.run_dir).as_posix() for p in res.run_dir.rglob("*") if p.is_file()}
    assert {
        "scores.parquet",
        "criteria.parquet",
        "tiers.parquet",
        "quarantine.parquet",
        "manifest.json",
        "validation.json",
        "candidates/specialized.xlsx",
        "candidates/upsize.xlsx",
        "candidates/review.xlsx",
    } <= files
    m = json.loads((res.run_dir / "manifest.json").read_text())
    c = m["counts"]
    # 40 firms: 2 quarantined, 1 established after the as-of date, 37 scored
    assert (c["firms_in"], c["firms_quarantined"], c["firms_out_of_scope"], c["scored"]) == (
        40,
        2,
        1,
        37,
    )
    assert c["firms_in"] == c["firms_quarantined"] + c["firms_out_of_scope"] + c["scored"]
    assert c["criteria_rows"] == 37 * 6 and c["reconciled"] == 1
    assert m["tables"]["financials"] == {"rows_in": 40, "rows_valid": 38, "rows_quarantined": 2}
    assert set(m["inputs"]) == {"firms", "financials"} and len(m["inputs"]["firms"]["sha256"]) == 64
    assert set(m["stages"]) == {
        "read",
        "validate",
        "features",
        "rules",
        "models",
        "criteria",
        "assemble",
        "write",
    }
    assert all(s["peak_rss_mb"] > 0 for s in m["stages"].values())
    assert m["models"]["used"] is True
    assert m["outputs"]["scores.parquet"]["rows"] == 37
    scores = pl.read_parquet(res.run_dir / "scores.parquet")
    assert scores["uscc"].is_sorted() and scores.height == 37
    assert store.latest_run().run_id == res.run_id  # type: ignore[union-attr]
    assert store.latest_run().n_scored == 37  # type: ignore[union-attr]
    assert not (res.run_dir / "scores.parquet").stat().st_mode & 0o222  # read-only


def test_scores_row_carries_everything_and_criteria_point_at_the_firm(
    data_dir, fake_stages, store, tmp_path
) -> None:
    res = run_batch(
        data_dir, AS_OF, tmp_path / "runs", store=store, stages=fake_stages, progress=False
    )
    s = res.scores
    row = s.filter(pl.col("uscc") == s["uscc"][4]).row(0, named=True)
    assert row["district_name"] in {"洪山区", "武昌区", "江岸区"} and row["industry_name"]
    assert row["section"] in {"C", "I", "F"}
    assert row["innovative_pack"] == "innovative-2022" and row["specialized_verdict"] in {
        "met",
        "unmet",
    }
    assert row["rd_ratio_y1"] == pytest.approx(row["rd_expense_y1"] / row["revenue_y1"])
    assert row["p_next_tier"] == row[f"p_{row['next_tier']}"]
    crit = store.criteria_for(row["uscc"])
    assert {c["uscc"] for c in crit} == {row["uscc"]} and len(crit) == 6
    rec = store.firm_result(row["uscc"])
    assert rec.probabilities["specialized"] == row["p_specialized"]
    assert rec.reasons == ["研发投入强度", "营业收入增长"]
    # gaps name the next tier's shortfalls in plain Chinese
    low = s.filter(pl.col("rd_expense_y1") / pl.col("revenue_y1") < 0.05).row(0, named=True)
    assert "研发费用占比差" in low["gaps_text"]


def test_crash_mid_run_leaves_last_published_run_intact(
    data_dir, fake_stages, store, tmp_path
) -> None:
    runs = tmp_path / "runs"
    first = run_batch(data_dir, AS_OF, runs, store=store, stages=fake_stages, progress=False)

    def broken_rules(frame, as_of):
        raise RuntimeError("规则引擎崩溃（模拟）")

    with pytest.raises(RuntimeError, match="模拟"):
        run_batch(
            data_dir,
            AS_OF,
            runs,
            store=store,
            progress=False,
            stages=dataclasses.replace(fake_stages, rules=broken_rules),
        )
    assert visible(runs) == [first.run_id]
    assert store.latest_run().run_id == first.run_id  # type: ignore[union-attr]


def test_crash_while_writing_leaves_no_partial_folder(
    data_dir, fake_stages, store, tmp_path, monkeypatch
) -> None:
    runs = tmp_path / "runs"
    first = run_batch(data_dir, AS_OF, runs, store=store, stages=fake_stages, progress=False)
    import tiering.batch.run as run_mod

    def broken_export(*a, **k):
        raise OSError("磁盘已满（模拟）")

    monkeypatch.setattr(run_mod, "export_candidates", broken_export)
    with pytest.raises(OSError, match="模拟"):
        run_batch(data_dir, AS_OF, runs, store=store, stages=fake_stages, progress=False)
    assert visible(runs) == [first.run_id]  # the .tmp- folder was removed
    assert [r.run_id for r in store.runs()] == [first.run_id]


def test_rerun_gives_identical_results_and_publishing_twice_changes_nothing(
    data_dir, fake_stages, store, tmp_path
) -> None:
    runs = tmp_path / "runs"
    a = run_batch(data_dir, AS_OF, runs, store=store, stages=fake_stages, progress=False)
    b = run_batch(
        data_dir,
        AS_OF,
        runs,
        store=store,
        stages=fake_stages,
        progress=False,
        now=None if False else __import__("datetime").datetime(2030, 1, 1),
    )
    assert a.run_id != b.run_id
    assert a.manifest["tool"]["inputs_fingerprint"] == b.manifest["tool"]["inputs_fingerprint"]
    for name in ("scores.parquet", "criteria.parquet", "tiers.parquet", "quarantine.parquet"):
        assert a.manifest["outputs"][name]["sha256"] == b.manifest["outputs"][name]["sha256"], name
    assert a.scores.equals(b.scores)
    again = store.publish_run(a.run_dir)
    assert not again.changed
    assert [r.run_id for r in store.runs()] == [b.run_id, a.run_id]


def test_counts_that_do_not_reconcile_stop_the_run(data_dir, fake_stages, store, tmp_path) -> None:
    def lossy_models(frame, tables, as_of, loaded):
        out = fake_stages.models(frame, tables, as_of, loaded)
        return ModelOutput(out.predictions.head(frame.height - 1), out.info)

    runs = tmp_path / "runs"
    with pytest.raises(ReconciliationError, match="predictions has 36 rows, expected scored = 37"):
        run_batch(
            data_dir,
            AS_OF,
            runs,
            store=store,
            progress=False,
            stages=dataclasses.replace(fake_stages, models=lossy_models),
        )
    assert not runs.exists() or visible(runs) == []
    assert store.latest_run() is None


def test_no_models_runs_rules_only_and_says_so(data_dir, fake_stages, tmp_path, capsys) -> None:
    from rich.console import Console

    console = Console(file=__import__("io").StringIO(), width=200)
    res = run_batch(
        data_dir,
        AS_OF,
        tmp_path / "runs",
        use_models=False,
        stages=fake_stages,
        console=console,
        progress=False,
    )
    assert res.manifest["models"] == {"used": False, "reason": "按 --no-models 仅运行规则"}
    assert not [c for c in res.scores.columns if c.startswith("p_")]
    assert "未使用模型" in console.file.getvalue()
    assert not res.published


def test_run_ids_are_unique_and_input_fingerprint_tracks_inputs(
    data_dir, fake_stages, tmp_path
) -> None:
    a = run_batch(data_dir, AS_OF, tmp_path / "runs", stages=fake_stages, progress=False)
    df = pl.read_parquet(data_dir / "financials.parquet")
    df.with_columns(pl.col("revenue") + 1).write_parquet(data_dir / "financials.parquet")
    b = run_batch(data_dir, AS_OF, tmp_path / "runs2", stages=fake_stages, progress=False)
    assert (
        a.manifest["inputs"]["financials"]["sha256"] != b.manifest["inputs"]["financials"]["sha256"]
    )
    assert a.run_id.split("-")[-1] != b.run_id.split("-")[-1]
    assert a.manifest["inputs"]["firms"]["rows"] == N_FIRMS


def test_models_load_in_the_background_while_the_inputs_are_read(
    data_dir, fake_stages, tmp_path
) -> None:
    """The read waits for the load to have started: it only can if the load runs alongside."""
    started = threading.Event()

    def load():
        started.set()
        return fake_stages.load_models()

    def read_once_loading(files, **options):
        assert started.wait(timeout=10), "the models did not start loading before the read"
        return fake_read(files, **options)

    stages = dataclasses.replace(fake_stages, read=read_once_loading, load_models=load)
    res = run_batch(data_dir, AS_OF, tmp_path / "runs", stages=stages, progress=False)
    assert res.manifest["models"]["used"] and res.scores["p_specialized"].null_count() == 0


def test_no_background_load_without_models(data_dir, fake_stages, tmp_path) -> None:
    def load():
        raise AssertionError("loaded although the run was asked for the rules only")

    stages = dataclasses.replace(fake_stages, load_models=load)
    res = run_batch(data_dir, AS_OF, tmp_path / "runs", use_models=False, stages=stages,
                    progress=False)  # fmt: skip
    assert res.manifest["models"]["used"] is False


def test_a_broken_registry_fails_the_models_stage_and_publishes_nothing(
    data_dir, fake_stages, store, tmp_path
) -> None:
    """The load's error surfaces unchanged (type, message, fields) once the run reaches the
    models stage; the stages before it ran, nothing after it did and nothing is published."""
    ran: list[str] = []
    error = TieringError("tiering-delist 版本 3 的模型文件 SHA-256 不符", field="sha256")

    def broken_load():
        raise error

    def rules(frame, as_of):
        ran.append("rules")
        return fake_stages.rules(frame, as_of)

    def features(tables, as_of, **kw):
        ran.append("features")
        return fake_stages.features(tables, as_of, **kw)

    runs = tmp_path / "runs"
    stages = dataclasses.replace(
        fake_stages, load_models=broken_load, rules=rules, features=features
    )
    with pytest.raises(TieringError, match="SHA-256 不符") as err:
        run_batch(data_dir, AS_OF, runs, store=store, stages=stages, progress=False)
    assert err.value is error and err.value.field == "sha256"
    assert ran == ["features"]
    assert not runs.exists() or visible(runs) == []
    assert store.latest_run() is None


def test_no_registered_champion_runs_rules_only_and_says_so(
    data_dir, fake_stages, tmp_path
) -> None:
    from rich.console import Console

    from models.scoring import NO_MODEL_NOTE

    console = Console(file=__import__("io").StringIO(), width=200)
    stages = dataclasses.replace(
        fake_stages,
        load_models=lambda: LoadedModels(None, NO_MODEL_NOTE),
        models=score_models,
    )
    res = run_batch(data_dir, AS_OF, tmp_path / "runs", stages=stages, console=console,
                    progress=False)  # fmt: skip
    assert res.manifest["models"] == {"used": False, "reason": NO_MODEL_NOTE}
    assert not [c for c in res.scores.columns if c.startswith("p_")]
    assert NO_MODEL_NOTE in console.file.getvalue()


def test_history_columns_reach_the_models_but_not_the_rules_or_the_scores(
    data_dir, fake_stages, tmp_path
) -> None:
    seen: dict[str, list[str]] = {}

    def rules(frame, as_of):
        seen["rules"] = frame.columns
        return fake_stages.rules(frame, as_of)

    def models(frame, tables, as_of, loaded):
        seen["models"] = frame.columns
        assert tables is None  # the input tables were freed after the features
        return fake_stages.models(frame, tables, as_of, loaded)

    stages = dataclasses.replace(fake_stages, rules=rules, models=models)
    with_models = run_batch(data_dir, AS_OF, tmp_path / "a", stages=stages, progress=False)
    assert "revenue_y4" in seen["models"] and "revenue_y4" not in seen["rules"]
    rules_seen = seen["rules"]
    rules_only = run_batch(
        data_dir, AS_OF, tmp_path / "b", use_models=False, stages=stages, progress=False
    )
    assert seen["rules"] == rules_seen  # the rules see the same frame with or without models
    assert "revenue_y4" not in with_models.scores.columns
    assert set(rules_only.scores.columns) < set(with_models.scores.columns)
