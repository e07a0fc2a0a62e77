"""Strict, frozen models of a rule pack (the YAML files under ``tiering/packs/``).

Why strict: a rule pack is what bureau staff trust; a typo in a key, a band out of order or a
reference to a column that does not exist must stop the load with a message naming the file, the
criterion and the field — never silently change a verdict. Every model forbids unknown keys and is
frozen so a compiled pack cannot drift at run time.

A criterion is one of a small vocabulary of *kinds*, so the YAML stays declarative:

- ``test`` — a condition tree (``cmp`` compare, ``flag`` boolean column, ``isin`` code set,
  ``all``/``any``/``not``) evaluated with three-valued logic → met / unmet / unknown;
- ``bands`` — ordered edges → points; several ``bases`` score "the better of";
- ``cases`` — ordered conditions → points (first true wins, points must descend);
- ``categories`` — a code column → points;
- ``count`` — points per true item, capped;
- ``points_from`` — points read from a column (e.g. provincial 特色化 points), clipped;
- ``manual`` — a fact the data cannot prove: ``manual_review`` unless a flag column settles it.

Formulas (``value``, ``threshold``, ``derived``) are small arithmetic expressions over frame
columns, pack parameters and derived names; :mod:`tiering.compile` parses and checks them at load.

All Chinese labels of statuses, verdicts, tiers and size classes live here (one place):

>>> STATUS_LABELS["manual_review"]
'需人工核实'
>>> TIER_LABELS["little_giant"]
'专精特新“小巨人”企业'
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

__all__ = [
    "APPLICATIONS",
    "CALENDAR_TIERS",
    "SIZE_LABELS",
    "STATUSES",
    "STATUS_LABELS",
    "TIER_LABELS",
    "TIER_ORDER",
    "UNITS",
    "VERDICTS",
    "VERDICT_LABELS",
    "Bands",
    "Calendar",
    "CalendarEntry",
    "Case",
    "Cases",
    "Categories",
    "Cmp",
    "Count",
    "Criterion",
    "Dimension",
    "FourAboveGroup",
    "FourAbovePack",
    "Manual",
    "Pack",
    "PointsFrom",
    "Scope",
    "SizePack",
    "SizeSector",
    "Test",
    "VerdictNode",
]

STATUSES = ("met", "unmet", "unknown", "manual_review")
VERDICTS = ("met", "unmet", "undetermined")
APPLICATIONS = ("new", "review")
#: Ladder order, lowest rung first (科技型/创新型 → 专精特新 → 小巨人 → 单项冠军).
TIER_ORDER = ("tech_sme", "innovative", "specialized", "little_giant", "champion")
CALENDAR_TIERS = TIER_ORDER

STATUS_LABELS = {
    "met": "符合",
    "unmet": "不符合",
    "unknown": "数据缺失",
    "manual_review": "需人工核实",
}
VERDICT_LABELS = {"met": "符合", "unmet": "不符合", "undetermined": "待定"}
TIER_LABELS = {
    "tech_sme": "科技型中小企业",
    "innovative": "创新型中小企业",
    "tech_innovative": "科技和创新型中小企业",
    "specialized": "专精特新中小企业",
    "little_giant": "专精特新“小巨人”企业",
    "champion": "制造业单项冠军企业",
}
SIZE_LABELS = {
    "large": "大型",
    "medium": "中型",
    "small": "小型",
    "micro": "微型",
    "not_applicable": "不适用（不在划型标准范围）",
    "unknown": "无法判定（数据缺失）",
}
#: Units a numeric quantity may carry; they drive the wording of gap texts.
UNITS = ("万元", "ratio", "项", "年", "人", "分", "名", "")

Unit = Literal["万元", "ratio", "项", "年", "人", "分", "名", ""]
Tier = Literal["tech_sme", "innovative", "specialized", "little_giant", "champion"]
Application = Literal["new", "review"]
Number = float | int


class Strict(BaseModel):
    """Base: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --------------------------------------------------------------------------- condition trees
class Cmp(Strict):
    """``value op threshold``; ``name``/``unit`` word the gap (e.g. 研发费用占比, ratio)."""

    value: str
    op: Literal[">=", "<=", ">", "<"]
    threshold: Number | str
    name: str
    unit: Unit = ""


