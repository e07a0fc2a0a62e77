"""Response models: the whitelist of what each role sees.

Why families: the same firm is shown in two views. ``…Public`` models (role ``station``) carry
statuses, tiers, points, probabilities and gaps in *relative* terms only (percentage points,
counts, years): never a money amount, a raw ratio of tax figures or a head count. ``…Confidential``
models (roles ``bureau`` and ``district``) add the key figures, criterion values and thresholds
and the plain-Chinese gap texts (which quote 万元 amounts). A field not declared here cannot
reach a client: FastAPI serialises through these models, so adding a column to the store never
leaks it by accident. ``view`` tells the client which shape it got.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CriterionConfidential",
    "CriterionPublic",
    "FirmConfidential",
    "FirmDetail",
    "FirmPage",
    "FirmPublic",
    "FirmSummary",
    "Flags",
    "GapConfidential",
    "GapPublic",
    "Health",
    "KeyFigures",
    "PackInfo",
    "Readiness",
    "ReasonConfidential",
    "ReasonPublic",
    "RunInfo",
    "RunRef",
    "TierVerdict",
]

Role = Literal["bureau", "district", "station"]
Tier = Literal["tech_sme", "innovative", "specialized", "little_giant", "champion"]
Status = Literal["met", "unmet", "unknown", "manual_review"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class RunRef(_Out):
    """结果所属批次。"""

    run_id: str = Field(description="批次编号")
    as_of: dt.date = Field(description="评估基准日")


class Flags(_Out):
    """规则与模型给出的提示标志（null 表示无法判断）。"""

    upsize_candidate: bool | None = Field(None, description="小进规候选（规则）")
    hidden_four_above: bool | None = Field(None, description="隐形规上：已达线但未入库")
    delist_risk: bool | None = Field(None, description="退规风险（规则）")
    review_risk: bool | None = Field(None, description="复核风险：称号将到期且当前未达标")
    revocation: bool | None = Field(None, description="存在可致撤销称号的事件")
    learned: dict[str, bool | None] = Field(
        default_factory=dict, description="模型给出的标志（如 upsize、delist）"
    )


class TierVerdict(_Out):
    """某一规则包（梯度层级）的判定结果与得分。"""

    pack: str = Field(description="规则包编号，如 specialized-2022")
    tier: str | None = Field(None, description="层级代码")
    verdict: str | None = Field(
        None, description="判定：met 达标 / unmet 未达标 / undetermined 待定"
    )
    score: float | None = Field(None, description="得分（按已知指标）")
    score_min: float | None = Field(None, description="未知指标取最差时的得分")
    score_max: float | None = Field(None, description="未知指标取最好时的得分")
    pass_mark: float | None = Field(None, description="及格分")


class CriterionPublic(_Out):
    """单项指标：状态、得分与相对差距（不含金额）。"""

    pack: str = Field(description="规则包编号")
    criterion_id: str = Field(description="指标编号，如 SP-M2")
    label: str | None = Field(None, description="指标名称")
    status: str = Field(
        description="met 达标 / unmet 未达标 / unknown 缺数据 / manual_review 需人工核实"
    )
    points: float | None = Field(None, description="得分")
    max_points: float | None = Field(None, description="满分")
    gap_relative: float | None = Field(
        None, description="相对差距：比例类为百分点，计数类为项/年/名；金额类不提供"
    )
    gap_unit: str | None = Field(None, description="相对差距单位，如 个百分点、项、年")


class CriterionConfidential(CriterionPublic):
    """单项指标（含涉税数值，仅局、区角色可见）。"""

    value: float | str | bool | None = Field(None, description="企业实际值（指标自身单位）")
    threshold: float | str | bool | None = Field(None, description="门槛值")
    gap: float | None = Field(None, description="差距（指标自身单位，如万元）")
    unit: str | None = Field(None, description="指标单位")
    gap_text: str | None = Field(None, description="差距说明（中文，可能含金额）")


class GapPublic(_Out):
    """距下一层级的差距（相对值）。"""

    criterion_id: str = Field(description="指标编号")
    label: str | None = Field(None, description="指标名称")
    status: str = Field(description="指标状态")
    gap_relative: float | None = Field(None, description="相对差距（百分点或计数）；金额类不提供")
    gap_unit: str | None = Field(None, description="相对差距单位")


class GapConfidential(GapPublic):
    """距下一层级的差距（含中文说明，可能含金额）。"""

    text: str | None = Field(None, description="差距说明，如“研发费用占比差 0.4 个百分点”")


class ReasonPublic(_Out):
    """模型给出的主要原因（不含数值）。"""

    target: str | None = Field(None, description="预测目标")
    feature: str | None = Field(None, description="特征")
    label: str | None = Field(None, description="特征中文名")
    direction: str | None = Field(None, description="影响方向：up 提高 / down 降低")


class ReasonConfidential(ReasonPublic):
    """模型给出的主要原因（含数值）。"""

    value: float | str | bool | None = Field(None, description="特征取值")
    contribution: float | None = Field(None, description="贡献度")
    text: str | None = Field(None, description="原因说明")


class KeyFigures(_Out):
    """关键财务数据（涉税信息，万元），仅局、区角色可见。"""

    revenue_y1: float | None = Field(None, description="上年营业收入（万元）")
    main_revenue_y1: float | None = Field(None, description="上年主营业务收入（万元）")
    rd_expense_y1: float | None = Field(None, description="上年研发费用（万元）")
    total_assets_y1: float | None = Field(None, description="上年末资产总额（万元）")
    employees_y1: int | None = Field(None, description="上年从业人员（人）")
    rd_ratio_y1: float | None = Field(None, description="上年研发费用占营业收入比例")


class FirmSummary(_Out):
    """企业检索结果（一行）。"""

    uscc: str = Field(description="统一社会信用代码")
    name: str | None = Field(None, description="企业名称")
    district: str | None = Field(None, description="所属区代码（GB/T 2260）")
    district_name: str | None = Field(None, description="所属区名称")
    industry: str | None = Field(None, description="行业代码（GB/T 4754-2017小类）")
    industry_name: str | None = Field(None, description="行业名称")
    held_tier: str | None = Field(None, description="已持有的最高有效称号")
    eligible_tier: str | None = Field(None, description="按规则可达的最高层级")
    next_tier: str | None = Field(None, description="下一目标层级")
    p_next_tier: float | None = Field(None, description="进入下一层级的概率（模型）")


class _FirmBase(FirmSummary):
    section: str | None = Field(None, description="行业门类")
    size_class: str | None = Field(None, description="企业划型：large/medium/small/micro 等")
    four_above_group: str | None = Field(None, description="四上类别")
    in_four_above: bool | None = Field(None, description="在四上名录内")
    meets_four_above: bool | None = Field(None, description="已达四上标准")
    flags: Flags = Field(default_factory=Flags, description="提示标志")
    probabilities: dict[str, float | None] = Field(
        default_factory=dict, description="各目标概率，如 p_specialized"
    )
    verdicts: list[TierVerdict] = Field(default_factory=list, description="各规则包判定")
    run: RunRef | None = Field(None, description="结果所属批次；试算时为空")


class FirmPublic(_FirmBase):
    """企业画像（服务站视图：不含金额等涉税数据）。"""

    view: Literal["public"] = Field("public", description="视图：public 不含涉税数据")
    criteria: list[CriterionPublic] = Field(default_factory=list, description="各项指标")
    gaps: list[GapPublic] = Field(default_factory=list, description="距下一层级的差距")
    reasons: list[ReasonPublic] = Field(default_factory=list, description="模型主要原因")


class FirmConfidential(_FirmBase):
    """企业画像（局、区视图：含涉税数据，访问记入审计日志）。"""

    view: Literal["confidential"] = Field(
        "confidential", description="视图：confidential 含涉税数据"
    )
    figures: KeyFigures = Field(default_factory=KeyFigures, description="关键财务数据")
    criteria: list[CriterionConfidential] = Field(default_factory=list, description="各项指标")
    gaps: list[GapConfidential] = Field(default_factory=list, description="距下一层级的差距")
    gaps_text: str | None = Field(None, description="差距汇总说明（中文）")
    reasons: list[ReasonConfidential] = Field(default_factory=list, description="模型主要原因")


FirmDetail = Annotated[FirmConfidential | FirmPublic, Field(discriminator="view")]


class FirmPage(_Out):
    """分页检索结果。"""

    total: int = Field(description="符合条件的企业总数")
    page: int = Field(description="页码（从1开始）")
    size: int = Field(description="每页条数")
    items: list[FirmSummary] = Field(description="本页企业")
    run: RunRef | None = Field(None, description="结果所属批次")


class RunInfo(_Out):
    """一次已发布的批量评估。"""

    run_id: str = Field(description="批次编号")
    seq: int | None = Field(None, description="发布序号")
    as_of: dt.date = Field(description="评估基准日")
    created_at: dt.datetime | None = Field(None, description="生成时间")
    published_at: dt.datetime | None = Field(None, description="发布时间")
    n_firms_in: int | None = Field(None, description="输入企业数")
    n_quarantined: int | None = Field(None, description="隔离（数据不合规）企业数")
    n_scored: int | None = Field(None, description="完成评估企业数")
    models_used: bool | None = Field(None, description="是否使用了模型")
    packs: list[str] = Field(default_factory=list, description="使用的规则包")
    manifest: dict[str, Any] | None = Field(None, description="运行清单（仅最新批次接口返回）")


class PackInfo(_Out):
    """规则包。"""

    pack: str = Field(description="规则包编号")
    tier: str | None = Field(None, description="层级或主题")
    title: str | None = Field(None, description="名称")
    source: str | None = Field(None, description="政策依据")
    in_force_new: bool | None = Field(None, description="基准日对新申报是否适用")
    in_force_review: bool | None = Field(None, description="基准日对复核是否适用")
    n_criteria: int | None = Field(None, description="指标数")


class Health(_Out):
    """存活检查。"""

    status: Literal["ok"] = "ok"


class Readiness(_Out):
    """就绪检查：已发布批次、存储与模型是否就绪。"""

    ready: bool = Field(description="可对外服务")
    store: bool = Field(description="存储可连接")
    run: RunRef | None = Field(None, description="当前服务的批次")
    rules: bool = Field(description="规则包已加载（试算可用）")
    models: bool = Field(description="模型已加载（否则仅规则）")
    detail: dict[str, str] = Field(default_factory=dict, description="未就绪原因")
