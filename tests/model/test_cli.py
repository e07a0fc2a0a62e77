"""The model commands: clear messages on empty stores and bad inputs; metrics table rendering."""

from __future__ import annotations

import polars as pl
import pytest
from typer.testing import CliRunner

from tiering.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory, new_store):
    """One empty MLflow store for the module (a copy of the session's migrated template)."""
    from tiering.settings import get_settings

    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TIERING_HOME", str(home))
        get_settings.cache_clear()
        yield new_store(home)
    get_settings.cache_clear()


def test_models_list_on_an_empty_store(store):
    res = runner.invoke(app, ["models", "list", "--tracking-uri", store])
    assert res.exit_code == 0, res.output
    assert "尚无登记的模型" in res.output


def test_promote_without_challenger_says_train_first(store, tmp_path):
    res = runner.invoke(
        app,
        ["models", "promote", "upsize", "--tracking-uri", store, "--ledger", str(tmp_path / "l")],
    )
    assert res.exit_code == 0, res.output
    assert "没有 challenger" in res.output and "tiering train" in res.output


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_missing_data_folder_is_named(store, tmp_path, command):
    res = runner.invoke(app, [command, "--data", str(tmp_path / "nope")])
    assert res.exit_code == 2
    assert "数据目录不存在" in res.output and "nope" in res.output


def test_folder_without_required_tables_names_them(store, tmp_path):
    (tmp_path / "in").mkdir()
    pl.DataFrame({"uscc": ["A"]}).write_parquet(tmp_path / "in" / "firms.parquet")
    res = runner.invoke(app, ["evaluate", "--data", str(tmp_path / "in")])
    assert res.exit_code == 2
    assert "financials.parquet" in res.output and "recognitions.parquet" in res.output


def test_metrics_table_renders_missing_values_as_dash():
    from rich.console import Console

    from tiering.cli.models import metrics_table

    m = pl.DataFrame({"target": ["upsize"], "year": [2025], "model": ["rule"], "positives": [3.0],
                      "roc_auc": [0.9], "pr_auc": [0.5], "brier": [float("nan")], "ece": [None]})  # fmt: skip
    console = Console(width=200, record=True)
    console.print(metrics_table(m))
    text = console.export_text()
    assert "upsize" in text and "0.9000" in text and "—" in text
