"""Candidate lists and their exports, on hand-built scores (pools, ranking, filters, formats)."""

from __future__ import annotations

import io
import json

import openpyxl
import polars as pl
import pytest

from tiering.batch import CandidateError, export_candidates, select_candidates

MANIFEST = {
    "run_id": "20250630-20250701T080000-abcdef12",
    "as_of": "2025-06-30",
    "created_at": "2025-07-01T08:00:00+00:00",
    "packs": {"specialized-2022": {"version": "2022"}},
    "models": {"used": True, "items": [{"target": "specialized", "name": "m", "version": "3"}]},
    "counts": {"scored": 5, "firms_quarantined": 1},
    "inputs": {"firms": {"file": "firms.parquet", "sha256": "0" * 64}},
}


def scores(with_probs: bool = True) -> pl.DataFrame:
    df = pl.DataFrame(
        {
            "uscc": ["U1", "U2", "U3", "U4", "U5", "U6"],
            "name": ["甲公司", "乙公司", "丙公司", "丁公司", "戊公司", "己公司"],
            "district": ["420111", "420111", "420106", "420111", "420102", "420111"],
            "district_name": ["洪山区", "洪山区", "武昌区", "洪山区", "江岸区", "洪山区"],
            "industry_name": ["工业机器人制造"] * 6,
            "section": ["C", "C", "C", "I", "C", "C"],
            "held_tier": [
                "innovative",
                "innovative",
                "innovative",
                "specialized",
                None,
                "innovative",
            ],
            "eligible_tier": ["specialized", "innovative", "innovative", "specialized", None, None],
            "specialized_pack": ["specialized-2022"] * 6,
            "specialized_verdict": ["met", "undetermined", "unmet", "met", "unmet", "unmet"],
            "specialized_score": [80.0, 55.0, 40.0, 90.0, 10.0, 30.0],
            "upsize_candidate": [False, True, False, False, True, False],
            "delist_risk": [True, False, False, False, False, False],
            "review_risk": [False, False, False, True, False, False],
            "revocation": [False] * 6,
            "revenue_y1": [5200.5, 1800.0, 900.0, 30000.0, 120.0, 700.0],
            "rd_expense_y1": [260.0, 50.0, 9.0, 900.0, 1.0, 7.0],
            "rd_ratio_y1": [0.05, 0.0278, 0.01, 0.03, 0.0083, 0.01],
            "employees_y1": [120, 40, 15, 300, 3, 11],
            "gaps_text": [None, "研发费用占比差 0.4 个百分点", None, None, None, None],
        }
    )
    if with_probs:
        df = df.with_columns(
            pl.Series("p_specialized", [0.35, 0.62, 0.71, 0.99, 0.2, 0.05]),
            pl.Series("p_upsize", [0.1, 0.8, 0.05, 0.0, 0.55, 0.0]),
        )
    return df


CRITERIA = pl.DataFrame(
    {
        "uscc": ["U2", "U2", "U2", "U3", "U3"],
        "pack": [
            "specialized-2022",
            "specialized-2022",
            "EL",
            "specialized-2022",
            "innovative-2022",
        ],
        "criterion_id": ["SP-M2", "SP-3", "EL-5", "SP-M2", "IN-1"],
        "label": ["研发费用占比", "主营业务收入增长率", "禁限类产品", "研发费用占比", "x"],
        "status": ["unmet", "unknown", "manual_review", "met", "unmet"],
        "gap": [0.004, None, None, None, 1.0],
        "unit": ["ratio", "ratio", None, "ratio", "项"],
        "gap_text": ["研发费用占比差 0.4 个百分点", None, None, None, "不该出现"],
    }
)


