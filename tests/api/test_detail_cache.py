"""The mapped per-firm detail: exactly ``detail_rows`` of the run's scores, for every firm,
however the file is split or ordered; the look-up reads the same record with or without it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from api import detail_cache
from api.detail_cache import MappedDetails
from api.repository import Repository
from api.testing import build_run
from tiering.settings import Settings
from tiering.store import Store
from tiering.store.publish import detail_rows


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_run(tmp_path_factory.mktemp("run") / "r", n_firms=40, seed=3)


def test_every_firm_reads_its_detail_across_batches(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(detail_cache, "_BATCH_ROWS", 7)  # 6 record batches
    scores = pl.read_parquet(run_dir / "scores.parquet")
    want = dict(detail_rows(scores).iter_rows())
    mapped = MappedDetails.build(run_dir / "scores.parquet", tmp_path / "c" / "details.arrow")
    assert len(mapped._chunks) == 6 and isinstance(mapped._keys, np.ndarray)  # the 18-byte keys
    assert mapped.num_rows == len(want)
    assert {u: mapped.get(u) for u in want} == want
    assert mapped.get("91420100MA4KXXXXXX") is None and mapped.get("") is None
    assert mapped.get(max(want) + "0") is None  # past the last key
    # built once: a second build maps the same file
    mtime = mapped.path.stat().st_mtime_ns
    assert MappedDetails.build(run_dir / "scores.parquet", mapped.path).path.stat().st_mtime_ns == (
        mtime
    )


@pytest.mark.parametrize("usccs", [["Z9", "A1", "M55", "B", "C2"], ["A1", "B", "C2", "Z9", "M55"]])
def test_a_folder_out_of_order_or_with_odd_codes_is_sorted(
    usccs: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hand-made ``scores.parquet`` need not be sorted — out of order from the first batch or
    only in a later one — nor its codes 18 characters long; every firm is mapped once."""
    monkeypatch.setattr(detail_cache, "_BATCH_ROWS", 2)
    frame = pl.DataFrame({"uscc": usccs, "reasons": [f'["{u}"]' for u in usccs]})
    frame.write_parquet(tmp_path / "scores.parquet", row_group_size=2)
    mapped = MappedDetails.build(tmp_path / "scores.parquet", tmp_path / "d.arrow")
    assert isinstance(mapped._keys, list) and mapped._keys == sorted(usccs)
    assert mapped.num_rows == len(usccs)
    want = dict(detail_rows(frame).iter_rows())
    assert {u: mapped.get(u) for u in usccs} == want and mapped.get("A") is None


def test_a_file_it_cannot_read_is_rebuilt(run_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "details.arrow"
    path.write_bytes(b"not arrow")
    mapped = MappedDetails.build(run_dir / "scores.parquet", path)
    assert mapped.num_rows == pl.read_parquet(run_dir / "scores.parquet").height


def test_the_look_up_record_is_the_same_mapped_or_from_the_folder(
    run_dir: Path, tmp_path: Path
) -> None:
    store = Store(settings=Settings(home=tmp_path, env="test"))
    store.upgrade()
    store.publish_run(run_dir)
    run = store.latest_run()
    assert run is not None
    mapped, plain = Repository(store, cache_dir=tmp_path / "cache"), Repository(store)
    mapped.prepare_details(run)
    plain.prepare_details(run)
    assert mapped._details is not None and plain._details is None
    for u in pl.read_parquet(run_dir / "scores.parquet")["uscc"]:
        record = mapped.firm(run.run_id, u)
        assert record is not None and record.verdicts
        assert record == plain.firm(run.run_id, u) == store.firm_result(u)
    assert mapped.firm(run.run_id, "91420100MA4KXXXXXX") is None
    store.dispose()
