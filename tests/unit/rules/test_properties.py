"""Property tests (hypothesis): unknown never becomes met or unmet; more R&D, IP or revenue never
lowers a score; score_min ≤ score ≤ score_max; the verdict agrees with the criteria.

Each example evaluates a small batch of firms in one frame (one ``assess`` call), so the suite
stays fast."""

from __future__ import annotations

from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiering.engine import assess

from .conftest import AS_OF, frame

ALL = [
    "tech_sme-2017",
    "innovative-2022",
    "specialized-2022",
    "specialized-2026",
    "little_giant-2022",
    "little_giant-2026",
    "champion-2023",
]
SCORED = ["tech_sme-2017", "innovative-2022", "specialized-2022"]
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

money = st.one_of(st.none(), st.floats(0, 60000, allow_nan=False).map(lambda x: round(x, 2)))
small_money = st.one_of(st.none(), st.floats(0, 3000, allow_nan=False).map(lambda x: round(x, 2)))
count = st.one_of(st.none(), st.integers(0, 6))
flag = st.one_of(st.none(), st.booleans())

FIRM = st.fixed_dictionaries(
    {
        "employees_y1": st.one_of(st.none(), st.integers(1, 1500)),
        "rd_staff_y1": st.one_of(st.none(), st.integers(0, 400)),
        "revenue_y1": money,
        "revenue_y2": money,
        "revenue_y3": money,
        "main_revenue_y1": money,
        "main_revenue_y2": money,
        "main_revenue_y3": money,
        "total_costs_y1": money,
        "total_assets_y1": money,
        "total_liabilities_y1": money,
        "net_profit_y1": small_money,
        "rd_expense_y1": small_money,
        "rd_expense_y2": small_money,
        "equity_financing_y1": small_money,
        "equity_financing_y2": small_money,
        "class1_ip": count,
        "class1_self_developed": count,
        "class1_high_value": count,
        "class2_ip": count,
        "high_tech": flag,
        "iso9001": flag,
        "own_brand": flag,
        "key_chain_link": flag,
        "niche_years": st.one_of(st.none(), st.floats(0, 15).map(lambda x: round(x, 2))),
        "digital_level": st.one_of(st.none(), st.integers(0, 4)),
        "rd_institution_level": st.sampled_from(
            [None, "none", "below_city", "city", "provincial", "national"]
        ),
        "niche_domain": st.sampled_from([None, "breakthrough", "foundation", "none"]),
        "local_feature_points": st.one_of(st.none(), st.floats(0, 15).map(lambda x: round(x, 2))),
        "platform_score_y0": st.one_of(st.none(), st.floats(0, 100).map(lambda x: round(x, 2))),
        "market_share_domestic": st.one_of(st.none(), st.floats(0, 0.5).map(lambda x: round(x, 4))),
        "incident_3y": flag,
        "industry": st.sampled_from(["3973", "1311", "3311", "6513", "5211"]),
    }
)
NULLABLE = [k for k in FIRM.mapping if k != "industry"] if hasattr(FIRM, "mapping") else []


def _long(a) -> pl.DataFrame:
    return a.criteria.with_columns(pl.col("pack", "criterion_id", "status").cast(pl.String))


@SETTINGS
@given(
    firm=FIRM,
    column=st.sampled_from(
        sorted(
            [
                "employees_y1",
                "rd_staff_y1",
                "revenue_y1",
                "revenue_y2",
                "main_revenue_y1",
                "main_revenue_y2",
                "main_revenue_y3",
                "total_costs_y1",
                "total_assets_y1",
                "total_liabilities_y1",
                "net_profit_y1",
                "rd_expense_y1",
                "rd_expense_y2",
                "class1_ip",
                "class2_ip",
                "high_tech",
                "niche_years",
                "digital_level",
                "rd_institution_level",
                "platform_score_y0",
                "market_share_domestic",
            ]
        )
    ),
)
def test_unknown_never_decides(firm: dict[str, Any], column: str) -> None:
    """With ``column`` null, a met/unmet criterion stays so for every filled value, and the
    points of every fill lie within [pmin, pmax] of the null row."""
    fills: dict[str, list[Any]] = {
        "high_tech": [True, False],
        "rd_institution_level": ["none", "city", "national"],
        "employees_y1": [1, 300, 5000],
        "rd_staff_y1": [0, 60, 5000],
        "class1_ip": [0, 1, 9],
        "class2_ip": [0, 2, 9],
        "digital_level": [0, 2, 4],
    }
    values = fills.get(column, [0.0, 0.03, 0.5, 55.0, 1500.0, 99999.0])
    rows = [{**firm, column: None}] + [{**firm, column: v} for v in values]
    a = assess(frame(*rows), AS_OF, packs=ALL)
    c = _long(a)
    null = c.filter(pl.col("uscc") == "91420100MA4K000000")
    for i in range(1, len(rows)):
        filled = c.filter(pl.col("uscc") == f"91420100MA4K{i:06d}")
        j = null.join(filled, on=["pack", "criterion_id"], suffix="_f")
        decided = j.filter(
            pl.col("status").is_in(["met", "unmet"]) & pl.col("max_points").is_null()
        )
        bad = decided.filter(pl.col("status") != pl.col("status_f"))
        assert bad.is_empty(), (
            column,
            values[i - 1],
            bad.select("pack", "criterion_id", "status", "status_f").to_dicts(),
            firm,
        )
    t = a.tiers.with_columns(pl.col("pack", "verdict").cast(pl.String))
    tn = t.filter(pl.col("uscc") == "91420100MA4K000000")
    for i in range(1, len(rows)):
        tf = t.filter(pl.col("uscc") == f"91420100MA4K{i:06d}")
        j = tn.join(tf, on="pack", suffix="_f")
        decided = j.filter(pl.col("verdict") != "undetermined")
        assert (decided["verdict"] == decided["verdict_f"]).all()
        sc = j.filter(pl.col("score_f").is_not_null())
        assert (sc["score_min"] <= sc["score_f"] + 1e-6).all() and (
            sc["score_f"] <= sc["score_max"] + 1e-6
        ).all()