class FlagTest(Strict):
    """A boolean column (or boolean formula) that must equal ``expect``."""

    flag: str
    expect: bool = True
    name: str = ""


class IsIn(Strict):
    """A code column whose value must be one of ``values`` (unknown codes count as null)."""

    isin: str
    values: tuple[str, ...] = Field(min_length=1)
    name: str = ""


class AllOf(Strict):
    all: tuple[Test, ...] = Field(min_length=1)


class AnyOf(Strict):
    any: tuple[Test, ...] = Field(min_length=1)


class NotOf(Strict):
    not_: Test = Field(alias="not")


def _test_tag(v: Any) -> str | None:
    if isinstance(v, BaseModel):
        return {Cmp: "cmp", FlagTest: "flag", IsIn: "isin", AllOf: "all", AnyOf: "any"}.get(
            type(v), "not"
        )
    if isinstance(v, dict):
        for key in ("all", "any", "not", "flag", "isin"):
            if key in v:
                return key
        return "cmp"
    return None


Test = Annotated[
    Annotated[Cmp, Tag("cmp")]
    | Annotated[FlagTest, Tag("flag")]
    | Annotated[IsIn, Tag("isin")]
    | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[NotOf, Tag("not")],
    Discriminator(_test_tag),
]
AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()


# --------------------------------------------------------------------------- scored kinds
class Base(Strict):
    """One basis of a banded indicator: a formula and its edges (best band first)."""

    value: str
    edges: tuple[Number, ...] = Field(min_length=1)
    name: str
    unit: Unit = ""


class Bands(Strict):
    """Edges → points. ``higher``: value ≥ edge (edges descending); ``lower``: value ≤ edge.

    A value exactly on an edge scores the better band (spec conventions). With several
    ``bases`` the better score counts ("R&D / revenue or R&D / costs, the better").
    """

    direction: Literal["higher", "lower"] = "higher"
    bases: tuple[Base, ...] = Field(min_length=1)
    points: tuple[Number, ...] = Field(min_length=1)
    else_points: Number = Field(0, alias="else")

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        for b in self.bases:
            if len(b.edges) != len(self.points):
                raise ValueError(
                    f"bands: {len(b.edges)} edges for “{b.name}” but {len(self.points)} points"
                )
            pairs = zip(b.edges, b.edges[1:], strict=False)
            bad = [(a, c) for a, c in pairs if (a <= c if self.direction == "higher" else a >= c)]
            if bad:
                order = "descending" if self.direction == "higher" else "ascending"
                raise ValueError(
                    f"bands out of order for “{b.name}”: edges must be strictly {order} "
                    f"(best band first), got {list(b.edges)}"
                )
        seq = (*self.points, self.else_points)
        if any(a <= c for a, c in itertools.pairwise(seq)):
            raise ValueError(f"band points must strictly descend, got {list(seq)}")
        return self


class Case(Strict):
    when: Test
    points: Number


class Cases(Strict):
    """Ordered conditions → points; the first true one wins; points strictly descend."""

    steps: tuple[Case, ...] = Field(min_length=1)
    else_points: Number = Field(0, alias="else")

    @model_validator(mode="after")
    def _descending(self) -> Cases:
        seq = (*(s.points for s in self.steps), self.else_points)
        if any(a <= c for a, c in itertools.pairwise(seq)):
            raise ValueError(f"case points must strictly descend, got {list(seq)}")
        return self


class Categories(Strict):
    """A code column → points (codes outside the mapping count as null)."""

    column: str
    points: dict[str, Number] = Field(min_length=1)
    name: str = ""


class Count(Strict):
    """``each`` points per true item, at most ``cap`` (e.g. quality management: 3 per item, ≤ 5)."""

    items: tuple[Test, ...] = Field(min_length=1)
    each: Number
    cap: Number


class PointsFrom(Strict):
    """Points read from a formula, clipped to ``[lo, hi]`` (null → unknown)."""

    value: str
    lo: Number = 0
    hi: Number


class Manual(Strict):
    """A fact the data cannot prove: ``manual_review`` unless ``flag`` (a bool column) is given."""

    flag: str | None = None
    name: str = ""


