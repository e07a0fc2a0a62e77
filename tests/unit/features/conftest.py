"""Fixtures for the features tests: contract-typed tiny tables and a seeded random city.

Why hand-built: the point-in-time tests must know exactly which row is dated where; a seeded
random table set (a few hundred firms, years 2017–2028, titles, events) gives breadth, and
``perturb_after`` rewrites everything that was not knowable on a date.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest

from data_contracts.tables import EVENT_KINDS, TABLES
from tiering.frame import TIERS

YEARS = range(2017, 2029)


def table(name: str, rows: list[Mapping[str, Any]]) -> pl.DataFrame:
    """A contract-typed table: every column of ``TABLES[name]``, unspecified values null."""
    schema = TABLES[name].schema()
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema, orient="row")


def firm(uscc: str = "F1", **kw: Any) -> dict[str, Any]:
    """A firms row with plausible defaults."""
    return {
        "uscc": uscc,
        "name": f"企业{uscc}",
        "established": date(2010, 5, 1),
        "status": "active",
        "district": "420106",
        "industry": "3911",
        "registered_capital": 1000.0,
        "resident": True,
    } | kw


def tables_of(**rows: list[Mapping[str, Any]]) -> dict[str, pl.DataFrame]:
    """All seven tables; those not given are empty (present but without rows)."""
    return {name: table(name, rows.get(name, [])) for name in TABLES}


def _rand_date(rng: random.Random, lo: date, hi: date) -> date:
    return lo + timedelta(days=rng.randrange((hi - lo).days + 1))


def random_tables(n: int = 300, seed: int = 7) -> dict[str, pl.DataFrame]:
    """A seeded random table set covering every column, year and event kind."""
    rng = random.Random(seed)
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
    for i in range(n):
        u = f"U{i:05d}"
        est = _rand_date(rng, date(2000, 1, 1), date(2027, 12, 31))
        closed = _rand_date(rng, est, date(2028, 12, 31)) if rng.random() < 0.2 else None
        status = rng.choice(["revoked", "cancelled", "moved_out"]) if closed else "active"
        rows["firms"].append(
            firm(u, established=est, closed=closed, status=status, zone=rng.choice([None, "wedz"]))
        )
        for y in YEARS:
            if rng.random() < 0.15:
                continue  # a missing year: must read as null, never 0
            rev = rng.uniform(0, 20000)
            rows["financials"].append(
                {
                    "uscc": u,
                    "year": y,
                    "revenue": rev,
                    "main_revenue": rev * rng.uniform(0.5, 1),
                    "total_costs": rev * rng.uniform(0.5, 1.1),
                    "net_profit": rng.uniform(-500, 2000),
                    "total_assets": rng.uniform(100, 30000),
                    "total_liabilities": rng.uniform(0, 20000),
                    "employees": rng.randrange(1, 800),
                    "rd_expense": rng.choice([None, rng.uniform(0, 1500)]),
                    "rd_staff": rng.randrange(0, 100),
                    "equity_financing": rng.choice([0.0, rng.uniform(0, 9000)]),
                    "export_revenue": rng.uniform(0, 100),
                }
            )
            rows["ip"].append(
                {
                    "uscc": u,
                    "year": y,
                    "class1_ip": rng.randrange(5),
                    "class1_self_developed": rng.randrange(3),
                    "class1_high_value": rng.randrange(2),
                    "class2_ip": rng.randrange(8),
                    "invention_patents": rng.randrange(9),
                }
            )
            pub = _rand_date(rng, date(y, 1, 1), date(y + 1, 6, 30))
            rows["credentials"].append(
                {
                    "uscc": u,
                    "year": y,
                    "high_tech": rng.random() < 0.3,
                    "rd_institution_level": rng.choice(["none", "city", "provincial"]),
                    "digital_level": rng.randrange(5),
                    "iso9001": rng.random() < 0.5,
                    "quality_award_level": "none",
                    "own_brand": rng.random() < 0.5,
                    "standards_count": rng.randrange(3),
                    "sci_award_level": "none",
                    "niche_years": rng.uniform(0, 20),
                    "market_share_domestic": rng.uniform(0, 0.3),
                    "platform_score": rng.choice([None, rng.uniform(30, 90)]),
                    "platform_score_date": rng.choice([None, pub]),
                    "local_feature_points": rng.uniform(0, 15),
                }
            )
            if rng.random() < 0.6:
                rows["stats_roster"].append(
                    {
                        "uscc": u,
                        "year": y,
                        "four_above_kind": "工业",
                        "in_roster": rng.random() < 0.5,
                    }
                )
        for _ in range(rng.randrange(4)):
            g = _rand_date(rng, date(2017, 1, 1), date(2028, 6, 30))
            t = rng.choice(TIERS)
            rows["recognitions"].append(
                {
                    "uscc": u,
                    "tier": t,
                    "level": "provincial",
                    "granted": g,
                    "expires": g.replace(year=g.year + (1 if t == "tech_sme" else 3))
                    - timedelta(days=1)
                    if not (g.month == 2 and g.day == 29)
                    else date(g.year + 3, 2, 28),
                    "revoked": _rand_date(rng, g, g + timedelta(days=900))
                    if rng.random() < 0.2
                    else None,
                    "rule_version": f"{t}-2022",
                }
            )
        for j in range(rng.randrange(4)):
            start = _rand_date(rng, date(2016, 1, 1), date(2028, 6, 30))
            rows["events"].append(
                {
                    "event_id": f"{u}-{j}",
                    "uscc": u,
                    "kind": rng.choice(list(EVENT_KINDS)),
                    "date": start,
                    "end_date": rng.choice([None, start + timedelta(days=rng.randrange(1, 900))]),
                }
            )
    return {name: table(name, r) for name, r in rows.items()}


def _later(d: date, rng: random.Random) -> date:
    return d + timedelta(days=rng.randrange(1, 2000))


def perturb_after(tables: Mapping[str, pl.DataFrame], d: date, seed: int = 1) -> dict[str, Any]:
    """Rewrite everything not knowable on ``d``; what was knowable stays byte-identical.

    Year-keyed rows of years ≥ Y get fresh values (the year-Y platform score survives if it was
    published by ``d``); grants, events and firms dated after ``d`` are replaced by new ones;
    revocations, listing ends and closures after ``d`` move to other dates after ``d`` (or vanish).
    """
    rng = random.Random(seed)
    y = d.year
    out: dict[str, Any] = {}
    firms = []
    for r in tables["firms"].to_dicts():
        if r["established"] > d:
            r |= {"established": _later(d, rng), "registered_capital": rng.uniform(0, 9e5)}
            r |= {"zone": "donghu_hitech", "street": "420106001", "resident": False}
        if r["closed"] is not None and r["closed"] > d:
            r["closed"] = _later(d, rng)
            r["status"] = rng.choice(["revoked", "cancelled", "moved_out"])
        firms.append(r)
    firms.append(firm("ZNEW", established=_later(d, rng)))
    out["firms"] = table("firms", firms)
    for name in ("financials", "ip", "credentials", "stats_roster"):
        rows = []
        for r in tables[name].to_dicts():
            if r["year"] >= y:
                keep = {"uscc", "year"}
                if (
                    name == "credentials"
                    and r["year"] == y
                    and r["platform_score_date"] is not None
                ):
                    if r["platform_score_date"] <= d:
                        keep |= {"platform_score", "platform_score_date"}
                    else:
                        r["platform_score_date"] = _later(d, rng)
                for c, v in r.items():
                    if c in keep or c == "platform_score_date":
                        continue
                    if isinstance(v, bool):
                        r[c] = not v
                    elif isinstance(v, int | float):
                        r[c] = v * 3 + 7
                    elif isinstance(v, str):
                        r[c] = v + "X"
            elif name == "credentials" and r["year"] == y - 1:
                published = r["platform_score_date"]
                if published is not None and published > d:
                    r |= {
                        "platform_score": rng.uniform(0, 100),
                        "platform_score_date": _later(d, rng),
                    }
            rows.append(r)
        for u in ("U00000", "U00001", "ZNEW"):
            rows.append({"uscc": u, "year": y + 3, "revenue": 1.0, "in_roster": True})
        out[name] = table(name, rows)
    recs = []
    for r in tables["recognitions"].to_dicts():
        if r["granted"] > d:
            r |= {"granted": _later(d, rng), "tier": rng.choice(TIERS)}
            r["expires"] = r["granted"] + timedelta(days=1000)
        elif r["revoked"] is not None and r["revoked"] > d:
            r["revoked"] = rng.choice([None, _later(d, rng)])
        elif r["revoked"] is None and rng.random() < 0.5:
            r["revoked"] = _later(d, rng)
        recs.append(r)
    recs.append(
        {
            "uscc": "U00000",
            "tier": "champion",
            "granted": _later(d, rng),
            "expires": date(2040, 1, 1),
            "level": "national",
            "rule_version": "x",
        }
    )
    out["recognitions"] = table("recognitions", recs)
    evs = []
    for r in tables["events"].to_dicts():
        if r["date"] > d:
            r |= {"date": _later(d, rng), "kind": rng.choice(list(EVENT_KINDS))}
        elif r["end_date"] is None or r["end_date"] > d:
            r["end_date"] = rng.choice([None, _later(d, rng)])
        evs.append(r)
    evs.append({"event_id": "NEW", "uscc": "U00002", "kind": "data_fraud", "date": _later(d, rng)})
    out["events"] = table("events", evs)
    return out


@pytest.fixture(scope="session")
def city() -> dict[str, pl.DataFrame]:
    """A seeded random table set shared by the tests (built once per session)."""
    return random_tables()


@pytest.fixture(scope="session")
def build() -> SimpleNamespace:
    """The table builders, for tests (conftest modules are not importable under importlib)."""
    return SimpleNamespace(
        table=table,
        firm=firm,
        tables_of=tables_of,
        perturb_after=perturb_after,
        random_tables=random_tables,
    )