def test_tier_pool_and_ranking_by_probability() -> None:
    out = select_candidates(scores(), CRITERIA, "specialized")
    # U4 already holds the tier; U1 met, U2 undetermined, U3 unmet but p >= 0.5; U5/U6 neither
    assert out["uscc"].to_list() == ["U3", "U2", "U1"]
    assert out["rank"].to_list() == [1, 2, 3]
    u2 = out.filter(pl.col("uscc") == "U2").row(0, named=True)
    assert (
        u2["gap_text_target"]
        == "研发费用占比差 0.4 个百分点；主营业务收入增长率：数据缺失；禁限类产品：需人工核实"
    )
    assert (
        u2["held_tier_label"] == "创新型中小企业" and u2["eligible_tier_label"] == "创新型中小企业"
    )
    assert out.filter(pl.col("uscc") == "U3")["gap_text_target"].item() is None


def test_rules_only_ranking_and_min_prob_needs_models() -> None:
    out = select_candidates(scores(with_probs=False), CRITERIA, "specialized")
    assert out["uscc"].to_list() == ["U1", "U2"]  # met before undetermined; unmet dropped
    assert out["probability"].null_count() == 2
    with pytest.raises(CandidateError, match="没有使用模型"):
        select_candidates(scores(with_probs=False), None, "specialized", min_prob=0.5)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"min_prob": 0.6}, ["U3", "U2"]),
        ({"district": "420111"}, ["U2", "U1"]),
        ({"section": "c", "top": 1}, ["U3"]),
        ({"district": "420102"}, []),
    ],
)
def test_filters(kwargs: dict, expected: list[str]) -> None:
    assert (
        select_candidates(scores(), CRITERIA, "specialized", **kwargs)["uscc"].to_list() == expected
    )


def test_flag_targets() -> None:
    assert select_candidates(scores(), None, "upsize")["uscc"].to_list() == ["U2", "U5"]
    assert select_candidates(scores(with_probs=False), None, "delist")["uscc"].to_list() == ["U1"]
    review = select_candidates(scores(), None, "review")
    assert review["uscc"].to_list() == ["U4"] and review["flags"].item() == "复核风险"


@pytest.mark.parametrize(
    ("target", "kwargs", "message"),
    [
        ("gazelle", {}, "未知名单类型"),
        ("specialized", {"min_prob": 1.5}, "0 到 1"),
        ("specialized", {"top": 0}, "正整数"),
    ],
)
def test_bad_requests(target: str, kwargs: dict, message: str) -> None:
    with pytest.raises(CandidateError, match=message):
        select_candidates(scores(), None, target, **kwargs)


def test_xlsx_headers_formats_filter_freeze_and_provenance() -> None:
    chosen = select_candidates(scores(), CRITERIA, "specialized")
    data = export_candidates(chosen, "xlsx", manifest=MANIFEST, request={"target": "specialized"})
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["名单"]
    headers = [c.value for c in ws[1]]
    assert headers[:4] == ["序号", "企业名称", "统一社会信用代码", "所属区"]
    assert {
        "入选概率",
        "差距（对照认定条件）",
        "上年营业收入（万元）",
        "研发费用占营业收入比重",
    } <= set(headers)
    assert ws.freeze_panes == "A2"
    assert (
        ws.auto_filter.ref
        == f"A1:{openpyxl.utils.get_column_letter(len(headers))}{len(chosen) + 1}"
    )
    col = {h: i + 1 for i, h in enumerate(headers)}
    rev = ws.cell(row=4, column=col["上年营业收入（万元）"])
    assert rev.value == pytest.approx(5200.5) and rev.number_format == "#,##0.00"
    prob = ws.cell(row=2, column=col["入选概率"])
    assert prob.value == pytest.approx(0.71) and prob.number_format == "0.0%"
    assert ws.cell(row=2, column=col["研发费用占营业收入比重"]).number_format == "0.00%"
    assert ws.cell(row=3, column=col["差距（对照认定条件）"]).value.startswith(
        "研发费用占比差 0.4 个百分点"
    )
    assert ws.cell(row=2, column=col["统一社会信用代码"]).value == "U3"
    info = {r[0].value: r[1].value for r in wb["运行信息"].iter_rows(min_row=2)}
    assert info["运行编号"] == MANIFEST["run_id"] and info["评估基准日"] == "2025-06-30"
    assert info["名单条件：target"] == "specialized"
    assert "sha256=" + "0" * 64 in info["输入文件 firms"]


