"""``tiering demo`` reuses what it already built on the same simulated inputs."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from tiering.batch.demo import SIM_MARKER, _data_key, _train
from tiering.settings import Settings


def test_champions_trained_on_the_same_inputs_are_reused(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    settings.home.mkdir()
    data = tmp_path / "data"
    data.mkdir()
    (data / SIM_MARKER).write_text('{"arguments": {"firms": 500, "seed": 1}}')
    report = {"trained": True, "targets": ["specialized"], "versions": {"specialized": 3}}
    record = {"data": _data_key(data), "mlflow": settings.resolved_mlflow_uri, "report": report}
    (settings.home / "demo-models.json").write_text(json.dumps(record))
    console = Console(quiet=True)
    assert _train(data, settings, console) == report
    # other inputs (another seed) do not match the record: the key changes
    (data / SIM_MARKER).write_text('{"arguments": {"firms": 500, "seed": 2}}')
    assert _data_key(data) != record["data"]
