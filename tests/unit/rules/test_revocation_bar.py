"""EL-6 (a title revoked in the last 3 years bars new applications, spec §9) and TS-G3's
科研严重失信 item — both read extra frame columns that may be absent (then null → unknown)."""

from __future__ import annotations

import polars as pl
import pytest

from tests.unit.rules.conftest import AS_OF, frame, run, statuses, tier_row
from tiering.engine import assess

TIER_PACKS = [
    "tech_sme-2017",
    "innovative-2022",
    "specialized-2026",
    "little_giant-2026",
    "champion-2023",
]


@pytest.mark.parametrize(
    ("revoked", "status"), [(False, "met"), (True, "unmet"), (None, "unknown")]
)
def test_el6_reads_title_revoked_3y(revoked, status) -> None:
    a = run({"title_revoked_3y": revoked}, "innovative-2022")
    assert statuses(a, "EL")["EL-6"] == status


def test_el6_gates_every_tier_pack_for_new_applications() -> None:
    rows = [{}, {"title_revoked_3y": True}]
    a = assess(frame(*rows), AS_OF, packs=TIER_PACKS)
    for pack in TIER_PACKS:
        clean, revoked = tier_row(a, pack, 0), tier_row(a, pack, 1)
        assert revoked["verdict"] == "unmet", pack
        # the revocation bar is the only difference: the clean firm is not unmet because of it
        if clean["verdict"] == "unmet":
            got = statuses(a, pack, 0)
            assert any(s == "unmet" for s in got.values()), pack
    el = a.criteria.filter(pl.col("criterion_id") == "EL-6").sort("uscc")
    assert el["status"].cast(pl.String).to_list() == ["met", "unmet"]
    assert el["gap_text"].to_list() == [None, "不得近三年内被撤销称号"]


def test_el6_not_checked_at_review() -> None:
    a = run(
        {"title_revoked_3y": True, "held_innovative": True}, "innovative-2022", application="review"
    )
    assert "EL-6" not in statuses(a, "EL")
    # the same firm applying anew is barred
    b = run({"title_revoked_3y": True}, "innovative-2022")
    assert tier_row(b, "innovative-2022")["verdict"] == "unmet"
    # at review the flag changes nothing: same verdict as without a revocation
    c = run(
        {"title_revoked_3y": False, "held_innovative": True},
        "innovative-2022",
        application="review",
    )
    assert tier_row(a, "innovative-2022")["verdict"] == tier_row(c, "innovative-2022")["verdict"]


def test_unknown_revocation_leaves_verdict_undetermined() -> None:
    base = run({}, "innovative-2022")
    assert tier_row(base, "innovative-2022")["verdict"] == "met"
    a = run({"title_revoked_3y": None}, "innovative-2022")
    assert tier_row(a, "innovative-2022")["verdict"] == "undetermined"


@pytest.mark.parametrize(("flag", "status"), [(False, "met"), (True, "unmet"), (None, "unknown")])
def test_ts_g3_reads_sci_dishonesty_3y(flag, status) -> None:
    a = run({"sci_dishonesty_3y": flag}, "tech_sme-2017")
    assert statuses(a, "tech_sme-2017")["TS-G3"] == status


def test_ts_g3_other_failures_decide_even_if_sci_unknown() -> None:
    # Kleene AND: a known failing item makes TS-G3 unmet although 科研失信 is unknown
    a = run({"sci_dishonesty_3y": None, "fraud_3y": True}, "tech_sme-2017")
    assert statuses(a, "tech_sme-2017")["TS-G3"] == "unmet"
    c = a.criteria.filter(pl.col("criterion_id") == "TS-G3")
    assert c["gap_text"].item() == "不得存在数据造假"
    b = run({"sci_dishonesty_3y": True}, "tech_sme-2017")
    c = b.criteria.filter(pl.col("criterion_id") == "TS-G3")
    assert c["gap_text"].item() == "不得存在科研严重失信行为"


def test_absent_extra_columns_are_null_not_an_error() -> None:
    f = frame({}).drop("sci_dishonesty_3y", "title_revoked_3y")
    a = assess(f, AS_OF, packs=["tech_sme-2017", "innovative-2022"])
    got = dict(
        zip(
            a.criteria["criterion_id"].cast(pl.String),
            a.criteria["status"].cast(pl.String),
            strict=True,
        )
    )
    assert got["EL-6"] == "unknown"
    assert got["TS-G3"] == "unknown"
    assert set(a.tiers["verdict"].cast(pl.String)) <= {"undetermined", "unmet"}
