"""The assessment frame (spec §11): the one row per firm "as of" a date that the rules read.

Why a module of its own: the column names and types are the contract between ``features/``
(which builds the frame), ``tiering/`` (which reads it), the simulator, the data contracts and the
API's what-if body. Each column carries its dtype, unit and Chinese label; nothing else in the
code base lists them again.

Null means unknown. Money in 万元, ratios as fractions, ``_y1`` = year Y−1, ``_y2`` = Y−2, ``_y3`` = Y−3.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

__all__ = ["FRAME_COLUMNS", "TIERS", "Column", "frame_schema"]

TIERS = ("tech_sme", "innovative", "specialized", "little_giant", "champion")


@dataclass(frozen=True, slots=True)
class Column:
    """One assessment-frame column: name, polars dtype, unit and Chinese label."""

    name: str
    dtype: pl.DataType
    label: str
    unit: str = ""
    group: str = ""


def _cols(group: str, *specs: tuple) -> list[Column]:
    return [Column(n, t, lab, u, group) for n, t, lab, u in specs]


S, F, I, B, D = pl.String(), pl.Float64(), pl.Int64(), pl.Boolean(), pl.Date()
W = "万元"

FRAME_COLUMNS: tuple[Column, ...] = tuple(
    _cols(
        "identity",
        ("uscc", S, "统一社会信用代码", ""),
        ("name", S, "企业名称", ""),
        ("district", S, "所属区（GB/T 2260）", ""),
        ("industry", S, "行业代码（GB/T 4754-2017小类）", ""),
        ("status", S, "登记状态", "active/revoked/cancelled/moved_out"),
        ("resident", B, "居民企业（非港澳台）", ""),
    )
    + _cols(
        "size",
        ("employees_y1", I, "上年从业人员", "人"),
        ("total_assets_y1", F, "上年末资产总额", W),
    )
    + _cols(
        "revenue",
        ("revenue_y1", F, "上年营业收入", W),
        ("revenue_y2", F, "前年营业收入", W),
        ("revenue_y3", F, "大前年营业收入", W),
        ("main_revenue_y1", F, "上年主营业务收入", W),
        ("main_revenue_y2", F, "前年主营业务收入", W),
        ("main_revenue_y3", F, "大前年主营业务收入", W),
        ("total_costs_y1", F, "上年成本费用总额", W),
    )
    + _cols(
        "results",
        ("net_profit_y1", F, "上年净利润", W),
        ("total_liabilities_y1", F, "上年末负债总额", W),
    )
    + _cols(
        "rd",
        ("rd_expense_y1", F, "上年研发费用", W),
        ("rd_expense_y2", F, "前年研发费用", W),
        ("rd_staff_y1", I, "上年研发人员", "人"),
    )
    + _cols(
        "funding",
        ("equity_financing_y1", F, "上年合格机构投资者实缴股权融资", W),
        ("equity_financing_y2", F, "前年合格机构投资者实缴股权融资", W),
        ("equity_financing_y3", F, "大前年合格机构投资者实缴股权融资", W),
    )
    + _cols(
        "ip",
        ("class1_ip", I, "主导产品Ⅰ类知识产权", "项"),
        ("class1_self_developed", I, "自主研发Ⅰ类知识产权", "项"),
        ("class1_high_value", I, "Ⅰ类高价值知识产权", "项"),
        ("class2_ip", I, "主导产品Ⅱ类知识产权", "项"),
    )
    + _cols(
        "credentials",
        ("high_tech", B, "有效高新技术企业证书", ""),
        ("honor_ip_demo", B, "国家级技术创新示范/知识产权优势/示范企业", ""),
        ("rd_institution_level", S, "研发机构级别", "none/below_city/city/provincial/national"),
        ("digital_level", I, "数字化水平等级", "0–4"),
        ("quality_award_level", S, "质量奖级别", "none/city/provincial/national"),
        ("iso9001", B, "质量管理体系认证", ""),
        ("own_brand", B, "自主品牌", ""),
        ("standards_participation", B, "参与标准制修订", ""),
        ("standard_led_year", I, "主导制定标准年份", "年"),
    )
    + _cols(
        "awards",
        ("sci_award_level", S, "科技奖励级别", "none/provincial/national"),
        ("sci_award_rank", I, "科技奖励排名", "名"),
        ("sci_award_year", I, "科技奖励年份", "年"),
        ("maker_china_rank", I, "创客中国名次", "名"),
        ("maker_china_year", I, "创客中国年份", "年"),
    )
    + _cols(
        "niche",
        ("niche_years", F, "从事细分市场年限", "年"),
        ("niche_domain", S, "主导产品所属领域", "breakthrough/foundation/none"),
        ("sei_product", B, "主导产品属战略性新兴产业", ""),
        ("market_share_domestic", F, "国内细分市场占有率", "比例"),
        ("market_share_global", F, "全球细分市场占有率", "比例"),
        ("domestic_rank", I, "国内细分市场排名", "名"),
        ("global_rank", I, "全球市场占有率排名", "名"),
        ("market_position_ok", B, "主导产品细分市场相对领先", ""),
        ("key_chain_link", B, "处于产业链关键环节", ""),
        ("lg_domain_2022", B, "主导产品属小巨人重点领域（2022）", ""),
        ("lg_domain_2026", B, "主导产品属小巨人重点领域（2026）", ""),
        ("years_in_field", F, "从事特定细分产品领域年限", "年"),
        ("new_product", B, "新产品", ""),
    )
    + _cols(
        "platform",
        ("platform_score_y0", F, "本年优质中小企业发展评价得分", "分"),
        ("platform_score_y1", F, "上年优质中小企业发展评价得分", "分"),
        ("local_feature_points", F, "地方特色化指标得分", "分"),
    )
    + _cols(
        "statistics",
        ("in_four_above", B, "上年在四上名录", ""),
        ("construction_qualified", B, "具有建筑业资质", ""),
        ("real_estate_active", B, "有房地产开发经营活动", ""),
    )
    + [
        c
        for t, zh in (
            ("tech_sme", "科技型中小企业"),
            ("innovative", "创新型中小企业"),
            ("specialized", "专精特新中小企业"),
            ("little_giant", "专精特新“小巨人”"),
            ("champion", "制造业单项冠军"),
        )
        for c in _cols(
            "titles",
            (f"held_{t}", B, f"持有有效{zh}称号", ""),
            (f"{t}_expires", D, f"{zh}称号到期日", ""),
        )
    ]
    + _cols(
        "events",
        ("abnormal_operation", B, "列入经营异常名录", ""),
        ("serious_dishonesty", B, "列入严重失信主体名单", ""),
        ("incident_3y", B, "近三年重大事故/偷漏税/数据造假", ""),
        ("fraud_3y", B, "近三年数据造假", ""),
    )
)


def frame_schema() -> dict[str, pl.DataType]:
    """``{column: dtype}`` of the full assessment frame, in contract order."""
    return {c.name: c.dtype for c in FRAME_COLUMNS}