BUMPS = {
    "rd": lambda f: {
        **f,
        "rd_expense_y1": None if f["rd_expense_y1"] is None else f["rd_expense_y1"] + 57.31,
    },
    "ip1": lambda f: {**f, "class1_ip": None if f["class1_ip"] is None else f["class1_ip"] + 1},
    "ip2": lambda f: {**f, "class2_ip": None if f["class2_ip"] is None else f["class2_ip"] + 1},
    "ip_hv": lambda f: {
        **f,
        "class1_high_value": None if f["class1_high_value"] is None else f["class1_high_value"] + 1,
    },
    # grow the whole latest year (revenue, main revenue, R&D, costs, profit) by 30 %
    "revenue": lambda f: {
        **f,
        **{
            k: None if f[k] is None else round(f[k] * 1.3, 2)
            for k in (
                "revenue_y1",
                "main_revenue_y1",
                "rd_expense_y1",
                "total_costs_y1",
                "net_profit_y1",
            )
        },
    },
}


@SETTINGS
@given(firm=FIRM)
def test_more_rd_ip_or_revenue_never_lowers_a_score(firm: dict[str, Any]) -> None:
    rows = [firm] + [bump(firm) for bump in BUMPS.values()]
    t = assess(frame(*rows), AS_OF, packs=SCORED).tiers.with_columns(pl.col("pack").cast(pl.String))
    base = t.filter(pl.col("uscc") == "91420100MA4K000000")
    for i, name in enumerate(BUMPS, start=1):
        more = t.filter(pl.col("uscc") == f"91420100MA4K{i:06d}")
        j = base.join(more, on="pack", suffix="_m")
        assert (j["score_min_m"] >= j["score_min"] - 1e-6).all(), (name, j)
        assert (j["score_max_m"] >= j["score_max"] - 1e-6).all(), (name, j)


def _k(*vals: bool | None, op: str) -> bool | None:
    """Kleene and/or."""
    if op == "and":
        return False if False in vals else (None if None in vals else True)
    return True if True in vals else (None if None in vals else False)


def _met(s: dict[str, str], *ids: str, op: str = "and") -> bool | None:
    m = {"met": True, "unmet": False}
    return _k(*(m.get(s[i]) for i in ids if i in s), op=op)


def _at_least(lo: float, hi: float, mark: float) -> bool | None:
    return True if lo >= mark else (False if hi < mark else None)