# --------------------------------------------------------------------------- criterion & pack
Role = Literal["gate", "route", "indicator", "prerequisite", "info"]
KINDS = ("test", "bands", "cases", "categories", "count", "points_from", "manual")


class Criterion(Strict):
    """One row of a spec table: id, Chinese label, source article and exactly one kind."""

    id: str = Field(pattern=r"^[A-Z0-9]+(-[A-Za-z0-9]+)+$")
    label: str = Field(min_length=1)
    source: str = ""
    role: Role
    dimension: str | None = None
    max_points: Number | None = None
    null_status: Literal["unknown", "manual_review"] = "unknown"
    application: tuple[Application, ...] = APPLICATIONS
    test: Test | None = None
    review_test: Test | None = None
    bands: Bands | None = None
    cases: Cases | None = None
    categories: Categories | None = None
    count: Count | None = None
    points_from: PointsFrom | None = None
    manual: Manual | None = None

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)

    @property
    def scored(self) -> bool:
        return self.kind in ("bands", "cases", "categories", "count", "points_from")

    @model_validator(mode="after")
    def _one_kind(self) -> Criterion:
        given = [k for k in KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"exactly one of {', '.join(KINDS)} must be given, got {given}")
        if self.scored:
            if self.max_points is None:
                raise ValueError("a scored criterion needs max_points")
            top = self.best_points()
            if abs(top - self.max_points) > 1e-9:
                raise ValueError(f"max_points {self.max_points} ≠ best reachable points {top}")
        elif self.max_points is not None:
            raise ValueError("max_points is only for scored criteria")
        if self.review_test is not None and self.test is None:
            raise ValueError("review_test needs a test")
        return self

    def best_points(self) -> float:
        """Highest points the kind can award (used for checks and score_max)."""
        if self.bands is not None:
            return float(self.bands.points[0])
        if self.cases is not None:
            return float(self.cases.steps[0].points)
        if self.categories is not None:
            return float(max(self.categories.points.values()))
        if self.count is not None:
            return float(min(self.count.cap, self.count.each * len(self.count.items)))
        if self.points_from is not None:
            return float(self.points_from.hi)
        return 0.0

    def worst_points(self) -> float:
        """Lowest points the kind can award."""
        if self.bands is not None:
            return float(self.bands.else_points)
        if self.cases is not None:
            return float(self.cases.else_points)
        if self.categories is not None:
            return float(min(self.categories.points.values()))
        if self.points_from is not None:
            return float(self.points_from.lo)
        return 0.0


class Dimension(Strict):
    name: str
    max_points: Number
    min_points: Number | None = None


class VerdictNode(Strict):
    """The pass logic as a tree over criteria, total score and dimension minimums.

    Exactly one key per node: ``all``/``any`` (sub-nodes), ``met`` (a criterion id),
    ``all_met``/``any_met`` (ids), ``score_at_least`` (total ≥ n), ``dimensions_ok`` (every
    dimension reaches its minimum), ``points_above`` ({criterion, value}: points > value).
    """

    all: tuple[VerdictNode, ...] | None = None
    any: tuple[VerdictNode, ...] | None = None
    met: str | None = None
    all_met: tuple[str, ...] | None = None
    any_met: tuple[str, ...] | None = None
    score_at_least: Number | None = None
    dimensions_ok: bool | None = None
    points_above: PointsAbove | None = None

    @model_validator(mode="after")
    def _one(self) -> VerdictNode:
        given = [k for k, v in self.__dict__.items() if v is not None]
        if len(given) != 1:
            raise ValueError(f"a verdict node needs exactly one key, got {given}")
        return self

    def criterion_ids(self) -> list[str]:
        """Every criterion id the tree refers to (for load-time reference checks)."""
        out: list[str] = []
        for sub in (self.all or ()) + (self.any or ()):
            out += sub.criterion_ids()
        out += [self.met] if self.met else []
        out += list(self.all_met or ()) + list(self.any_met or ())
        out += [self.points_above.criterion] if self.points_above else []
        return out


class PointsAbove(Strict):
    criterion: str
    value: Number


VerdictNode.model_rebuild()


