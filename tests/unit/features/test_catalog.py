"""The feature catalogue: labels staff read, directions the scorer trusts, lines mirrored from packs."""

from __future__ import annotations

import re

import pytest

from features.catalog import CATALOG, FOUR_ABOVE_LINES, TARGETS, THRESHOLDS, feature_names
from tiering.four_above import four_above_table
from tiering.pack_loader import list_packs, load_pack
from tiering.pack_model import AllOf, AnyOf, Cmp, NotOf, Pack

CJK = re.compile(r"[\u4e00-\u9fff]")


def _lines(pack: Pack, criterion_id: str) -> set[tuple[str, float]]:
    """Every (op, line) a criterion compares against: test trees and band edges."""
    c = pack.criterion(criterion_id)
    out: set[tuple[str, float]] = set()

    def walk(node) -> None:
        if isinstance(node, Cmp):
            thr = node.threshold
            thr = pack.parameters.get(thr, thr) if isinstance(thr, str) else thr
            if isinstance(thr, int | float):
                out.add((node.op, float(thr)))
        elif isinstance(node, AllOf):
            for n in node.all:
                walk(n)
        elif isinstance(node, AnyOf):
            for n in node.any:
                walk(n)
        elif isinstance(node, NotOf):
            walk(node.not_)

    walk(c.test)
    walk(c.review_test)
    if c.bands is not None:
        op = ">=" if c.bands.direction == "higher" else "<="
        out |= {(op, float(e)) for b in c.bands.bases for e in b.edges}
    return out


@pytest.mark.parametrize("t", THRESHOLDS, ids=lambda t: t.feature)
def test_every_line_is_the_line_of_its_packs(t):
    packs = [load_pack(pid) for pid in list_packs()]
    by_id = {c.id: p for p in packs if isinstance(p, Pack) for c in p.criteria}
    for cid in t.criteria:
        assert cid in by_id, f"{t.feature}: criterion {cid} is in no pack"
        assert (t.op, float(t.line)) in _lines(by_id[cid], cid), (t.feature, cid)


def test_four_above_lines_mirror_the_pack():
    pack = load_pack("four-above")
    lines = {g.id: (g.metric, float(g.line)) for g in pack.groups if g.line is not None}
    table = four_above_table()
    from features.model_features import _lookups

    lk = _lookups()
    mine = {c: (lk["metric"][c], lk["line"][c]) for c in lk["line"]}
    theirs = {
        code: lines[g]
        for code, g in table.select("code", "four_above_group").iter_rows()
        if g in lines
    }
    assert mine == theirs
    assert FOUR_ABOVE_LINES["52"] == ("main_revenue", 500.0)


def test_names_labels_and_kinds():
    assert len(CATALOG) == len(feature_names()) > 100
    labels = [f.label for f in CATALOG.values()]
    assert all(CJK.search(lab) for lab in labels)
    assert len(set(labels)) == len(labels), "staff must be able to tell reasons apart"
    for f in CATALOG.values():
        assert f.kind in ("numeric", "bool", "categorical")
        assert f.meaning
        assert set(f.directions) <= set(TARGETS), f.name
        assert set(f.directions.values()) <= {-1, 1}, f.name
        assert not (f.kind == "categorical" and f.directions), f.name


def test_history_features_can_be_left_out():
    short = feature_names(history=False)
    assert "revenue_growth_y3" not in short and "revenue_growth_y1" in short
    assert all(not CATALOG[n].needs_history for n in short)


@pytest.mark.parametrize(
    ("name", "target", "expected"),
    [
        ("rd_ratio_y1", "specialized", 1),
        ("debt_ratio_y1", "little_giant", -1),
        ("gap_debt_ratio_70pct", "little_giant", 1),  # upper limit: the gap flips the sign
        ("gap_rd_ratio_3pct", "innovative", 1),
        ("incident_3y", "innovative", -1),
        ("held_innovative", "specialized", 1),
        ("four_above_ratio", "upsize", 1),
        ("four_above_ratio", "delist", -1),
        ("revenue_y1", "innovative", 0),  # SME size gate: not monotone for titles
        ("age_years", "specialized", 0),
    ],
)
def test_directions_follow_the_rules(name, target, expected):
    assert CATALOG[name].directions.get(target, 0) == expected


def test_direction_is_the_common_tier_direction():
    assert CATALOG["rd_ratio_y1"].direction == 1
    assert CATALOG["main_growth_2y"].direction == 0  # not used by the innovative standard
