"""Look-up and search: every role × outcome (200 / 401 / 404 / 422 / 429), views and audit."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tiering.uscc import complete

from .conftest import IN_SCOPE, make_env

MONEY_KEYS = {
    "figures",
    "value",
    "threshold",
    "gap",
    "gap_text",
    "text",
    "gaps_text",
    "contribution",
}


def _keys(obj) -> set[str]:
    if isinstance(obj, dict):
        return set(obj) | {k for v in obj.values() for k in _keys(v)}
    if isinstance(obj, list):
        return {k for v in obj for k in _keys(v)}
    return set()


# -- authentication --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "not-a-key"},
        {"X-API-Key": "tk_" + "A" * 43},  # well-formed, unknown
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer tk_" + "B" * 43},
    ],
    ids=["missing", "malformed", "unknown", "basic-scheme", "unknown-bearer"],
)
def test_401_without_a_valid_key(client, env, headers):
    r = client.get(f"/v1/firms/{env.usccs[0]}", headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["error"]["code"] == "unauthorized"


def test_revoked_key_is_401(client, env):
    assert client.get("/v1/firms", headers=env.headers("revoked")).status_code == 401


def test_bearer_header_works_like_x_api_key(client, env):
    r = client.get("/v1/firms", headers={"Authorization": f"Bearer {env.keys['bureau']}"})
    assert r.status_code == 200


# -- look-up by role -------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["bureau", "district"])
def test_confidential_roles_get_figures_and_are_audited(client, env, audit_count, role):
    uscc = env.firm_in(IN_SCOPE[:1])
    before = audit_count()
    r = client.get(f"/v1/firms/{uscc}", headers=env.headers(role))
    assert r.status_code == 200
    body = r.json()
    assert body["view"] == "confidential" and body["uscc"] == uscc
    stored = env.store.firm_result(uscc)
    assert body["figures"]["revenue_y1"] == pytest.approx(stored.revenue_y1)
    assert len(body["criteria"]) == stored.criteria_count
    assert any(c["value"] is not None for c in body["criteria"])
    assert body["run"] == {"run_id": "run-test", "as_of": "2025-06-30"}
    assert audit_count() == before + 1
    last = env.store.tail_audit(1)[0]
    assert last.firms == (uscc,)
    assert last.principal_id == env.principal_ids[role]
    assert last.endpoint == "GET /v1/firms/{uscc}"


def test_station_sees_relative_terms_only_and_is_not_audited(client, env, audit_count):
    uscc = env.firm_in(IN_SCOPE[:1])
    before = audit_count()
    r = client.get(f"/v1/firms/{uscc}", headers=env.headers("station"))
    assert r.status_code == 200
    body = r.json()
    assert body["view"] == "public"
    assert not (_keys(body) & MONEY_KEYS), _keys(body) & MONEY_KEYS
    stored = env.store.firm_result(uscc)
    raw = json.dumps(body, ensure_ascii=False)
    for figure in (stored.revenue_y1, stored.rd_expense_y1, stored.total_assets_y1):
        assert str(figure) not in raw
    assert "万元" not in raw
    units = {c["gap_unit"] for c in body["criteria"] if c["gap_relative"] is not None}
    assert units <= {"个百分点", "项", "年", "名", "分"}
    # the relative gap of a ratio criterion is its gap in percentage points
    crit = env.store.criteria_for(uscc)
    ratio = [c for c in crit if c["unit"] == "ratio" and c["gap"] is not None]
    for c in ratio:
        shown = next(x for x in body["criteria"] if x["criterion_id"] == c["criterion_id"])
        assert shown["gap_relative"] == pytest.approx(c["gap"] * 100)
        assert shown["gap_unit"] == "个百分点"
    money = [c for c in crit if c["unit"] == "万元"]
    for c in money:
        shown = next(x for x in body["criteria"] if x["criterion_id"] == c["criterion_id"])
        assert shown["gap_relative"] is None
    assert audit_count() == before


@pytest.mark.parametrize("role", ["district", "station"])
def test_out_of_scope_firm_is_exactly_like_an_unknown_one(client, env, role):
    scope = IN_SCOPE if role == "district" else IN_SCOPE[:1]
    outside = env.firm_outside(scope)
    missing = complete("91420111000000000")
    assert missing not in env.usccs
    a = client.get(f"/v1/firms/{outside}", headers=env.headers(role))
    b = client.get(f"/v1/firms/{missing}", headers=env.headers(role))
    assert a.status_code == b.status_code == 404
    strip = lambda r: {k: v for k, v in r.json()["error"].items() if k != "request_id"}  # noqa: E731
    assert strip(a) == strip(b)


def test_bureau_sees_every_district(client, env):
    for uscc in (env.firm_outside(IN_SCOPE), env.firm_in(IN_SCOPE)):
        assert client.get(f"/v1/firms/{uscc}", headers=env.headers("bureau")).status_code == 200


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("91420100177855421D", "USCC-CHECK"),
        ("91420100177855421", "USCC-LEN"),
        ("9142010017785542IC", "USCC-CHAR"),
    ],
)
def test_malformed_uscc_is_422_naming_field_and_rule(client, env, code, rule):
    r = client.get(f"/v1/firms/{code}", headers=env.headers("station"))
    assert r.status_code == 422
    err = r.json()["error"]
    assert (err["field"], err["rule"]) == ("uscc", rule)
    if rule == "USCC-CHECK":
        assert "应为“C”" in err["message"]


def test_lowercase_uscc_is_normalised(client, env):
    uscc = env.firm_in(IN_SCOPE[:1])
    r = client.get(f"/v1/firms/{uscc.lower()}", headers=env.headers("bureau"))
    assert r.status_code == 200 and r.json()["uscc"] == uscc


# -- search ----------------------------------------------------------------------------------
def test_search_is_scoped_and_paged(client, env):
    station = client.get("/v1/firms?size=200", headers=env.headers("station")).json()
    expected = sum(u[2:8] == IN_SCOPE[0] for u in env.usccs)
    assert station["total"] == expected and {i["district"] for i in station["items"]} <= {
        IN_SCOPE[0]
    }
    bureau = client.get("/v1/firms?size=7&page=2", headers=env.headers("bureau")).json()
    assert bureau["total"] == len(env.usccs) and len(bureau["items"]) == 7
    assert [i["uscc"] for i in bureau["items"]] == sorted(env.usccs)[7:14]
    assert not (_keys(bureau) & MONEY_KEYS)


def test_search_other_district_is_empty_not_an_error(client, env):
    other = next(u[2:8] for u in env.usccs if u[2:8] not in IN_SCOPE)
    r = client.get(f"/v1/firms?district={other}", headers=env.headers("district"))
    assert r.status_code == 200 and r.json()["total"] == 0


def test_search_filters(client, env):
    r = client.get("/v1/firms?tier=none&name=武汉&size=200", headers=env.headers("bureau")).json()
    assert r["total"] > 0 and all(i["held_tier"] is None for i in r["items"])
    r = client.get("/v1/firms?tier=specialized&size=200", headers=env.headers("bureau")).json()
    assert all(i["held_tier"] == "specialized" for i in r["items"])


@pytest.mark.parametrize(
    ("query", "field", "rule"),
    [
        ("district=110101", "district", "CODE-DISTRICT"),
        ("tier=gold", "tier", "literal_error"),
        ("size=0", "size", "greater_than_equal"),
    ],
)
def test_search_422(client, env, query, field, rule):
    r = client.get(f"/v1/firms?{query}", headers=env.headers("bureau"))
    assert r.status_code == 422
    assert (r.json()["error"]["field"], r.json()["error"]["rule"]) == (field, rule)


# -- rate limit ------------------------------------------------------------------------------
def test_429_per_key_with_retry_after(tmp_path):
    env = make_env(tmp_path, n_firms=5, rate=60)  # 1 a second, burst 10
    with TestClient(create_app(env.settings)) as c:
        codes = [c.get("/v1/runs", headers=env.headers("station")).status_code for _ in range(12)]
        assert codes[:10] == [200] * 10 and codes[10:] == [429, 429]
        r = c.get("/v1/runs", headers=env.headers("station"))
        assert r.json()["error"]["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
        # another key has its own bucket
        assert c.get("/v1/runs", headers=env.headers("bureau")).status_code == 200


# -- look-up cache: per (run, firm, view); caller checks on every request ---------------------
def test_cached_lookup_is_still_scoped_and_audited(client, env, audit_count):
    uscc = env.firm_in(IN_SCOPE[:1])
    before = audit_count()
    first = client.get(f"/v1/firms/{uscc}", headers=env.headers("bureau"))
    second = client.get(f"/v1/firms/{uscc}", headers=env.headers("bureau"))
    assert first.status_code == second.status_code == 200 and first.content == second.content
    assert audit_count() == before + 2  # a cached body is a confidential response all the same
    public = client.get(f"/v1/firms/{uscc}", headers=env.headers("station"))
    assert public.json()["view"] == "public" and "figures" not in public.json()
    assert audit_count() == before + 2
    outside = env.firm_outside(IN_SCOPE[:1])
    assert client.get(f"/v1/firms/{outside}", headers=env.headers("bureau")).status_code == 200
    assert client.get(f"/v1/firms/{outside}", headers=env.headers("station")).status_code == 404


def test_every_criterion_is_worded_as_the_store_words_it(client, env):
    uscc = env.firm_in(IN_SCOPE[:1])
    body = client.get(f"/v1/firms/{uscc}", headers=env.headers("bureau")).json()
    stored = {(c["pack"], c["criterion_id"]): c for c in env.store.criteria_for(uscc)}
    assert len(body["criteria"]) == len(stored)
    for c in body["criteria"]:
        s = stored[(c["pack"], c["criterion_id"])]
        assert (c["label"], c["gap_text"], c["status"]) == (s["label"], s["gap_text"], s["status"])
        assert (c["gap_text"] is None) == (c["status"] == "met")


def test_a_newly_published_run_replaces_the_served_one(tmp_path):
    import datetime as dt

    from api.testing import build_run

    env = make_env(tmp_path, n_firms=20)
    uscc = env.usccs[0]
    with TestClient(create_app(env.settings, run_poll_seconds=0)) as c:
        h = env.headers("bureau")
        assert c.get(f"/v1/firms/{uscc}", headers=h).json()["run"]["run_id"] == "run-test"
        cache = env.settings.home / "api-cache"
        assert sorted(p.name for p in cache.iterdir()) == ["run-test"]
        assert {p.name for p in (cache / "run-test").iterdir()} == {
            "criteria.arrow",
            "details.arrow",
        }
        run2 = build_run(
            tmp_path / "runs" / "run-2", n_firms=20, seed=7, as_of=dt.date(2025, 9, 30)
        )
        env.store.publish_run(run2)
        c.app.state.api.reload_run()  # what the lifespan's poller does every run_poll_seconds
        body = c.get(f"/v1/firms/{uscc}", headers=h).json()
        assert body["run"] == {"run_id": "run-2", "as_of": "2025-09-30"}
        assert c.get("/v1/runs/latest", headers=h).json()["run_id"] == "run-2"
        # the served run's mapped files only: the previous run's are removed
        assert sorted(p.name for p in cache.iterdir()) == ["run-2"]
