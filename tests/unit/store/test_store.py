"""The store on SQLite (always) and PostgreSQL (when configured): migrations, publish, reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from tiering.settings import Settings
from tiering.store import Store, StoreError, migrate
from tiering.store.models import Base, FirmResult, QuarantineSummary, Run
from tiering.uscc import complete

from .conftest import make_run_dir


def usccs(n: int, start: int = 0) -> list[str]:
    return [complete(f"91420100{start + i:09d}") for i in range(n)]


def table_counts(store: Store) -> tuple[int, int, int]:
    with store.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (Run, FirmResult, QuarantineSummary)
        )


def test_migrations_match_models_and_upgrade_is_idempotent(store: Store) -> None:
    assert store.is_current()
    assert store.upgrade() == migrate.head_revision()  # second upgrade: nothing to do
    insp = inspect(store.engine)
    for table in Base.metadata.sorted_tables:
        migrated = {c["name"] for c in insp.get_columns(table.name)}
        assert migrated == {c.name for c in table.columns}, table.name


def test_publish_then_read_back(store: Store, tmp_path: Path) -> None:
    ids = usccs(5)
    run_dir = make_run_dir(tmp_path / "runs", "r1", ids, districts=["420111"] * 3 + ["420106"] * 2)
    result = store.publish_run(run_dir)
    assert result.changed and result.n_firms == 5
    latest = store.latest_run()
    assert latest is not None and latest.run_id == "r1" and latest.n_scored == 5
    assert latest.as_of.isoformat() == "2025-06-30" and latest.models_used
    rec = store.firm_result(ids[3])
    assert rec is not None
    assert rec.district == "420106" and rec.eligible_tier == "innovative"
    assert rec.revenue_y1 == 1003.0 and rec.employees_y1 == 3
    assert rec.reasons == ["研发投入强度高", "有效发明专利"]
    assert rec.probabilities == {"specialized": pytest.approx(0.3)}
    assert rec.delist_risk is False and store.firm_result(ids[0]).delist_risk is True  # type: ignore[union-attr]
    assert store.firm_result(complete("91420100999999999")) is None
    crit = store.criteria_for(ids[3])
    assert [c["criterion_id"] for c in crit] == ["SP-1", "SP-2"]  # type: ignore[union-attr]
    for u in ids:  # row groups hold 3 rows, so some firms span two groups
        rows = store.criteria_for(u)
        assert [(c["uscc"], c["criterion_id"]) for c in rows] == [(u, "SP-1"), (u, "SP-2")]  # type: ignore[union-attr]
    assert store.quarantine_summary() == [
        {"table_name": "financials", "rule": "NEG", "n_rows": 2},
        {"table_name": "firms", "rule": "USCC-CHECK", "n_rows": 1},
    ]


def test_publishing_twice_changes_nothing(store: Store, tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path / "runs", "r1", usccs(4))
    store.publish_run(run_dir)
    before = (table_counts(store), store.latest_run())
    again = store.publish_run(run_dir)
    assert not again.changed and again.n_firms == 4
    assert (table_counts(store), store.latest_run()) == before


def test_same_run_id_with_other_content_is_refused(store: Store, tmp_path: Path) -> None:
    store.publish_run(make_run_dir(tmp_path / "a", "r1", usccs(3)))
    with pytest.raises(StoreError, match="已发布且内容不同") as err:
        store.publish_run(make_run_dir(tmp_path / "b", "r1", usccs(4)))
    assert err.value.rule == "STORE-RUN-IMMUTABLE"
    assert table_counts(store)[1] == 3


def test_failed_publish_leaves_previous_run_serving(store: Store, tmp_path: Path) -> None:
    store.publish_run(make_run_dir(tmp_path / "runs", "r1", usccs(3)))
    bad = make_run_dir(tmp_path / "runs", "r2", usccs(3, start=100))
    (bad / "scores.parquet").write_bytes(b"not parquet")  # fails after the run row is inserted
    with pytest.raises(Exception):  # noqa: B017 - any read error must roll back
        store.publish_run(bad)
    assert store.latest_run().run_id == "r1"  # type: ignore[union-attr]
    assert [r.run_id for r in store.runs()] == ["r1"]
    assert table_counts(store) == (1, 3, 2)


def test_latest_is_last_published_and_per_run_reads(store: Store, tmp_path: Path) -> None:
    ids = usccs(3)
    store.publish_run(make_run_dir(tmp_path / "runs", "r1", ids, held=[None, None, "innovative"]))
    store.publish_run(make_run_dir(tmp_path / "runs", "r2", ids[:2], as_of="2026-06-30"))
    assert [r.run_id for r in store.runs()] == ["r2", "r1"]
    assert store.firm_result(ids[2]) is None  # not in the latest run
    assert store.firm_result(ids[2], run="r1").held_tier == "innovative"  # type: ignore[union-attr]
    assert store.prune(keep=1) == ["r1"]
    assert [r.run_id for r in store.runs()] == ["r2"] and table_counts(store)[1] == 2


def test_search_filters_scope_and_pages(store: Store, tmp_path: Path) -> None:
    ids = usccs(7)
    store.publish_run(
        make_run_dir(
            tmp_path / "runs",
            "r1",
            ids,
            districts=["420111"] * 4 + ["420106"] * 3,
            held=["innovative", None, None, None, "innovative", None, None],
        )
    )
    page = store.search_firms(district="420111", page=1, page_size=3)
    assert page.total == 4 and len(page.items) == 3
    assert [r.uscc for r in page.items] == sorted(ids[:4])[:3]
    assert len(store.search_firms(district="420111", page=2, page_size=3).items) == 1
    assert store.search_firms(tier="innovative").total == 2
    assert store.search_firms(tier="none").total == 5
    assert store.search_firms(name="测试6").items[0].uscc == ids[6]
    assert store.search_firms(name="%").total == 0  # wildcards are literal
    scoped = store.search_firms(districts=["420106"])
    assert {r.district for r in scoped.items} == {"420106"} and scoped.total == 3
    assert store.search_firms(district="420111", districts=["420106"]).total == 0
    assert store.search_firms(eligible_tier="innovative").total == 7


def test_principals_are_hashed_scoped_and_revocable(store: Store) -> None:
    p, key = store.create_principal("district", ["420111", "420106"], label="洪山区经信局")
    assert key.startswith("tk_") and len(key) > 40
    assert p.role == "district" and p.districts == ("420111", "420106") and p.active
    with store.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT key_hash FROM api_principals").scalar_one()
    assert key not in stored and stored == store.hash_key(key)
    assert store.get_principal_by_hash(store.hash_key(key)).id == p.id  # type: ignore[union-attr]
    assert store.get_principal_by_key(key + "x") is None
    b, _ = store.create_principal("bureau", label="市经信局")
    assert [x.id for x in store.list_principals()] == [p.id, b.id]
    assert store.revoke(p.id) and not store.revoke(p.id)
    assert store.get_principal_by_key(key) is None
    assert store.get_principal_by_hash(store.hash_key(key)).active is False  # type: ignore[union-attr]
    assert [x.id for x in store.list_principals(include_revoked=False)] == [b.id]


@pytest.mark.parametrize(
    ("role", "districts", "message"),
    [
        ("admin", [], "未知角色"),
        ("station", [], "至少需要一个区划代码"),
        ("bureau", ["420111"], "覆盖全市"),
        ("district", ["110101"], "110101 不是武汉市辖区"),
    ],
)
def test_invalid_principals_are_refused(
    store: Store, role: str, districts: list[str], message: str
) -> None:
    with pytest.raises(StoreError, match=message):
        store.create_principal(role, districts, label="x")


def test_audit_log_tail(store: Store) -> None:
    p, _ = store.create_principal("bureau", label="市局")
    store.add_audit(p.id, "GET /v1/firms/{uscc}", ["A1"])
    store.add_audit_many([(p.id, "GET /v1/candidates", ["B1", "B2"], None), (None, "x", [], None)])
    tail = store.tail_audit(2)
    assert [e.endpoint for e in tail] == ["x", "GET /v1/candidates"]
    assert tail[1].firms == ("B1", "B2") and tail[1].n_firms == 2
    assert tail[1].at.tzinfo is not None
    assert [e.firms for e in store.tail_audit(10, principal_id=p.id)] == [("B1", "B2"), ("A1",)]


def test_manifest_is_kept_verbatim(store: Store, tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path / "runs", "r1", usccs(2))
    store.publish_run(run_dir)
    info = store.get_run("r1")
    assert info is not None
    assert info.manifest == json.loads((run_dir / "manifest.json").read_text())
    assert Path(info.run_dir) == run_dir.resolve()


def test_migration_0002_carries_old_rows_into_detail(tmp_path: Path) -> None:
    """A store at 0001 with a published firm keeps every field after the upgrade to head."""
    from sqlalchemy import text

    from tiering.store.engine import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO runs VALUES ('r0', 1, '2025-06-30', '2025-07-01 00:00:00', "
                "'2025-07-01 00:00:00', '/nowhere', 'x', '{}', 1, 0, 1, 1, '[]')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO firm_results (run_id, uscc, name, held_tier, delist_risk, "
                "revenue_y1, employees_y1, verdicts, gaps, gaps_text, reasons, probabilities) "
                "VALUES ('r0', 'U1', '甲公司', 'innovative', 1, 12.5, 7, :v, :g, 'x', :r, :p)"
            ),
            {
                "v": '[{"pack":"specialized-2022","tier":"specialized","verdict":"unmet",'
                '"score":null,"score_min":null,"score_max":null,"pass_mark":null}]',
                "g": '[{"pack":"EL","criterion_id":"EL-1","status":"unmet","text":"差 1 年"}]',
                "r": '["研发投入强度高"]',
                "p": '{"specialized": 0.25}',
            },
        )
    migrate.upgrade(engine)
    store = Store(engine=engine, settings=Settings(home=tmp_path))
    rec = store.firm_result("U1", "r0")
    assert rec is not None and rec.name == "甲公司" and rec.held_tier == "innovative"
    assert rec.delist_risk is True and rec.revocation is None
    assert rec.revenue_y1 == 12.5 and rec.employees_y1 == 7
    assert rec.verdicts == [
        {"pack": "specialized-2022", "tier": "specialized", "verdict": "unmet", "score": None,
         "score_min": None, "score_max": None, "pass_mark": None}
    ]  # fmt: skip
    assert rec.gaps == [
        {"pack": "EL", "criterion_id": "EL-1", "status": "unmet", "text": "差 1 年"}
    ]
    assert rec.gaps_text == "差 1 年"
    assert rec.reasons == ["研发投入强度高"] and rec.probabilities == {"specialized": 0.25}


def test_published_detail_is_read_from_the_folder(store: Store, tmp_path: Path) -> None:
    """The store keeps each firm's typed columns and leaves ``detail`` null; every firm reads back
    as the record its full row (``compact_rows``) gives, ``detail`` rebuilt from the folder's
    ``scores.parquet`` — for one firm and for a page of them."""
    import shutil
    from types import SimpleNamespace

    import polars as pl

    from tiering.store.publish import compact_rows
    from tiering.store.records import FirmRecord

    ids = usccs(4)
    run_dir = make_run_dir(tmp_path / "runs", "r1", ids)
    scores = pl.read_parquet(run_dir / "scores.parquet")
    store.publish_run(run_dir, scores=scores)
    with store.engine.connect() as conn:
        stored = dict(conn.execute(select(FirmResult.uscc, FirmResult.detail)).all())
    assert stored == dict.fromkeys(ids)
    want = {
        row["uscc"]: FirmRecord.from_row(SimpleNamespace(_mapping=row))
        for row in compact_rows(scores, "r1").iter_rows(named=True)
    }
    assert any(w.verdicts or w.reasons or w.probabilities for w in want.values())
    for u in ids:
        assert store.firm_result(u) == want[u]
    assert {r.uscc: r for r in store.search_firms(page_size=10).items} == want
    # the folder gone: the typed columns still answer, the detail fields read as missing
    shutil.rmtree(run_dir)
    rec = store.firm_result(ids[0])
    assert rec is not None and rec.held_tier == want[ids[0]].held_tier
    assert rec.verdicts is None and rec.reasons is None and rec.revenue_y1 is None


def test_a_row_that_holds_its_detail_is_read_as_it_is(store: Store, tmp_path: Path) -> None:
    """Runs published while the store held ``detail`` keep reading from their rows (text on
    PostgreSQL, UTF-8 bytes on SQLite), whatever their folder says now."""
    import polars as pl
    from sqlalchemy import update

    from tiering.store.publish import compact_rows

    ids = usccs(2)
    run_dir = make_run_dir(tmp_path / "runs", "r1", ids)
    store.publish_run(run_dir)
    scores = pl.read_parquet(run_dir / "scores.parquet")
    detail = dict(compact_rows(scores, "r1").select("uscc", "detail").iter_rows())
    before = store.firm_result(ids[0])
    raw = detail[ids[0]].encode() if store.engine.dialect.name == "sqlite" else detail[ids[0]]
    with store.engine.begin() as conn:
        conn.execute(update(FirmResult).where(FirmResult.uscc == ids[0]).values(detail=raw))
    (run_dir / "scores.parquet").unlink()
    assert store.firm_result(ids[0]) == before
    assert store.firm_result(ids[1]).verdicts is None  # type: ignore[union-attr]


def test_expand_detail_reads_text_and_bytes_alike() -> None:
    from tiering.store.models import DETAIL_FIELDS
    from tiering.store.records import expand_detail

    d: list[object] = [None] * len(DETAIL_FIELDS)
    d[DETAIL_FIELDS.index("gaps")] = [["EL", "EL-1", "unmet", "成立时间差 1 年"]]
    text = json.dumps(d, ensure_ascii=False)
    want = expand_detail({"uscc": "X", "detail": text})
    assert want["gaps_text"] == "成立时间差 1 年"
    for raw in (text.encode(), bytearray(text.encode()), memoryview(text.encode())):
        assert expand_detail({"uscc": "X", "detail": raw}) == want


def test_prebuilt_rows_must_be_the_run_s(store: Store, tmp_path: Path) -> None:
    """Rows built ahead (the batch builds them while writing the folder) publish as the scores
    would; rows of another run are refused and nothing is published."""
    import polars as pl

    from tiering.store.publish import typed_rows

    run_dir = make_run_dir(tmp_path / "runs", "r1", usccs(3))
    scores = pl.read_parquet(run_dir / "scores.parquet")
    with pytest.raises(ValueError, match="r1"):
        store.publish_run(run_dir, scores=scores, rows=typed_rows(scores, "other"))
    assert table_counts(store) == (0, 0, 0)
    store.publish_run(run_dir, scores=scores, rows=typed_rows(scores, "r1"))
    assert table_counts(store) == (1, 3, 2)


def test_indexes_are_in_place_after_publishing(store: Store, tmp_path: Path) -> None:
    store.publish_run(make_run_dir(tmp_path / "runs", "r1", usccs(3)))
    store.publish_run(make_run_dir(tmp_path / "runs", "r2", usccs(3)))
    names = {i["name"] for i in inspect(store.engine).get_indexes("firm_results")}
    assert {i.name for i in FirmResult.__table__.indexes} <= names


def test_staged_load_into_an_empty_store_rebuilds_the_indexes_or_rolls_back(
    store: Store, tmp_path: Path
) -> None:
    """The first run loads with its secondary indexes dropped and rebuilt (``publish``'s
    ``_indexes_after_load``): they exist after the commit, and an aborted load rolls the drop
    back with everything else."""
    wanted = {i.name for i in FirmResult.__table__.indexes}

    def index_names() -> set[str]:
        return {i["name"] for i in inspect(store.engine).get_indexes("firm_results")}

    aborted = make_run_dir(tmp_path / "runs", "r0", usccs(3))
    _staged(store, aborted, "r0").abort()
    assert table_counts(store)[1] == 0 and wanted <= index_names()
    run_dir = make_run_dir(tmp_path / "runs", "r1", usccs(3))
    _staged(store, run_dir, "r1").complete(run_dir)
    assert table_counts(store)[1] == 3 and wanted <= index_names()


def _staged(store: Store, run_dir: Path, run_id: str):
    import datetime as dt

    import polars as pl

    scores = pl.read_parquet(run_dir / "scores.parquet")
    return store.stage_publish(
        run_id,
        scores,
        as_of=dt.date(2025, 6, 30),
        created_at=dt.datetime(2025, 7, 1, tzinfo=dt.UTC),
    )


def test_staged_publish_equals_publishing_the_folder(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows loaded while the folder is written (chunk by chunk), committed on completion: the
    store then holds exactly what publishing the complete folder gives."""
    from tiering.store import publish

    monkeypatch.setattr(publish, "_CHUNK", 3)  # several chunks
    ids = usccs(7)
    run_dir = make_run_dir(tmp_path / "runs", "r1", ids)
    result = _staged(store, run_dir, "r1").complete(run_dir)
    assert result.changed and result.n_firms == 7
    plain = Store(f"sqlite:///{tmp_path / 'plain.db'}", settings=store.settings)
    plain.upgrade()
    plain.publish_run(run_dir)
    for a, b in ((store.latest_run(), plain.latest_run()),):
        assert a is not None and b is not None
        assert {**a.as_dict(), "published_at": None} == {**b.as_dict(), "published_at": None}
    for u in ids:
        assert store.firm_result(u) == plain.firm_result(u)
    assert store.quarantine_summary() == plain.quarantine_summary()
    again = _staged(store, run_dir, "r1").complete(run_dir)  # already published: a no-op
    assert not again.changed
    plain.dispose()