class Pack(Strict):
    """A tier rule pack (or the common eligibility pack ``EL``)."""

    id: str
    kind: Literal["tier", "eligibility"] = "tier"
    tier: Tier | None = None
    label: str
    source: str
    version: str
    effective: dt.date | None = None
    notes: str = ""
    parameters: dict[str, Number | str | bool] = Field(default_factory=dict)
    derived: dict[str, str] = Field(default_factory=dict)
    eligibility: tuple[str, ...] = ()
    prerequisite: tuple[Tier, ...] = ()
    skip_if_held: tuple[Tier, ...] = ()
    pass_mark: Number | None = None
    dimensions: tuple[Dimension, ...] = ()
    verdict: VerdictNode | None = None
    criteria: tuple[Criterion, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> Pack:
        ids = [c.id for c in self.criteria]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate criterion ids {dup}")
        if self.kind == "tier":
            if self.tier is None or self.verdict is None:
                raise ValueError("a tier pack needs tier and verdict")
            missing = [i for i in self.verdict.criterion_ids() if i not in ids]
            if missing:
                raise ValueError(f"verdict refers to missing criteria {missing}")
        dims = {d.name for d in self.dimensions}
        for c in self.criteria:
            if c.scored and self.dimensions and c.dimension not in dims:
                raise ValueError(f"criterion {c.id}: dimension “{c.dimension}” is not declared")
        for d in self.dimensions:
            total = sum(c.max_points or 0 for c in self.criteria if c.dimension == d.name)
            if abs(total - d.max_points) > 1e-9:
                raise ValueError(
                    f"dimension “{d.name}”: max_points {d.max_points} ≠ sum of its criteria {total}"
                )
        return self

    def criterion(self, cid: str) -> Criterion:
        return next(c for c in self.criteria if c.id == cid)


# --------------------------------------------------------------------------- size & 四上 packs
class Scope(Strict):
    """GB/T 4754-2017 scope: 门类 letters, 大类 (2 digits), 中类 (3), 小类 (4)."""

    sections: tuple[str, ...] = ()
    divisions: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()


class SizeSector(Strict):
    """One row of the §7 table: metrics X/Y/Z and the 大型/中型/小型 lines."""

    id: str
    label: str
    scope: Scope
    metrics: tuple[Literal["employees", "revenue", "total_assets"], ...] = Field(min_length=1)
    large: tuple[Number, ...]
    medium: tuple[Number, ...]
    small: tuple[Number, ...]

    @model_validator(mode="after")
    def _lines(self) -> SizeSector:
        n = len(self.metrics)
        if not (len(self.large) == len(self.medium) == len(self.small) == n):
            raise ValueError(f"sector {self.id}: each line needs {n} values")
        for i in range(n):
            if not self.large[i] >= self.medium[i] >= self.small[i]:
                raise ValueError(f"sector {self.id}: lines out of order for {self.metrics[i]}")
        return self


class SizePack(Strict):
    id: str
    kind: Literal["size"]
    label: str
    source: str
    version: str
    notes: str = ""
    out_of_scope: Scope
    sectors: tuple[SizeSector, ...] = Field(min_length=1)


class FourAboveGroup(Strict):
    """One 四上 group: GB/T scope and the entry line (a money column ≥ line, or a flag)."""

    id: str
    label: str
    scope: Scope
    metric: Literal["main_revenue", "revenue", "flag"]
    line: Number | None = None
    flag: str | None = None

    @model_validator(mode="after")
    def _metric(self) -> FourAboveGroup:
        if (self.metric == "flag") != (self.flag is not None) or (
            (self.metric != "flag") != (self.line is not None)
        ):
            raise ValueError(f"group {self.id}: a money metric needs line, a flag metric flag")
        return self


class FourAbovePack(Strict):
    id: str
    kind: Literal["four_above"]
    label: str
    source: str
    version: str
    notes: str = ""
    parameters: dict[str, Number] = Field(default_factory=dict)
    groups: tuple[FourAboveGroup, ...] = Field(min_length=1)


# --------------------------------------------------------------------------- calendar
class CalendarEntry(Strict):
    tier: Tier
    application: Application
    start: dt.date = Field(alias="from")
    pack: str


class Calendar(Strict):
    """Date × tier × application → pack; the latest entry whose ``from`` ≤ date applies."""

    notes: str = ""
    entries: tuple[CalendarEntry, ...] = Field(min_length=1)
