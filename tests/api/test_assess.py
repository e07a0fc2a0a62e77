"""What-if: validation (422 naming field and rule), role views, nothing logged, and parity with
the batch (the same firm and date give the same answer online as in the published run)."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

import polars as pl
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.frame_model import SCHEMA
from api.logging import JsonFormatter
from api.routes.assess import get_assessor

from .conftest import make_env

GOOD = {
    "uscc": "91420100177855421C",
    "district": "420111",
    "industry": "3973",
    "status": "active",
    "revenue_y1": 98765.4321,
    "rd_expense_y1": 4321.5,
}


class FakeAssessor:
    """Stands in for rule engine + models where a test is about the HTTP contract."""

    models_loaded = False

    def __init__(self) -> None:
        self.calls: list[tuple[dict, dt.date, str]] = []

    async def assess_one(self, row, as_of, application):
        self.calls.append((row, as_of, application))
        rec = {
            "uscc": row["uscc"],
            "district": row["district"],
            "next_tier": "innovative",
            "revenue_y1": row["revenue_y1"],
            "gaps": [{"pack": "innovative-2022", "criterion_id": "IN-2", "status": "unmet",
                      "text": "研发费用差 12 万元"}],
        }  # fmt: skip
        crit = [{"pack": "innovative-2022", "criterion_id": "IN-2", "status": "unmet",
                 "value": row["rd_expense_y1"], "threshold": 0.05, "gap": 0.004, "unit": "ratio"}]  # fmt: skip
        return rec, crit

    def packs(self, as_of):
        return [{"pack": "innovative-2022", "tier": "innovative", "in_force_new": True}]


@pytest.fixture
def fake(app):
    fake = FakeAssessor()
    app.dependency_overrides[get_assessor] = lambda: fake
    yield fake
    app.dependency_overrides.pop(get_assessor, None)


def test_whatif_confidential_and_station_views(client, env, fake, audit_count):
    before = audit_count()
    r = client.post("/v1/assess?as_of=2025-12-31", json=GOOD, headers=env.headers("district"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["view"] == "confidential" and body["run"] is None
    assert body["figures"]["revenue_y1"] == GOOD["revenue_y1"]
    assert fake.calls[-1][1:] == (dt.date(2025, 12, 31), "new")
    assert audit_count() == before + 1
    r = client.post("/v1/assess", json=GOOD, headers=env.headers("station"))
    body = r.json()
    assert body["view"] == "public" and "figures" not in body
    assert body["criteria"][0]["gap_relative"] == pytest.approx(0.4)
    assert body["criteria"][0]["gap_unit"] == "个百分点"
    assert "text" not in body["gaps"][0] and "万元" not in r.text
    assert fake.calls[-1][1] == dt.date(2025, 6, 30)  # default: the served run's date
    assert audit_count() == before + 1


@pytest.mark.parametrize(
    ("patch", "field", "rule"),
    [
        ({"uscc": "91420100177855421D"}, "uscc", "USCC-CHECK"),
        ({"uscc": "9142010017785542"}, "uscc", "USCC-LEN"),
        ({"district": "110101"}, "district", "CODE-DISTRICT"),
        ({"industry": "9999"}, "industry", "CODE-INDUSTRY"),
        ({"revenue_y1": -1}, "revenue_y1", "greater_than_equal"),
        ({"market_share_domestic": 1.5}, "market_share_domestic", "less_than_equal"),
        ({"status": "dormant"}, "status", "literal_error"),
        ({"revenu_y1": 10}, "revenu_y1", "extra_forbidden"),
        ({"digital_level": 7}, "digital_level", "less_than_equal"),
    ],
)
def test_whatif_422_names_field_and_rule(client, env, fake, patch, field, rule):
    r = client.post("/v1/assess", json={**GOOD, **patch}, headers=env.headers("bureau"))
    assert r.status_code == 422
    err = r.json()["error"]
    assert (err["field"], err["rule"]) == (field, rule)
    assert not fake.calls


def test_whatif_check_character_message(client, env, fake):
    r = client.post(
        "/v1/assess", json={**GOOD, "uscc": "91420100177855421D"}, headers=env.headers("station")
    )
    assert "应为“C”" in r.json()["error"]["message"]


def test_whatif_needs_a_key(client, fake):
    assert client.post("/v1/assess", json=GOOD).status_code == 401


def test_whatif_body_never_reaches_the_logs(client, env, fake):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tiering.api")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        client.post("/v1/assess", json=GOOD, headers=env.headers("bureau"))
        client.post(
            "/v1/assess", json={**GOOD, "revenue_y1": -98765.4321}, headers=env.headers("bureau")
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    requests = [x for x in lines if x["msg"] == "request" and x["route"] == "/v1/assess"]
    assert [x["status"] for x in requests] == [200, 422]
    assert all(x["key_id"] == env.keys["bureau"][:10] and x["role"] == "bureau" for x in requests)
    text = stream.getvalue()
    assert "98765" not in text and "4321" not in text and env.keys["bureau"] not in text


def test_whatif_503_when_rules_are_not_loaded(tmp_path):
    env = make_env(tmp_path, n_firms=3)

    def no_rules(settings):
        from api.app import load_state

        state = load_state(settings)
        state.assessor = None
        state.problems["rules"] = "规则引擎不可用：测试"
        return state

    with TestClient(create_app(env.settings, loader=no_rules)) as c:
        r = c.post("/v1/assess", json=GOOD, headers=env.headers("bureau"))
        assert r.status_code == 503 and r.json()["error"]["message"] == "规则引擎不可用：测试"
        ready = c.get("/readyz").json()
        assert ready["ready"] and not ready["rules"] and "rules" in ready["detail"]


# -- batch / online parity -------------------------------------------------------------------
AS_OF = dt.date(2025, 6, 30)


_MODEL_FEATURES = ("rd_expense_y1", "revenue_y1", "class1_ip", "employees_y1")


def _champions(frame: pl.DataFrame):
    """Two small real ``TierScorer`` champions (specialized, upsize) fitted on the city itself.

    Why not MLflow: registering costs ~15 s; the registry is the models part's to test. What is
    tested here is that the what-if scores with the same champions and post-processing as the
    batch. Labels are synthetic but deterministic (seeded), so both classes are present.
    """
    import numpy as np

    from models.estimator import TierScorer
    from models.scoring import Champions

    X = frame.select(pl.col(c).cast(pl.Float64) for c in _MODEL_FEATURES)
    rng = np.random.default_rng(5)
    rd = X["rd_expense_y1"].fill_null(0).to_numpy()
    rev = X["revenue_y1"].fill_null(0).to_numpy()
    params = {"max_iter": 15, "min_samples_leaf": 5, "calibration": "none", "early_stopping": False}
    y_sp = (rd + rng.normal(0, rd.std() + 1, len(rd)) > np.median(rd)).astype(int)
    y_up = (rev + rng.normal(0, rev.std() + 1, len(rev)) > np.median(rev)).astype(int)
    models = {
        "specialized": TierScorer({"rd_expense_y1": 1}, **params).fit(X, y_sp),
        "upsize": TierScorer(**params).fit(X, y_up),
    }
    return Champions(models=models, versions={"specialized": 1, "upsize": 1})


@pytest.fixture(scope="module")
def batch_env(tmp_path_factory):
    """A real simulated city, scored by the real batch with champion models, and published."""
    from features.asof import assessment_frame
    from tiering.batch.run import run_batch
    from tiering.simulate import simulate

    home = tmp_path_factory.mktemp("parity")
    env = make_env(home, n_firms=3)  # keys and settings; the batch run is published after
    tables = simulate(150, seed=11, years=(2021, 2024))
    data = home / "data"
    data.mkdir()
    for name, frame in tables.items():
        frame.write_parquet(data / f"{name}.parquet")
    frame = assessment_frame(tables, AS_OF).collect()
    champions = _champions(frame)
    with pytest.MonkeyPatch.context() as mp:
        # both the batch's models stage and the API's loader ask models.scoring for champions
        mp.setattr("models.scoring.load_champions", lambda *a, **k: champions)
        (env.settings.home / "mlflow.db").touch()  # the API only asks a registry that exists
        run_batch(
            data, AS_OF, home / "runs", use_models=True, store=env.store, progress=False, gx="off"
        )
        app = create_app(env.settings)
        with TestClient(app) as client:
            yield env, frame, client


def _jsonable(row: dict) -> dict:
    names = set(SCHEMA)  # §11 columns plus the rules' optional inputs
    return {
        k: (v.isoformat() if isinstance(v, dt.date) else v)
        for k, v in row.items()
        if k in names and v is not None
    }


def _rounded(obj):
    if isinstance(obj, float):
        return float(f"{obj:.10g}")
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v) for v in obj]
    return obj


def test_whatif_equals_the_batch_row(batch_env):
    env, frame, c = batch_env
    run = env.store.latest_run()
    assert run is not None and run.as_of == AS_OF
    assert c.get("/readyz").json()["models"] is True
    scored = pl.read_parquet(f"{run.run_dir}/scores.parquet")
    # firms at different places on the ladder, with and without gaps
    picks = (
        scored.sort("uscc").group_by("eligible_tier", maintain_order=True).head(2)["uscc"].to_list()
    )
    assert len(picks) >= 2
    with_probability = 0
    for uscc in picks:
        stored = c.get(f"/v1/firms/{uscc}", headers=env.headers("bureau")).json()
        row = frame.filter(pl.col("uscc") == uscc).to_dicts()[0]
        online = c.post(
            f"/v1/assess?as_of={AS_OF}", json=_jsonable(row), headers=env.headers("bureau")
        )
        assert online.status_code == 200, online.text
        online = online.json()
        assert online.pop("run") is None and stored.pop("run")["as_of"] == str(AS_OF)
        # equal up to float rounding (a sum over Y-3..Y-1 may differ in the last bit)
        assert _rounded(online) == _rounded(stored)
        if stored["probabilities"].get("specialized") is not None:
            with_probability += 1
            assert any(r["target"] == "specialized" and r["text"] for r in stored["reasons"])
        assert "upsize" in stored["flags"]["learned"]
    assert with_probability > 0  # the models did score: probabilities compared, not two nulls


def test_whatif_accepts_the_scorer_inputs_beyond_section_11():
    """History and identity extras the batch frame carries for the models are optional inputs:
    given, a what-if scores as the batch did; absent, they are null (unknown), never refused."""
    from api.frame_model import FrameRow, frame_from_rows
    from features.asof import HISTORY_COLUMNS

    assert set(HISTORY_COLUMNS) <= set(SCHEMA) and "age_years" in SCHEMA and "as_of" not in SCHEMA
    row = FrameRow.model_validate(
        {"uscc": "91420100177855421C", "revenue_y4": 812.5, "age_years": 6.5}
    ).model_dump()
    frame = frame_from_rows([row])
    assert frame["revenue_y4"].item() == 812.5 and frame["age_years"].item() == 6.5
    assert frame["in_four_above_y2"].dtype == pl.Boolean and frame["employees_y2"].item() is None