def test_aborted_or_failed_staging_leaves_the_last_run_serving(
    store: Store, tmp_path: Path
) -> None:
    first = make_run_dir(tmp_path / "runs", "r1", usccs(3))
    store.publish_run(first)
    second = make_run_dir(tmp_path / "runs", "r2", usccs(3, start=10))
    _staged(store, second, "r2").abort()
    assert store.latest_run().run_id == "r1"  # type: ignore[union-attr]
    assert table_counts(store)[1] == 3

    import datetime as dt

    import polars as pl

    unusable = pl.DataFrame({"x": [1]})  # no uscc: the load fails (NOT NULL)
    failing = store.stage_publish(
        "r2", unusable, as_of=dt.date(2025, 6, 30), created_at=dt.datetime(2025, 7, 1)
    )
    with pytest.raises(Exception, match="uscc"):
        failing.complete(second)
    assert store.latest_run().run_id == "r1"  # type: ignore[union-attr]
    assert table_counts(store) == (1, 3, 2)


def test_new_sqlite_store_gets_large_pages_and_existing_files_keep_theirs(tmp_path):
    """A new store file is created with ``SQLITE_PAGE_SIZE`` pages in WAL mode; a file made
    elsewhere with 4 KB pages keeps them (its data stays readable, nothing is rewritten)."""
    import sqlite3

    from sqlalchemy import text

    from tiering.store.engine import SQLITE_PAGE_SIZE, make_engine

    def page_size_and_mode(url: str) -> tuple[int, str]:
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS t (a)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as conn:
            got = (
                conn.execute(text("PRAGMA page_size")).scalar_one(),
                conn.execute(text("PRAGMA journal_mode")).scalar_one(),
            )
        engine.dispose()
        return got

    assert page_size_and_mode(f"sqlite:///{tmp_path / 'new.db'}") == (SQLITE_PAGE_SIZE, "wal")
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as raw:
        raw.execute("PRAGMA page_size=4096")
        raw.execute("CREATE TABLE t (a)")
    assert SQLITE_PAGE_SIZE != 4096
    assert page_size_and_mode(f"sqlite:///{old}") == (4096, "wal")
    with sqlite3.connect(old) as raw:
        assert raw.execute("SELECT count(*) FROM t").fetchone() == (1,)
