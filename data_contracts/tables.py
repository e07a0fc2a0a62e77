"""The seven input tables of DESIGN.md: columns, dtypes, units, Chinese labels, meanings.

Why one module: the simulator writes these tables, the contracts validate them, ``features/``
reads them and the column documentation staff see is rendered from here. Nothing else lists the
columns again.

Conventions: money in 万元 (float), ratios as fractions, years as int, codes as strings, dates as
``pl.Date``. ``year`` rows describe the firm's state at the end of that calendar year (flows over
the year, stocks at 12-31). Null means unknown, never zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

__all__ = ["EVENT_KINDS", "TABLES", "TColumn", "TableSpec", "table_schema"]


@dataclass(frozen=True, slots=True)
class TColumn:
    """A column of an input table."""

    name: str
    dtype: pl.DataType
    label: str
    meaning: str
    unit: str = ""
    required: bool = True  # must be present in the file (values may still be null unless key)


@dataclass(frozen=True, slots=True)
class TableSpec:
    """An input table: its grain (primary key) and columns."""

    name: str
    label: str
    key: tuple[str, ...]
    columns: tuple[TColumn, ...] = field(default_factory=tuple)

    def schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.dtype for c in self.columns}


S, F, I, B, D = pl.String(), pl.Float64(), pl.Int64(), pl.Boolean(), pl.Date()
W = "万元"

# Event kinds (events.kind). The first two are listings with a start and (possibly) an end date;
# the rest are dated incidents that count for 3 years (EL-4, §9 revocation).
EVENT_KINDS: dict[str, str] = {
    "abnormal_operation": "列入经营异常名录",
    "serious_dishonesty": "列入严重失信主体名单",
    "safety_accident": "重大安全（含网络和数据安全）事故",
    "quality_accident": "重大质量事故",
    "environmental_accident": "重大环境污染事故",
    "tax_evasion": "偷漏税",
    "data_fraud": "数据造假",
    "sci_dishonesty": "科研严重失信",
}

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec(
            "firms",
            "企业基本信息（工商登记）",
            ("uscc",),
            (
                TColumn("uscc", S, "统一社会信用代码", "18-character USCC (GB 32100), key"),
                TColumn("name", S, "企业名称", "registered name"),
                TColumn("established", D, "成立日期", "date of establishment"),
                TColumn(
                    "closed",
                    D,
                    "注销/吊销/迁出日期",
                    "date the firm left the active register; null while active",
                    required=False,
                ),
                TColumn(
                    "status", S, "登记状态", "current status: active, revoked, cancelled, moved_out"
                ),
                TColumn(
                    "district", S, "所属区", "GB/T 2260 county-level code (Wuhan: 420102–420117)"
                ),
                TColumn("street", S, "所属街道", "9-digit NBS township code", required=False),
                TColumn(
                    "zone",
                    S,
                    "功能区",
                    "functional zone derived from the street: donghu_hitech, wedz, donghu_scenic",
                    required=False,
                ),
                TColumn(
                    "industry", S, "行业代码", "GB/T 4754-2017 4-digit 小类 of the main activity"
                ),
                TColumn("registered_capital", F, "注册资本", "registered capital", W),
                TColumn(
                    "resident",
                    B,
                    "居民企业",
                    "resident enterprise (not HK/MO/TW funded branch)",
                    required=False,
                ),
            ),
        ),
        TableSpec(
            "financials",
            "年度财务数据（税务）",
            ("uscc", "year"),
            (
                TColumn("uscc", S, "统一社会信用代码", "firm key"),
                TColumn("year", I, "年度", "fiscal year"),
                TColumn("revenue", F, "营业收入", "operating revenue for the year", W),
                TColumn("main_revenue", F, "主营业务收入", "revenue from the main business", W),
                TColumn("total_costs", F, "成本费用总额", "total costs and expenses", W),
                TColumn("net_profit", F, "净利润", "net profit (may be negative)", W),
                TColumn("total_assets", F, "资产总额", "total assets at year end", W),
                TColumn("total_liabilities", F, "负债总额", "total liabilities at year end", W),
                TColumn("employees", I, "从业人员", "average employees in the year", "人"),
                TColumn("rd_expense", F, "研发费用", "R&D expense for the year", W),
                TColumn("rd_staff", I, "研发人员", "R&D staff in the year", "人"),
                TColumn(
                    "equity_financing",
                    F,
                    "股权融资",
                    "new equity paid in by qualified institutional investors in the year",
                    W,
                ),
                TColumn("export_revenue", F, "出口收入", "export revenue", W, required=False),
            ),
        ),
        TableSpec(
            "ip",
            "知识产权",
            ("uscc", "year"),
            (
                TColumn("uscc", S, "统一社会信用代码", "firm key"),
                TColumn("year", I, "年度", "state at 12-31 of the year"),
                TColumn(
                    "class1_ip",
                    I,
                    "Ⅰ类知识产权",
                    "valid Ⅰ类 IP tied to the main product (63号 附件4)",
                    "项",
                ),
                TColumn(
                    "class1_self_developed",
                    I,
                    "自主研发Ⅰ类知识产权",
                    "of which self-developed (not transferred in)",
                    "项",
                ),
                TColumn("class1_high_value", I, "Ⅰ类高价值知识产权", "of which high-value", "项"),
                TColumn(
                    "class2_ip",
                    I,
                    "Ⅱ类知识产权",
                    "utility models, designs, software copyrights tied to the main product",
                    "项",
                ),
                TColumn(
                    "invention_patents",
                    I,
                    "发明专利",
                    "valid invention patents (all products)",
                    "项",
                    required=False,
                ),
            ),
        ),
        TableSpec(
            "credentials",
            "资质、奖项与市场地位",
            ("uscc", "year"),
            (
                TColumn("uscc", S, "统一社会信用代码", "firm key"),
                TColumn("year", I, "年度", "state at 12-31 of the year"),
                TColumn("high_tech", B, "高新技术企业", "holds a valid 高新技术企业 certificate"),
                TColumn(
                    "honor_ip_demo",
                    B,
                    "创新示范/知识产权优势企业",
                    "国家级技术创新示范企业 / 知识产权优势或示范企业",
                    required=False,
                ),
                TColumn(
                    "rd_institution_level",
                    S,
                    "研发机构级别",
                    "none, below_city, city, provincial, national",
                ),
                TColumn("digital_level", I, "数字化水平", "digital maturity level 0–4"),
                TColumn("iso9001", B, "质量管理体系认证", "ISO 9001 or another QMS certificate"),
                TColumn("quality_award_level", S, "质量奖", "none, city, provincial, national"),
                TColumn("own_brand", B, "自主品牌", "owns a competitive brand"),
                TColumn(
                    "standards_count",
                    I,
                    "参与标准数",
                    "standards drafted with participation (cumulative)",
                    "项",
                ),
                TColumn(
                    "standard_led_year",
                    I,
                    "主导标准年份",
                    "latest year the firm led an international/national/industry standard",
                    "年",
                    required=False,
                ),
                TColumn(
                    "sci_award_level",
                    S,
                    "科技奖级别",
                    "latest S&T award: none, provincial, national",
                ),
                TColumn(
                    "sci_award_rank",
                    I,
                    "科技奖排名",
                    "firm's rank among the award's units",
                    "名",
                    required=False,
                ),
                TColumn(
                    "sci_award_year", I, "科技奖年份", "year of that award", "年", required=False
                ),
                TColumn(
                    "maker_china_rank",
                    I,
                    "创客中国名次",
                    "best national 创客中国 enterprise-group rank",
                    "名",
                    required=False,
                ),
                TColumn(
                    "maker_china_year", I, "创客中国年份", "year of that rank", "年", required=False
                ),
                TColumn(
                    "niche_years", F, "细分市场年限", "years in the niche market at year end", "年"
                ),
                TColumn(
                    "niche_domain",
                    S,
                    "主导产品领域",
                    "breakthrough (补短板/锻长板/填空白), foundation (六基/老字号/链主配套), none",
                    required=False,
                ),
                TColumn(
                    "sei_product",
                    B,
                    "战略性新兴产业产品",
                    "main product is in the SEI catalogue (settles partial codes)",
                    required=False,
                ),
                TColumn(
                    "market_share_domestic",
                    F,
                    "国内市场占有率",
                    "domestic niche market share",
                    "比例",
                    required=False,
                ),
                TColumn(
                    "market_share_global",
                    F,
                    "全球市场占有率",
                    "global niche market share",
                    "比例",
                    required=False,
                ),
                TColumn(
                    "domestic_rank",
                    I,
                    "国内排名",
                    "self-declared domestic niche rank",
                    "名",
                    required=False,
                ),
                TColumn(
                    "global_rank",
                    I,
                    "全球排名",
                    "global market-share rank of the product",
                    "名",
                    required=False,
                ),
                TColumn(
                    "market_position_ok",
                    B,
                    "细分市场相对领先",
                    "product relatively leading in its niche (reviewed)",
                    required=False,
                ),
                TColumn(
                    "key_chain_link",
                    B,
                    "产业链关键环节",
                    "at a key link of an industrial chain",
                    required=False,
                ),
                TColumn(
                    "lg_domain_2022",
                    B,
                    "小巨人领域（2022）",
                    "六基 / 制造强国十大重点 / 网络强国 areas",
                    required=False,
                ),
                TColumn(
                    "lg_domain_2026",
                    B,
                    "小巨人领域（2026）",
                    "六基 / traditional upgrading / emerging / future industries at a key link",
                    required=False,
                ),
                TColumn(
                    "years_in_field",
                    F,
                    "从事领域年限",
                    "years in the specific product field (单项冠军)",
                    "年",
                    required=False,
                ),
                TColumn(
                    "new_product",
                    B,
                    "新产品",
                    "the champion product is a new product",
                    required=False,
                ),
                TColumn(
                    "platform_score",
                    F,
                    "平台评价得分",
                    "MIIT 优质中小企业 platform development score for the year (null if none)",
                    "分",
                    required=False,
                ),
                TColumn(
                    "platform_score_date",
                    D,
                    "评价得分发布日期",
                    "date the platform published that score",
                    required=False,
                ),
                TColumn(
                    "local_feature_points",
                    F,
                    "特色化指标得分",
                    "provincial 特色化 points 0–15",
                    "分",
                    required=False,
                ),
                TColumn(
                    "construction_qualified",
                    B,
                    "建筑业资质",
                    "holds a construction qualification",
                    required=False,
                ),
                TColumn(
                    "real_estate_active",
                    B,
                    "房地产开发活动",
                    "has real-estate development activity in the year",
                    required=False,
                ),
            ),
        ),
        TableSpec(
            "recognitions",
            "梯度培育认定记录",
            ("uscc", "tier", "granted"),
            (
                TColumn("uscc", S, "统一社会信用代码", "firm key"),
                TColumn(
                    "tier", S, "称号", "tech_sme, innovative, specialized, little_giant, champion"
                ),
                TColumn("level", S, "级别", "city, provincial, national"),
                TColumn(
                    "granted", D, "认定日期", "date the title was granted (or renewed at review)"
                ),
                TColumn("expires", D, "有效期至", "last day of validity"),
                TColumn(
                    "revoked",
                    D,
                    "撤销日期",
                    "date the title was cancelled; null if never",
                    required=False,
                ),
                TColumn("rule_version", S, "认定标准", "rule pack id the grant was assessed under"),
                TColumn("application", S, "申报类型", "new or review", required=False),
            ),
        ),
        TableSpec(
            "stats_roster",
            "四上企业名录",
            ("uscc", "year"),
            (
                TColumn("uscc", S, "统一社会信用代码", "firm key"),
                TColumn("year", I, "年度", "reporting year of the roster"),
                TColumn(
                    "four_above_kind",
                    S,
                    "四上类别",
                    "工业, 批发, 零售, 住宿, 餐饮, 服务业, 建筑业, 房地产",
                ),
                TColumn("in_roster", B, "在库", "on the 四上 roster for that reporting year"),
            ),
        ),
        TableSpec(
            "events",
            "信用与事故事件",
            ("event_id",),
            (
                TColumn("event_id", S, "事件编号", "unique id"),
                TColumn("uscc", S, "统一社会信用代码", "firm key"),
                TColumn("kind", S, "事件类型", "one of EVENT_KINDS"),
                TColumn("date", D, "发生/列入日期", "date of the incident or of the listing"),
                TColumn(
                    "end_date",
                    D,
                    "移出日期",
                    "for listings: date removed; null while listed",
                    required=False,
                ),
            ),
        ),
    )
}


def table_schema(name: str) -> dict[str, pl.DataType]:
    """``{column: dtype}`` of an input table."""
    return TABLES[name].schema()
