"""Candidate lists (json/csv/xlsx × role), runs, rule packs, health and readiness."""

from __future__ import annotations

import io

import openpyxl
import polars as pl
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tiering.batch.candidates import load_candidates
from tiering.settings import Settings

from .conftest import IN_SCOPE


# -- candidates ------------------------------------------------------------------------------
def test_candidates_equal_the_cli_selection_for_the_bureau(client, env, audit_count):
    before = audit_count()
    r = client.get("/v1/candidates?target=specialized&top=15", headers=env.headers("bureau"))
    assert r.status_code == 200
    body = r.json()
    cli = load_candidates(env.run_dir, "specialized", top=15)
    assert [i["uscc"] for i in body["items"]] == cli["uscc"].to_list()
    assert body["total"] == cli.height and body["run_id"] == "run-test"
    assert body["items"][0]["revenue_y1"] is not None
    assert audit_count() == before + 1
    assert env.store.tail_audit(1)[0].firms == tuple(cli["uscc"].to_list())


def test_candidates_for_a_station_are_scoped_and_without_money(client, env, audit_count):
    before = audit_count()
    r = client.get("/v1/candidates?target=upsize", headers=env.headers("station"))
    assert r.status_code == 200
    items = r.json()["items"]
    district = {u: u[2:8] for u in env.usccs}
    assert items and all(district[i["uscc"]] == IN_SCOPE[0] for i in items)
    for i in items:
        assert (
            i["revenue_y1"] is None and i["gap_text_target"] is None and i["employees_y1"] is None
        )
    assert "万元" not in r.text
    assert audit_count() == before


def test_candidates_csv_and_xlsx(client, env):
    r = client.get("/v1/candidates?target=specialized&format=csv", headers=env.headers("district"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    table = pl.read_csv(io.BytesIO(r.content[3:]))
    assert "统一社会信用代码" in table.columns and "上年营业收入（万元）" in table.columns
    assert set(table["统一社会信用代码"].str.slice(2, 6).to_list()) <= set(IN_SCOPE)
    r = client.get("/v1/candidates?target=specialized&format=xlsx", headers=env.headers("station"))
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    headers = [c.value for c in next(book.worksheets[0].iter_rows(max_row=1))]
    assert "统一社会信用代码" in headers
    assert not any("万元" in str(h) for h in headers) and "差距（对照认定条件）" not in headers


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("target=gold", "target"),
        ("target=upsize&min_prob=2", "min_prob"),
        ("target=upsize&district=1", "district"),
    ],
)
def test_candidates_422(client, env, query, field):
    r = client.get(f"/v1/candidates?{query}", headers=env.headers("bureau"))
    assert r.status_code == 422 and r.json()["error"]["field"] == field


def test_candidates_need_a_key(client):
    assert client.get("/v1/candidates?target=upsize").status_code == 401


# -- runs and rules --------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["bureau", "district", "station"])
def test_runs(client, env, role):
    runs = client.get("/v1/runs", headers=env.headers(role)).json()
    assert [r["run_id"] for r in runs] == ["run-test"] and runs[0]["manifest"] is None
    latest = client.get("/v1/runs/latest", headers=env.headers(role)).json()
    assert latest["n_scored"] == len(env.usccs) and latest["manifest"]["run_id"] == "run-test"
    assert latest["as_of"] == "2025-06-30"


def test_rule_packs(client, env):
    r = client.get("/v1/rules/packs?as_of=2026-06-30", headers=env.headers("station"))
    assert r.status_code == 200
    packs = {p["pack"]: p for p in r.json()}
    assert (
        packs["specialized-2026"]["in_force_new"] and not packs["specialized-2022"]["in_force_new"]
    )
    r = client.get("/v1/rules/packs?as_of=2025-06-30", headers=env.headers("station"))
    packs = {p["pack"]: p for p in r.json()}
    assert packs["specialized-2022"]["in_force_new"] and packs["specialized-2022"]["title"]


# -- health ----------------------------------------------------------------------------------
def test_health_and_ready(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] and body["store"] and body["rules"]
    assert body["run"] == {"run_id": "run-test", "as_of": "2025-06-30"}


def test_empty_store_is_not_ready_and_answers_404(tmp_path):
    from tiering.store import Store

    settings = Settings(home=tmp_path, env="test")
    store = Store(settings=settings)
    store.upgrade()
    _, key = store.create_principal("bureau", [], "b")
    with TestClient(create_app(settings)) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["run"] is None and "run" in r.json()["detail"]
        h = {"X-API-Key": key}
        assert c.get("/v1/runs/latest", headers=h).status_code == 404
        assert c.get("/v1/firms", headers=h).status_code == 404
        assert c.get("/v1/runs", headers=h).json() == []


def test_unexpected_error_is_500_without_a_trace(env, app):
    from api.deps import get_index

    def boom():
        raise RuntimeError("secret revenue 12345.6")

    app.dependency_overrides[get_index] = boom
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            r = c.get("/v1/firms", headers=env.headers("bureau"))
    finally:
        app.dependency_overrides.pop(get_index, None)
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal_error"
    assert "12345" not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text
