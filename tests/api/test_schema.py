"""Schemathesis against the app's own OpenAPI schema: no 5xx, every response matches the schema.

Bounded (a few examples per operation, no shrinking deadline) so it runs in seconds; each
operation is exercised with a bureau key (the widest view) and once with a station key.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

# A schema-valid USCC can still carry a wrong GB 32100 check character, and a schema-valid code
# can be missing from the code tables: those are 422s by design (naming field and rule), so the
# "schema-valid data must be accepted" check does not apply. Every other check does.
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.routes.assess import get_assessor


def test_openapi_conformance(client, app, env):
    # the session client already ran the lifespan, so the app's state is loaded; the pytest
    # plugin's fixture loader does not fit this pytest, so each operation gets its own
    # bounded hypothesis run here.
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 9
    for op in operations:

        @settings(
            max_examples=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=op.as_strategy())
        def check(case):
            for role in ("bureau", "station"):
                case.call_and_validate(
                    headers={"X-API-Key": env.keys[role]},
                    excluded_checks=[positive_data_acceptance],
                )

        check()


def test_openapi_is_complete_and_chinese(client):
    doc = client.get("/openapi.json").json()
    assert doc["info"]["title"] == "梯度培育服务接口"
    paths = doc["paths"]
    for p in ("/v1/firms/{uscc}", "/v1/firms", "/v1/assess", "/v1/candidates", "/v1/runs",
              "/v1/runs/latest", "/v1/rules/packs", "/healthz", "/readyz"):  # fmt: skip
        assert p in paths, p
        for op in paths[p].values():
            assert op["summary"] and any("\u4e00" <= ch <= "\u9fff" for ch in op["summary"])
    body = doc["components"]["schemas"]["FrameRow"]
    assert body["additionalProperties"] is False
    assert "统一社会信用代码" in body["properties"]["uscc"]["description"]
    assert set(doc["components"]["securitySchemes"]) == {"ApiKey", "Bearer"}


def test_get_assessor_is_the_override_point():
    # tests and the bench swap the what-if engine through this dependency
    assert callable(get_assessor)