def reference_verdict(
    pack: str,
    s: dict[str, str],
    el: dict[str, str],
    t: dict[str, Any],
    pts: dict[str, tuple[float, float]],
) -> str:
    """The pass logic of spec §2–§6, re-implemented from the text."""
    elig = _met(el, "EL-1", "EL-2", "EL-3", "EL-4")
    score = _at_least(t["score_min"], t["score_max"], 60) if t["score_min"] is not None else None
    if pack == "tech_sme-2017":
        ts1 = True if pts["TS-1"][0] > 0 else (False if pts["TS-1"][1] == 0 else None)
        v = _k(
            _met(el, "EL-1"),
            _met(s, "TS-G1", "TS-G2", "TS-G3"),
            _k(
                _met(s, "TS-D1", "TS-D2", "TS-D3", "TS-D4", op="or"),
                _k(score, ts1, op="and"),
                op="or",
            ),
            op="and",
        )
    elif pack == "innovative-2022":
        dims = {d["dimension"]: d for d in t["dimensions"]}
        dim_ok = _k(
            *(
                _at_least(dims[n]["score_min"], dims[n]["score_max"], m)
                for n, m in (("创新能力", 20), ("成长性", 15), ("专业化", 15))
            ),
            op="and",
        )
        v = _k(
            elig,
            _k(
                _met(s, "IN-D1", "IN-D2", "IN-D3", "IN-D4", op="or"),
                _k(score, dim_ok, op="and"),
                op="or",
            ),
            op="and",
        )
    elif pack == "specialized-2022":
        v = _k(
            elig,
            _met(s, "SP-M1", "SP-M2", "SP-M3"),
            _k(score, _met(s, "SP-Z1", "SP-Z2", "SP-Z3", "SP-Z4", op="or"), op="or"),
            op="and",
        )
    elif pack == "specialized-2026":
        v = _k(elig, _met(s, *(f"SP6-P{i}" for i in range(1, 9))), op="and")
    elif pack == "little_giant-2022":
        v = _k(
            elig,
            _met(s, *(f"LG-{i}" for i in (1, 2, 3, 4, 5, 6, 7, 8, 12, 13))),
            _k(_met(s, "LG-9", "LG-10", "LG-11"), _met(s, "LG-D1", "LG-D2", op="or"), op="or"),
            op="and",
        )
    elif pack == "little_giant-2026":
        v = _k(elig, _met(s, *(i for i in s if i != "LG6-X0")), op="and")
    else:
        v = _met(s, *(f"CH-{i}" for i in range(6)))
    return {True: "met", False: "unmet", None: "undetermined"}[v]


@SETTINGS
@given(firms=st.lists(FIRM, min_size=3, max_size=3))
def test_verdict_agrees_with_criteria_and_scores_are_bounded(firms: list[dict[str, Any]]) -> None:
    a = assess(frame(*firms), AS_OF, packs=ALL)
    c = _long(a)
    tiers = a.tiers.with_columns(pl.col("pack", "verdict").cast(pl.String))
    for i in range(len(firms)):
        uscc = f"91420100MA4K{i:06d}"
        ci = c.filter(pl.col("uscc") == uscc)
        el = dict(ci.filter(pl.col("pack") == "EL").select("criterion_id", "status").iter_rows())
        for t in tiers.filter(pl.col("uscc") == uscc).iter_rows(named=True):
            t["dimensions"] = a.dimensions.filter(
                (pl.col("uscc") == uscc) & (pl.col("pack") == t["pack"])
            ).to_dicts()
            cp = ci.filter(pl.col("pack") == t["pack"])
            s = dict(cp.select("criterion_id", "status").iter_rows())
            lo_hi = {}
            wide = a.wide.filter(pl.col("uscc") == uscc)
            for cid in s:
                col = f"{t['pack']}|{cid}|lo"
                if col in wide.columns:
                    lo_hi[cid] = (wide[col][0], wide[f"{t['pack']}|{cid}|hi"][0])
            assert t["verdict"] == reference_verdict(t["pack"], s, el, t, lo_hi), (t["pack"], s, t)
            if t["score_min"] is not None:
                assert t["score_min"] <= t["score_max"]
                assert abs(sum(v[0] for v in lo_hi.values()) - t["score_min"]) < 1e-6
                if t["score"] is not None:
                    assert t["score_min"] <= t["score"] <= t["score_max"]
                    pts = cp["points"].drop_nulls().sum()
                    assert abs(pts - t["score"]) < 1e-6


@SETTINGS
@given(
    firms=st.lists(FIRM, min_size=4, max_size=4),
    held=st.lists(st.booleans(), min_size=5, max_size=5),
)
def test_eligible_tier_never_above_eligible_by_criteria(
    firms: list[dict[str, Any]], held: list[bool]
) -> None:
    """Prerequisites can only lower the placement; a placement always has a met verdict."""
    titles = ["tech_sme", "innovative", "specialized", "little_giant", "champion"]
    rows = [{**f, **{f"held_{t}": h for t, h in zip(titles, held, strict=True)}} for f in firms]
    a = assess(frame(*rows), AS_OF)
    f = a.firms
    rank = {t: i for i, t in enumerate(titles)}
    for row in f.with_columns(
        pl.col("eligible_tier", "eligible_by_criteria").cast(pl.String)
    ).iter_rows(named=True):
        e, c = row["eligible_tier"], row["eligible_by_criteria"]
        if e is not None:
            assert c is not None and rank[e] <= rank[c]
        if c is not None:
            v = a.tiers.filter((pl.col("uscc") == row["uscc"]) & (pl.col("tier") == c))[
                "verdict"
            ].cast(pl.String)
            assert v.to_list() == ["met"]