def test_csv_has_bom_and_chinese_headers_and_station_view_drops_tax_figures() -> None:
    chosen = select_candidates(scores(), CRITERIA, "specialized")
    full = export_candidates(chosen, "csv", manifest=MANIFEST, request={})
    assert full.startswith(b"\xef\xbb\xbf")
    header = full[3:].decode("utf-8").splitlines()[0].split(",")
    assert header[1] == "企业名称" and "上年营业收入（万元）" in header
    lean = export_candidates(
        chosen, "csv", manifest=MANIFEST, request={}, include_confidential=False
    )
    head = lean[3:].decode("utf-8").splitlines()[0]
    assert "万元" not in head and "从业人员" not in head and "研发费用占营业收入比重" not in head


def test_json_export_round_trips() -> None:
    chosen = select_candidates(scores(), CRITERIA, "specialized", top=2)
    doc = json.loads(export_candidates(chosen, "json", manifest=MANIFEST, request={"top": 2}))
    assert doc["run_id"] == MANIFEST["run_id"] and doc["request"] == {"top": 2}
    assert [i["uscc"] for i in doc["items"]] == ["U3", "U2"]
    assert doc["columns"]["probability"] == "入选概率"


def _full_sort_reference(frame: pl.DataFrame, top: int | None) -> list[str]:
    """The ranking as it was first written: filter and sort the whole frame (specialized)."""
    rank = {"none": 0, "innovative": 2, "specialized": 3}
    held = pl.col("held_tier").fill_null("none").replace_strict(rank, default=0)
    verdict = pl.col("specialized_verdict")
    pool = verdict.is_in(["met", "undetermined"]).fill_null(False) | (
        pl.col("p_specialized") >= 0.5
    ).fill_null(False)
    out = frame.filter((held < 3) & pool).sort(
        [pl.col("p_specialized"), (verdict == "met").fill_null(False), "specialized_score", "uscc"],
        descending=[True, True, True, False],
        nulls_last=True,
    )
    return (out if top is None else out.head(top))["uscc"].to_list()


@pytest.mark.parametrize("top", [None, 1, 2])
def test_ranking_equals_a_full_frame_sort(top) -> None:
    frame = pl.concat([scores(), scores().with_columns(pl.col("uscc") + "b")])
    got = select_candidates(frame, CRITERIA, "specialized", top=top)
    assert got["uscc"].to_list() == _full_sort_reference(frame, top)
    assert got["rank"].to_list() == list(range(1, got.height + 1))


def test_all_lists_at_once_equal_one_by_one() -> None:
    """``select_all_candidates`` (one read of the criteria for every list) gives each list
    exactly as ``select_candidates`` does; empty lists included."""
    from tiering.batch.candidates import TARGETS, select_all_candidates

    for frame in (scores(), scores(with_probs=False)):
        for crit in (CRITERIA, CRITERIA.lazy(), None):
            together = select_all_candidates(frame, crit, list(TARGETS), top=2)
            assert list(together) == list(TARGETS)
            for target in TARGETS:
                alone = select_candidates(frame, crit, target, top=2)
                assert together[target].equals(alone), target


def test_target_gaps_keep_criteria_order() -> None:
    """A firm's gap texts follow its criteria rows (shortfalls first), run after run."""
    crit = pl.concat([CRITERIA] * 3).with_columns(
        pl.Series("criterion_id", [f"SP-{i}" for i in range(15)]),
        pl.Series("gap_text", [f"缺口{i}" for i in range(15)]),
        pl.Series("status", ["unmet"] * 15),
        pl.Series("pack", ["specialized-2022"] * 15),
    )
    for _ in range(3):
        out = select_candidates(scores(), crit, "specialized")
        text = out.filter(pl.col("uscc") == "U2")["gap_text_target"].item()
        want = [f"缺口{i}" for i in range(15) if crit["uscc"][i] == "U2"]
        assert text.split("；") == want
