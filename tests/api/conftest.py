"""Fixtures of the API tests: a temporary store with a small published run and one key per role.

The run is synthetic (``api.testing.build_run``: valid USCCs, real codes, ~12 criteria per firm in
``criteria.parquet``) and published through the store's own ``publish_run``; keys are created
through the store's ``create_principal``. The what-if's heavy part (rule engine + models) is
swapped with ``app.dependency_overrides`` where a test is about the HTTP contract, not the rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.testing import build_run
from tiering.settings import Settings
from tiering.store import Store

IN_SCOPE = ("420111", "420106")  # the district key's districts; the station key has the first


@dataclass
class Env:
    settings: Settings
    store: Store
    run_dir: Path
    keys: dict[str, str]
    principal_ids: dict[str, int]
    usccs: list[str]

    def firm_in(self, districts: tuple[str, ...]) -> str:
        return next(u for u in self.usccs if u[2:8] in districts)

    def firm_outside(self, districts: tuple[str, ...]) -> str:
        return next(u for u in self.usccs if u[2:8] not in districts)

    def headers(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}


def make_env(home: Path, *, n_firms: int = 120, rate: int = 1_000_000) -> Env:
    settings = Settings(home=home, env="test", api_rate_limit_per_minute=rate)
    store = Store(settings=settings)
    store.upgrade()
    run_dir = build_run(
        home / "runs" / "run-test", n_firms=n_firms, seed=7, as_of=dt.date(2025, 6, 30)
    )
    store.publish_run(run_dir)
    keys, ids = {}, {}
    for role, districts in (
        ("bureau", ()),
        ("district", IN_SCOPE),
        ("station", IN_SCOPE[:1]),
        ("revoked", IN_SCOPE[:1]),
    ):
        p, key = store.create_principal(
            "station" if role == "revoked" else role, districts, f"测试-{role}"
        )
        keys[role], ids[role] = key, p.id
    store.revoke_principal(ids["revoked"])
    import polars as pl

    usccs = pl.read_parquet(run_dir / "scores.parquet")["uscc"].to_list()
    return Env(settings, store, run_dir, keys, ids, usccs)


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    return make_env(tmp_path_factory.mktemp("api-home"))


@pytest.fixture(scope="session")
def app(env: Env):
    return create_app(env.settings)


@pytest.fixture(scope="session")
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def audit_count(env: Env, app):
    """Flush the audit queue and count records (call before and after a request)."""

    def count() -> int:
        app.state.api.audit.flush()
        return len(env.store.tail_audit(100_000))

    return count
