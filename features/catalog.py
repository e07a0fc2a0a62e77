"""The catalogue of model features: name, Chinese label, meaning, unit, kind and known directions.

Why a catalogue: staff see feature labels as the reasons behind a score ("上年研发费用距100万元门槛
还差…"), and the learned scorer needs, per feature, whether "more" can only raise (+1) or only lower
(−1) the chance of an outcome — a monotonic constraint is a promise, so a direction is set only
where the official rules make it true (more R&D never hurts a title application; a listing on the
经营异常名录 never helps). 0 / absent means free.

``THRESHOLDS`` mirrors the numeric lines of the rule packs (``tiering/packs/*.yaml``) that the
``gap_*`` features measure distances to; ``tests/unit/features/test_catalog.py`` loads the packs
and fails if a line here drifts from its pack. ``FOUR_ABOVE_LINES`` mirrors ``four-above.yaml``.

>>> CATALOG["rd_ratio_y1"].label
'上年研发费用占营业收入比重'
>>> CATALOG["debt_ratio_y1"].directions["specialized"]
-1
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import polars as pl

__all__ = [
    "CATALOG",
    "FOUR_ABOVE_LINES",
    "THRESHOLDS",
    "Feature",
    "Threshold",
    "catalog_frame",
    "feature_names",
]

Kind = Literal["numeric", "bool", "categorical"]
TARGETS = ("innovative", "specialized", "little_giant", "upsize", "delist")


@dataclass(frozen=True, slots=True)
class Feature:
    """One model feature.

    ``directions`` maps a target of ``models.targets`` (innovative, specialized, little_giant,
    upsize, delist) to +1 / −1 where the effect is known; ``direction`` is the common direction
    for the three tier targets (0 if they differ or are unknown). ``needs_history`` features are
    null unless the frame was built with ``assessment_frame(..., history=True)``.
    """

    name: str
    label: str
    meaning: str
    unit: str = ""
    kind: Kind = "numeric"
    directions: dict[str, int] = field(default_factory=dict)
    needs_history: bool = False
    group: str = ""

    @property
    def direction(self) -> int:
        tiers = {self.directions.get(t, 0) for t in ("innovative", "specialized", "little_giant")}
        return tiers.pop() if len(tiers) == 1 else 0


@dataclass(frozen=True, slots=True)
class Threshold:
    """A numeric line of the rule packs: ``value op line`` in the named criteria."""

    feature: str  # the gap feature measuring the distance to it
    value: str  # the model feature (or frame column) compared
    op: Literal[">=", "<="]
    line: float
    criteria: tuple[str, ...]  # criterion ids whose packs use this line
    label: str


UP = {"innovative": 1, "specialized": 1, "little_giant": 1}
DOWN = {"innovative": -1, "specialized": -1, "little_giant": -1}
SIZE_UP = {"upsize": 1, "delist": -1}

THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("gap_rd_expense_100", "rd_expense_y1", ">=", 100, ("SP-M2",), "上年研发费用距100万元门槛"),
    Threshold("gap_rd_ratio_3pct", "rd_ratio_y1", ">=", 0.03, ("SP-M2",), "上年研发费用占比距3%门槛"),
    Threshold("gap_revenue_1000", "revenue_y1", ">=", 1000, ("SP-M3",), "上年营业收入距1000万元门槛"),
    Threshold("gap_revenue_1500", "revenue_y1", ">=", 1500, ("SP6-P2",), "上年营业收入距1500万元门槛"),
    Threshold("gap_revenue_5000", "revenue_y1", ">=", 5000, ("LG6-X2a",), "上年营业收入距5000万元门槛"),
    Threshold("gap_equity_2y_2000", "equity_2y", ">=", 2000, ("SP-M3", "SP6-P2"), "近两年股权融资距2000万元门槛"),
    Threshold("gap_equity_2y_6000", "equity_2y", ">=", 6000, ("SP-Z3",), "近两年股权融资距6000万元门槛"),
    Threshold("gap_equity_3y_500", "equity_3y", ">=", 500, ("IN-D4",), "近三年股权融资距500万元门槛"),
    Threshold("gap_rd_mean_2y_1000", "rd_mean_2y", ">=", 1000, ("SP-Z2",), "近两年研发费用均值距1000万元门槛"),
    Threshold("gap_rd_total_2y_1200", "rd_total_2y", ">=", 1200, ("LG6-X3",), "近两年研发费用合计距1200万元门槛"),
    Threshold("gap_main_share_70pct", "main_share_y1", ">=", 0.70, ("LG-2",), "主营业务收入占比距70%门槛"),
    Threshold("gap_main_share_80pct", "main_share_y1", ">=", 0.80, ("SP6-P3",), "主营业务收入占比距80%门槛"),
    Threshold("gap_main_share_90pct", "main_share_y1", ">=", 0.90, ("LG6-X2b",), "主营业务收入占比距90%门槛"),
    Threshold("gap_debt_ratio_70pct", "debt_ratio_y1", "<=", 0.70, ("LG-6",), "资产负债率距70%上限"),
    Threshold("gap_debt_ratio_75pct", "debt_ratio_y1", "<=", 0.75, ("LG6-X2d",), "资产负债率距75%上限"),
    Threshold("gap_debt_ratio_80pct", "debt_ratio_y1", "<=", 0.80, ("SP6-P4",), "资产负债率距80%上限"),
    Threshold("gap_main_growth_2y_5pct", "main_growth_2y", ">=", 0.05, ("LG-3",), "近两年主营业务收入平均增长率距5%门槛"),
    Threshold("gap_revenue_cagr_2y_5pct", "revenue_cagr_2y", ">=", 0.05, ("LG6-X2c",), "近两年营业收入复合增长率距5%门槛"),
    Threshold("gap_niche_years_2", "niche_years", ">=", 2, ("SP-M1",), "细分市场年限距2年门槛"),
    Threshold("gap_niche_years_3", "niche_years", ">=", 3, ("LG-1", "SP6-P1", "LG6-X1"), "细分市场年限距3年门槛"),
    Threshold("gap_class1_ip_2", "class1_ip", ">=", 2, ("LG-11",), "Ⅰ类知识产权距2项门槛"),
    Threshold("gap_class1_ip_4", "class1_self_developed", ">=", 4, ("LG6-X4",), "自主研发Ⅰ类知识产权距4项门槛"),
    Threshold("gap_platform_score_50", "platform_score_best", ">=", 50, ("SP6-P8",), "平台评价得分距50分门槛"),
    Threshold("gap_platform_score_60", "platform_score_best", ">=", 60, ("LG6-X7",), "平台评价得分距60分门槛"),
    Threshold("gap_market_share_10pct", "market_share_domestic", ">=", 0.10, ("LG-7",), "国内市场占有率距10%门槛"),
    Threshold("gap_main_revenue_mean_3y_40000", "main_revenue_mean_3y", ">=", 40000, ("CH-2",), "近三年主营业务收入均值距4亿元门槛"),
    Threshold("gap_rd_staff_share_10pct", "rd_staff_share_y1", ">=", 0.10, ("TS-1",), "研发人员占比距10%门槛"),
    Threshold("gap_rd_expense_y2_100", "rd_expense_y2", ">=", 100, ("SP6-P5",), "前年研发费用距100万元门槛"),
    Threshold("gap_rd_ratio_y2_3pct", "rd_ratio_y2", ">=", 0.03, ("SP6-P5", "LG6-X3", "LG-9"), "前年研发费用占比距3%门槛"),
    Threshold("gap_revenue_10000", "revenue_y1", ">=", 10000, ("LG-9",), "上年营业收入距1亿元门槛"),
    Threshold("gap_rd_ratio_6pct", "rd_ratio_y1", ">=", 0.06, ("LG-9",), "上年研发费用占比距6%门槛"),
    Threshold("gap_equity_2y_8000", "equity_2y", ">=", 8000, ("LG-9",), "近两年股权融资距8000万元门槛"),
    Threshold("gap_rd_total_2y_3000", "rd_total_2y", ">=", 3000, ("LG-9",), "近两年研发费用合计距3000万元门槛"),
    Threshold("gap_rd_staff_share_50pct", "rd_staff_share_y1", ">=", 0.50, ("LG-9",), "研发人员占比距50%门槛"),
    Threshold("gap_digital_level_2", "digital_level", ">=", 2, ("LG-4",), "数字化水平距2级门槛"),
    Threshold("gap_domestic_rank_3", "domestic_rank", "<=", 3, ("LG6-X5",), "国内细分市场排名距前3名"),
    Threshold("gap_global_rank_3", "global_rank", "<=", 3, ("CH-3",), "全球市场占有率排名距前3名"),
    Threshold("gap_years_in_field_10", "years_in_field", ">=", 10, ("CH-1",), "从事相关领域年限距10年门槛"),
    Threshold("gap_employees_500", "employees_y1", "<=", 500, ("TS-G2",), "从业人员距科技型中小企业500人上限"),
    Threshold("gap_revenue_20000", "revenue_y1", "<=", 20000, ("TS-G2",), "营业收入距科技型中小企业2亿元上限"),
    Threshold("gap_total_assets_20000", "total_assets_y1", "<=", 20000, ("TS-G2",), "资产总额距科技型中小企业2亿元上限"),
)  # fmt: skip

# 四上 entry lines by GB/T 4754 division (2 digits) or class (4 digits): (metric, line).
# Mirrors four-above.yaml (most specific scope wins); flag groups (建筑业, 房地产) have no line.
FOUR_ABOVE_LINES: dict[str, tuple[str, float]] = {
    **{f"{d:02d}": ("main_revenue", 2000.0) for d in range(6, 47)},  # B, C, D 规上工业
    "51": ("main_revenue", 2000.0),
    "52": ("main_revenue", 500.0),
    "61": ("main_revenue", 200.0),
    "62": ("main_revenue", 200.0),
    **{
        d: ("revenue", 2000.0)
        for d in (
            [
                "53",
                "54",
                "55",
                "56",
                "57",
                "58",
                "59",
                "60",
                "63",
                "64",
                "65",
                "76",
                "77",
                "78",
                "79",
                "84",
            ]
        )
    },
    **{d: ("revenue", 1000.0) for d in (["71", "72", "73", "74", "75", "83"])},
    **{c: ("revenue", 1000.0) for c in ("7020", "7030", "7040", "7090")},
    **{d: ("revenue", 500.0) for d in (["80", "81", "82", "85", "86", "87", "88", "89", "90"])},
}


def _f(name: str, label: str, meaning: str, unit: str = "", **kw) -> Feature:
    return Feature(name, label, meaning, unit, **kw)


_TIERS = ("tech_sme", "innovative", "specialized", "little_giant", "champion")
_TIER_ZH = {
    "tech_sme": "科技型中小企业",
    "innovative": "创新型中小企业",
    "specialized": "专精特新中小企业",
    "little_giant": "专精特新“小巨人”",
    "champion": "制造业单项冠军",
}
_PREREQ_OF = {"innovative": "specialized", "specialized": "little_giant"}

_FEATURES: list[Feature] = [
    # size and scale (frame columns as they are)
    _f("employees_y1", "上年从业人员", "average employees in Y−1", "人", group="size"),
    _f("revenue_y1", "上年营业收入", "operating revenue of Y−1", "万元", directions=SIZE_UP, group="size"),
    _f("main_revenue_y1", "上年主营业务收入", "main-business revenue of Y−1", "万元", directions=SIZE_UP, group="size"),
    _f("total_assets_y1", "上年末资产总额", "total assets at the end of Y−1", "万元", group="size"),
    _f("net_profit_y1", "上年净利润", "net profit of Y−1", "万元", group="results"),
    _f("revenue_mean_2y", "近两年营业收入均值", "mean revenue over Y−2, Y−1 (null if either is null)", "万元", group="size"),
    _f("revenue_mean_3y", "近三年营业收入均值", "mean revenue over Y−3..Y−1", "万元", group="size"),
    _f("main_revenue_mean_3y", "近三年主营业务收入均值", "mean main revenue over Y−3..Y−1 (CH-2)", "万元", group="size"),
    # growth and trends
    _f("revenue_growth_y1", "上年营业收入增长率", "revenue Y−1 / Y−2 − 1 (null if Y−2 ≤ 0)", "比例", directions=SIZE_UP, group="growth"),
    _f("revenue_growth_y2", "前年营业收入增长率", "revenue Y−2 / Y−3 − 1", "比例", group="growth"),
    _f("main_growth_y1", "上年主营业务收入增长率", "main revenue Y−1 / Y−2 − 1 (IN-3)", "比例", directions={"innovative": 1} | SIZE_UP, group="growth"),
    _f("main_growth_y2", "前年主营业务收入增长率", "main revenue Y−2 / Y−3 − 1", "比例", group="growth"),
    _f("main_growth_2y", "近两年主营业务收入平均增长率", "mean of the two yearly main-revenue growth rates (SP-2, LG-3)", "比例", directions={"specialized": 1, "little_giant": 1}, group="growth"),
    _f("revenue_cagr_2y", "近两年营业收入复合增长率", "sqrt(revenue Y−1 / Y−3) − 1 (LG6-X2c)", "比例", group="growth"),
    _f("revenue_trend_3y", "近三年营业收入趋势", "least-squares slope of revenue over Y−3..Y−1 divided by its mean (per year)", "比例", group="growth"),
    _f("rd_growth_y1", "上年研发费用增长率", "R&D Y−1 / Y−2 − 1", "比例", group="growth"),
    _f("revenue_growth_y3", "大前年营业收入增长率", "revenue Y−3 / Y−4 − 1", "比例", needs_history=True, group="growth"),
    _f("revenue_trend_4y", "近四年营业收入趋势", "least-squares slope of revenue over Y−4..Y−1 divided by its mean", "比例", needs_history=True, group="growth"),
    _f("employees_growth_y1", "上年从业人员增长率", "employees Y−1 / Y−2 − 1", "比例", needs_history=True, group="growth"),
    _f("assets_growth_y1", "上年资产总额增长率", "total assets Y−1 / Y−2 − 1", "比例", needs_history=True, group="growth"),
    # ratios
    _f("rd_ratio_y1", "上年研发费用占营业收入比重", "R&D expense / revenue, Y−1 (IN-2, SP-M2)", "比例", directions=UP, group="rd"),
    _f("rd_ratio_y2", "前年研发费用占营业收入比重", "R&D expense / revenue, Y−2 (SP6-P5, LG-9)", "比例", directions={"specialized": 1, "little_giant": 1}, group="rd"),
    _f("rd_cost_ratio_y1", "上年研发费用占成本费用比重", "R&D expense / total costs and expenses, Y−1 (TS-2)", "比例", group="rd"),
    _f("rd_staff_share_y1", "上年研发人员占比", "R&D staff / employees, Y−1 (TS-1, SP-12)", "比例", directions=UP, group="rd"),
    _f("rd_expense_y1", "上年研发费用", "R&D expense of Y−1", "万元", directions=UP, group="rd"),
    _f("rd_expense_y2", "前年研发费用", "R&D expense of Y−2 (SP6-P5)", "万元", directions={"specialized": 1, "little_giant": 1}, group="rd"),
    _f("rd_mean_2y", "近两年研发费用均值", "mean R&D over Y−2, Y−1 (SP-Z2)", "万元", directions=UP, group="rd"),
    _f("rd_total_2y", "近两年研发费用合计", "R&D Y−2 + Y−1 (LG6-X3, LG-9)", "万元", directions=UP, group="rd"),
    _f("rd_ratio_y3", "大前年研发费用占营业收入比重", "R&D / revenue, Y−3", "比例", needs_history=True, group="rd"),
    _f("main_share_y1", "上年主营业务收入占比", "main revenue / revenue, Y−1 (IN-6, SP-1, LG-2)", "比例", directions=UP, group="ratios"),
    _f("net_margin_y1", "上年净利润率", "net profit / revenue, Y−1 (SP-7)", "比例", directions={"specialized": 1}, group="ratios"),
    _f("debt_ratio_y1", "上年末资产负债率", "total liabilities / total assets at the end of Y−1 (IN-4, SP-8, LG-6)", "比例", directions=DOWN, group="ratios"),
    _f("net_margin_y2", "前年净利润率", "net profit / revenue, Y−2", "比例", needs_history=True, group="ratios"),
    _f("export_share_y1", "上年出口收入占比", "export revenue / revenue, Y−1", "比例", needs_history=True, group="ratios"),
    # funding
    _f("equity_2y", "近两年股权融资合计", "equity financing Y−2 + Y−1 (SP-M3, SP-Z3)", "万元", directions={"specialized": 1}, group="funding"),
    _f("equity_3y", "近三年股权融资合计", "equity financing Y−3..Y−1 (IN-D4)", "万元", directions={"innovative": 1}, group="funding"),
    # IP and credentials
    _f("class1_ip", "主导产品Ⅰ类知识产权", "valid Ⅰ类 IP tied to the main product, end of Y−1", "项", directions=UP, group="ip"),
    _f("class1_self_developed", "自主研发Ⅰ类知识产权", "of which self-developed", "项", directions=UP, group="ip"),
    _f("class1_high_value", "Ⅰ类高价值知识产权", "of which high-value", "项", directions=UP, group="ip"),
    _f("class2_ip", "主导产品Ⅱ类知识产权", "utility models, designs, software copyrights", "项", directions=UP, group="ip"),
    _f("class1_ip_change_1y", "上年Ⅰ类知识产权增量", "Ⅰ类 IP at end of Y−1 minus end of Y−2", "项", needs_history=True, group="ip"),
    _f("invention_patents_y1", "上年末有效发明专利", "valid invention patents (all products), end of Y−1", "项", needs_history=True, group="ip"),
    _f("high_tech", "有效高新技术企业证书", "holds a valid 高新技术企业 certificate (IN-D2, TS-D1)", kind="bool", directions=UP, group="credentials"),
    _f("honor_ip_demo", "国家级技术创新示范/知识产权优势企业", "national innovation-demo or IP-advantage firm", kind="bool", directions=UP, group="credentials"),
    _f("rd_institution_rank", "研发机构级别（等级）", "none 0, below_city 1, city 2, provincial 3, national 4", "级", directions=UP, group="credentials"),
    _f("digital_level", "数字化水平等级", "digital maturity level 0–4 (SP-5, LG-4)", "级", directions=UP, group="credentials"),
    _f("quality_award_rank", "质量奖级别（等级）", "none 0, city 1, provincial 2, national 3", "级", directions=UP, group="credentials"),
    _f("iso9001", "质量管理体系认证", "ISO 9001 or another QMS certificate", kind="bool", directions=UP, group="credentials"),
    _f("own_brand", "自主品牌", "owns a competitive brand", kind="bool", directions=UP, group="credentials"),
    _f("standards_participation", "参与标准制修订", "took part in drafting standards", kind="bool", directions=UP, group="credentials"),
    _f("sci_award_level_rank", "科技奖励级别（等级）", "none 0, provincial 1, national 2", "级", group="awards"),
    _f("sci_award_age", "科技奖励距今年数", "assessment year − award year", "年", group="awards"),
    _f("maker_china_age", "创客中国获奖距今年数", "assessment year − 创客中国 year", "年", group="awards"),
    _f("standard_led_age", "主导制定标准距今年数", "assessment year − year the firm last led a standard", "年", group="awards"),
    _f("niche_years", "从事细分市场年限", "years in the niche market, end of Y−1 (SP-M1, LG-1)", "年", directions=UP, group="niche"),
    _f("niche_domain_rank", "主导产品领域（等级）", "none 0, foundation 1, breakthrough 2 (SP-4)", "级", directions={"specialized": 1}, group="niche"),
    _f("market_share_domestic", "国内细分市场占有率", "domestic niche market share (LG-7)", "比例", directions={"little_giant": 1}, group="niche"),
    _f("domestic_rank", "国内细分市场排名", "self-declared domestic niche rank (1 = first; LG6-X5)", "名", directions={"little_giant": -1}, group="niche"),
    _f("global_rank", "全球市场占有率排名", "global market-share rank of the product (CH-3)", "名", group="niche"),
    _f("years_in_field", "从事特定细分产品领域年限", "years in the product field (CH-1)", "年", group="niche"),
    _f("platform_score_best", "近两年优质中小企业评价最高得分", "max of the platform scores of Y and Y−1 (SP6-P8, LG6-X7 review)", "分", directions={"specialized": 1, "little_giant": 1}, group="platform"),
    _f("local_feature_points", "地方特色化指标得分", "provincial 特色化 points 0–15 (SP-9)", "分", directions={"specialized": 1}, group="platform"),
    # statistics
    _f("in_four_above", "上年在四上名录", "on the 四上 roster of Y−1", kind="bool", group="statistics"),
    _f("in_four_above_y2", "前年在四上名录", "on the 四上 roster of Y−2", kind="bool", needs_history=True, group="statistics"),
    _f("four_above_ratio", "四上指标达线比例", "the firm's 四上 metric (main revenue or revenue, Y−1) / its group's line; e.g. industry: main revenue / 2000", "比例", directions=SIZE_UP, group="statistics"),
    _f("gap_four_above", "距四上入库标准", "the 四上 metric of Y−1 minus its line (万元; positive = above the line)", "万元", directions=SIZE_UP, group="statistics"),
    # titles
    *[
        _f(f"held_{t}", f"持有有效{_TIER_ZH[t]}称号", f"holds a valid {t} title on the date", kind="bool",
           directions={_PREREQ_OF[t]: 1} if t in _PREREQ_OF else {}, group="titles")
        for t in _TIERS
    ],
    *[
        _f(f"years_since_{t}_grant", f"{_TIER_ZH[t]}获认定年数", f"years from the grant of the held {t} title to the date (null if none held)", "年", group="titles")
        for t in _TIERS
    ],
    *[
        _f(f"years_to_{t}_expiry", f"{_TIER_ZH[t]}距到期年数", f"years from the date to the expiry of the held {t} title", "年", group="titles")
        for t in _TIERS
    ],
    _f("titles_held", "持有称号数", "number of ladder titles held on the date", "个", group="titles"),
    _f("highest_title", "最高梯度称号（等级）", "none 0, tech_sme 1, innovative 2, specialized 3, little_giant 4, champion 5", "级", group="titles"),
    _f("ladder_years", "进入梯度培育年数", "years since the firm's first grant of any ladder title", "年", group="titles"),
    # compliance
    _f("abnormal_operation", "列入经营异常名录", "listed on the date (EL-3)", kind="bool", directions=DOWN, group="events"),
    _f("serious_dishonesty", "列入严重失信主体名单", "listed on the date (EL-3)", kind="bool", directions=DOWN, group="events"),
    _f("incident_3y", "近三年重大事故/偷漏税/数据造假", "an incident in the 3 years to the date (EL-4)", kind="bool", directions=DOWN, group="events"),
    _f("title_revoked_3y", "近三年被撤销称号", "a ladder title revoked in the 3 years to the date", kind="bool", directions=DOWN, group="events"),
    # firm
    _f("age_years", "企业成立年数", "years from establishment to the date", "年", group="firm"),
    _f("registered_capital", "注册资本", "registered capital", "万元", group="firm"),
    _f("district_code", "所属区", "index of the GB/T 2260 district code in sorted order of Wuhan's 13 districts", kind="categorical", group="firm"),
    _f("zone_code", "功能区", "none 0, donghu_hitech 1, wedz 2, donghu_scenic 3 (null if unknown)", kind="categorical", group="firm"),
    _f("industry_section_code", "行业门类", "GB/T 4754 section letter A..T as 0..19", kind="categorical", group="firm"),
    _f("sei_industry", "属战略性新兴产业行业", "industry code in the SEI 2018 mapping (IN-5)", kind="bool", directions={"innovative": 1}, group="firm"),
    _f("manufacturing", "制造业", "GB/T 4754 section C", kind="bool", group="firm"),
    # distances to the rule lines (see THRESHOLDS)
    *[
        _f(t.feature, t.label,
           (f"{t.value} − {t.line:g}" if t.op == ">=" else f"{t.line:g} − {t.value}")
           + f"; positive = line met ({', '.join(t.criteria)})", group="gaps")
        for t in THRESHOLDS
    ],
]  # fmt: skip


def _gap_directions() -> None:
    """A gap is monotone in its value: it inherits the value feature's directions (sign-flipped
    for upper limits, where the gap falls as the value rises)."""
    by_name = {f.name: f for f in _FEATURES}
    for i, f in enumerate(_FEATURES):
        t = next((t for t in THRESHOLDS if t.feature == f.name), None)
        if t is None:
            continue
        value = by_name[t.value]
        sign = 1 if t.op == ">=" else -1
        dirs = {k: v * sign for k, v in value.directions.items()}
        _FEATURES[i] = Feature(
            f.name, f.label, f.meaning, value.unit, f.kind, dirs, value.needs_history, f.group
        )


_gap_directions()

#: Every model feature by name, in a stable order.
CATALOG: dict[str, Feature] = {f.name: f for f in _FEATURES}


def feature_names(*, history: bool = True) -> list[str]:
    """Feature names in catalogue order; ``history=False`` drops the ``needs_history`` ones."""
    return [f.name for f in _FEATURES if history or not f.needs_history]


def catalog_frame() -> pl.DataFrame:
    """The catalogue as a table (for exports, docs and the API): one row per feature.

    >>> catalog_frame().filter(pl.col("name") == "debt_ratio_y1")["dir_specialized"].item()
    -1
    """
    return pl.DataFrame(
        [
            {
                "name": f.name,
                "label": f.label,
                "meaning": f.meaning,
                "unit": f.unit,
                "kind": f.kind,
                "group": f.group,
                "needs_history": f.needs_history,
                **{f"dir_{t}": f.directions.get(t, 0) for t in TARGETS},
            }
            for f in _FEATURES
        ]
    )
