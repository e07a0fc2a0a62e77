"""Every shipped pack loads; malformed packs fail at load naming file, criterion and field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from tiering.calendar import load_calendar, pack_for, packs_in_force
from tiering.errors import PackError
from tiering.pack_loader import list_packs, load_pack, load_pack_file, pack_metadata, packs_dir
from tiering.pack_model import Pack

SPEC_PACKS = {
    "tech_sme-2017",
    "innovative-2022",
    "specialized-2022",
    "specialized-2026",
    "little_giant-2022",
    "little_giant-2026",
    "champion-2023",
    "sme-size-2011",
    "four-above",
    "EL",
}
SPEC_IDS = {
    "EL": ["EL-1", "EL-2", "EL-3", "EL-4", "EL-5", "EL-6"],  # EL-6: derived from spec §9
    "tech_sme-2017": [
        "TS-G1",
        "TS-G2",
        "TS-G3",
        "TS-D1",
        "TS-D2",
        "TS-D3",
        "TS-D4",
        "TS-1",
        "TS-2",
        "TS-3",
    ],
    "innovative-2022": [
        "IN-D1",
        "IN-D2",
        "IN-D3",
        "IN-D4",
        "IN-1",
        "IN-2",
        "IN-3",
        "IN-4",
        "IN-5",
        "IN-6",
    ],
    "specialized-2022": ["SP-M1", "SP-M2", "SP-M3", "SP-Z1", "SP-Z2", "SP-Z3", "SP-Z4"]
    + [f"SP-{i}" for i in range(1, 14)],
    "specialized-2026": [f"SP6-P{i}" for i in range(9)],
    "little_giant-2022": [f"LG-{i}" for i in range(1, 12)] + ["LG-D1", "LG-D2", "LG-12", "LG-13"],
    "little_giant-2026": [
        "LG6-X0",
        "LG6-X1",
        "LG6-X2a",
        "LG6-X2b",
        "LG6-X2c",
        "LG6-X2d",
        "LG6-X3",
        "LG6-X4",
        "LG6-X5",
        "LG6-X6",
        "LG6-X7",
    ],
    "champion-2023": [f"CH-{i}" for i in range(6)],
}


def test_every_spec_pack_is_shipped_and_loads() -> None:
    assert set(list_packs()) == SPEC_PACKS
    for p in SPEC_PACKS:
        assert pack_metadata(p)["id"] == p


@pytest.mark.parametrize("pack", sorted(SPEC_IDS))
def test_criterion_ids_exactly_as_in_spec(pack: str) -> None:
    pk = load_pack(pack)
    assert isinstance(pk, Pack)
    assert sorted(c.id for c in pk.criteria) == sorted(SPEC_IDS[pack])
    assert all(c.label for c in pk.criteria)


def test_scored_dimensions_and_pass_marks() -> None:
    inn = load_pack("innovative-2022")
    assert inn.pass_mark == 60
    assert {d.name: (d.max_points, d.min_points) for d in inn.dimensions} == {
        "创新能力": (40, 20),
        "成长性": (30, 15),
        "专业化": (30, 15),
    }
    sp = load_pack("specialized-2022")
    assert {d.name: d.max_points for d in sp.dimensions} == {
        "专业化": 25,
        "精细化": 25,
        "特色化": 15,
        "创新能力": 35,
    }
    assert sp.parameters["growth_method"] == "mean"
    assert load_pack("champion-2023").parameters["ch2_exception"] is False


def test_unknown_pack_id() -> None:
    with pytest.raises(PackError, match="未知规则包"):
        load_pack("specialized-2030")


def _write(tmp_path: Path, pack_id: str, mutate) -> Path:
    raw = yaml.safe_load((packs_dir() / f"{pack_id}.yaml").read_text(encoding="utf-8"))
    mutate(raw)
    p = tmp_path / f"{pack_id}.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return p


def _crit(raw: dict, cid: str) -> dict:
    return next(c for c in raw["criteria"] if c["id"] == cid)


BROKEN = [
    (
        "unknown key",
        "innovative-2022",
        lambda r: _crit(r, "IN-2").update(weight=3),
        ["IN-2", "weight", "unknown key"],
    ),
    (
        "wrong type",
        "innovative-2022",
        lambda r: _crit(r, "IN-2")["bands"].update(points="many"),
        ["IN-2", "bands.points"],
    ),
    (
        "bands out of order",
        "specialized-2022",
        lambda r: _crit(r, "SP-1")["bands"]["bases"][0].update(edges=[0.6, 0.7, 0.8]),
        ["SP-1", "bands", "out of order"],
    ),
    (
        "lower bands out of order",
        "innovative-2022",
        lambda r: _crit(r, "IN-4")["bands"]["bases"][0].update(edges=[0.75, 0.55]),
        ["IN-4", "out of order"],
    ),
    (
        "missing criterion in verdict",
        "tech_sme-2017",
        lambda r: r["verdict"]["all"][0].update(all_met=["TS-G1", "TS-G9"]),
        ["tech_sme-2017.yaml", "verdict", "TS-G9"],
    ),
    (
        "unknown column",
        "specialized-2026",
        lambda r: _crit(r, "SP6-P3")["test"].update(value="main_revenue_y1 / turnover_y1"),
        ["SP6-P3", "test", "turnover_y1"],
    ),
    (
        "max points mismatch",
        "innovative-2022",
        lambda r: _crit(r, "IN-1").update(max_points=25),
        ["IN-1", "max_points"],
    ),
    (
        "bad op",
        "specialized-2026",
        lambda r: _crit(r, "SP6-P1")["test"].update(op="=>"),
        ["SP6-P1", "test"],
    ),
    (
        "formula construct",
        "specialized-2022",
        lambda r: _crit(r, "SP-Z2")["test"].update(value="__import__('os')"),
        ["SP-Z2", "__import__"],
    ),
    ("id not file name", "EL", lambda r: r.update(id="EL2"), ["EL.yaml", "id"]),
    (
        "duplicate criterion",
        "champion-2023",
        lambda r: r["criteria"].append(dict(_crit(r, "CH-3"))),
        ["champion-2023.yaml", "duplicate", "CH-3"],
    ),
    (
        "unknown scope code",
        "sme-size-2011",
        lambda r: r["sectors"][0]["scope"].update(sections=["Z"]),
        ["sme-size-2011.yaml", "scope.sections"],
    ),
]


@pytest.mark.parametrize(("what", "pack", "mutate", "needles"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_pack_fails_at_load(
    tmp_path: Path, what: str, pack: str, mutate, needles: list[str]
) -> None:
    path = _write(tmp_path, pack, mutate)
    with pytest.raises(PackError) as exc:
        load_pack_file(path)
    msg = str(exc.value)
    assert f"{pack}.yaml" in msg or "EL.yaml" in msg
    for n in needles:
        assert n in msg, (n, msg)


def test_not_yaml(tmp_path: Path) -> None:
    p = tmp_path / "x.yaml"
    p.write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(PackError, match=r"x\.yaml.*YAML"):
        load_pack_file(p)


def test_calendar_switches() -> None:
    d = dt.date
    assert pack_for("specialized", d(2026, 3, 31)) == "specialized-2022"
    assert pack_for("specialized", d(2026, 4, 1)) == "specialized-2026"
    assert pack_for("little_giant", d(2026, 4, 1)) == "little_giant-2026"
    assert pack_for("little_giant", d(2026, 12, 31), "review") == "little_giant-2022"
    assert pack_for("little_giant", d(2027, 1, 1), "review") == "little_giant-2026"
    assert pack_for("champion", d(2020, 1, 1)) is None
    assert packs_in_force(d(2025, 6, 30)) == [
        "tech_sme-2017",
        "innovative-2022",
        "specialized-2022",
        "little_giant-2022",
        "champion-2023",
    ]
    with pytest.raises(PackError):
        packs_in_force(d(2025, 6, 30), "renew")


def test_calendar_naming_unknown_pack(tmp_path: Path) -> None:
    raw = yaml.safe_load((packs_dir() / "calendar.yaml").read_text(encoding="utf-8"))
    raw["entries"][0]["pack"] = "tech_sme-2099"
    p = tmp_path / "calendar.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PackError, match="tech_sme-2099"):
        load_calendar(p)
