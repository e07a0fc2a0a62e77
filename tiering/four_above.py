"""四上 status (spec §8): group, whether the firm meets its line, and the rule-form flags.

Why: the bureau tracks 四上 units (规模以上工业, 有资质的建筑业, 限额以上批零住餐, 房地产开发经营,
规模以上服务业). Groups are GB/T 4754 scopes in the ``four-above`` pack (most specific wins:
7010 → 房地产开发经营, 7020 → 服务业 (b)). Per firm:

- ``four_above_group`` — the group id (null when the industry is in no group or unknown);
- ``meets_four_above`` — latest annual figure (``main_revenue_y1`` or ``revenue_y1``) ≥ the line,
  or the group's flag (``construction_qualified``, ``real_estate_active``); null when unknown;
- ``hidden_four_above`` (隐形规上) — not on the roster (``in_four_above`` false) although it meets
  the line;
- ``upsize_candidate`` (小进规) — not on the roster, below the line, figure ≥ ``upsize_share`` ×
  line (default 70 %) and the growth still needed (line / figure − 1) no larger than the firm's own
  latest growth (figure_y1 / figure_y2 − 1);
- ``delist_risk`` (退规) — on the roster and the figure below the line, or below
  ``delist_margin`` × line (default 110 %) and lower than the year before.

Flag groups (construction, real estate) have no figure: they are never upsize / delist
candidates by the rule form (false), only hidden when the flag holds off the roster.
"""

from __future__ import annotations

import functools

import polars as pl

from tiering.compile import tol
from tiering.pack_model import FourAbovePack
from tiering.size_class import scope_match

__all__ = ["four_above_exprs", "four_above_table"]

_METRIC = {"main_revenue": "main_revenue", "revenue": "revenue"}


def _pack() -> FourAbovePack:
    from tiering.pack_loader import load_pack

    p = load_pack("four-above")
    assert isinstance(p, FourAbovePack)
    return p


@functools.cache
def four_above_table(pack: FourAbovePack | None = None) -> pl.DataFrame:
    """``code → four_above_group`` for every 小类 in some group."""
    pack = pack or _pack()
    return scope_match([(g.id, g.scope) for g in pack.groups]).rename({"owner": "four_above_group"})


def four_above_exprs(group: pl.Expr, pack: FourAbovePack | None = None) -> dict[str, pl.Expr]:
    """Expressions for ``meets_four_above`` and the three flags, given a group expression."""
    pack = pack or _pack()
    share = float(pack.parameters.get("upsize_share", 0.7))
    margin = float(pack.parameters.get("delist_margin", 1.1))
    meets = upsize = delist = None
    for g in pack.groups:
        on = group == g.id
        if g.metric == "flag":
            assert g.flag is not None
            m, up, dl = pl.col(g.flag), pl.lit(False), pl.lit(False)
        else:
            line = float(g.line or 0)
            x1 = pl.col(f"{_METRIC[g.metric]}_y1")
            x2 = pl.col(f"{_METRIC[g.metric]}_y2")
            m = x1 >= line - tol(line)
            growth = pl.when(x2 > 0).then(x1 / x2 - 1)
            needed = pl.when(x1 > 0).then(line / x1 - 1)
            up = m.not_() & (x1 >= share * line - tol(share * line)) & (needed <= growth)
            dl = m.not_() | ((x1 < margin * line - tol(margin * line)) & (x1 < x2))
        meets = (pl.when(on).then(m)) if meets is None else meets.when(on).then(m)
        upsize = (pl.when(on).then(up)) if upsize is None else upsize.when(on).then(up)
        delist = (pl.when(on).then(dl)) if delist is None else delist.when(on).then(dl)
    assert meets is not None and upsize is not None and delist is not None
    meets_e = meets.otherwise(pl.lit(None, pl.Boolean))
    roster = pl.col("in_four_above")
    return {
        "meets_four_above": meets_e,
        "hidden_four_above": roster.not_() & meets_e,
        "upsize_candidate": roster.not_() & upsize.otherwise(pl.lit(None, pl.Boolean)),
        "delist_risk": roster & delist.otherwise(pl.lit(None, pl.Boolean)),
    }
