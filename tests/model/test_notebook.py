"""The model report notebook runs top to bottom on a small simulated city."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "model_report.ipynb"


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None


@pytest.mark.notebook
def test_model_report_executes(city_dir, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv(
        "MODEL_REPORT_DATA", str(city_dir)
    )  # the shared small city: no re-simulation
    monkeypatch.setenv("MODEL_REPORT_MAX_ITER", "30")
    monkeypatch.setenv("TIERING_HOME", str(tmp_path))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(
        str(o.get("data", {}).get("text/plain", "")) + o.get("text", "") for o in outputs
    )
    assert "hgb" in text and "rules only" in text
