"""Rule diff: which firms change verdict between two packs, and which criteria cause it.

Why: before a new standard takes effect (e.g. specialized-2022 → specialized-2026 on
2026-04-01) staff need to know who flips and why, by district and industry. Both packs are run on
the same frame and date (any pack can be run on any date). For a firm whose verdict changes,
``causes`` lists the pass/fail (``gate``) criteria responsible — points-based routes are summed
up in the score and would only add noise:

- met → not met: the gate criteria of the *new* pack that are not ``met`` (the bar the firm now
  fails or cannot be shown to pass);
- not met → met: the gate criteria of the *old* pack that were ``unmet`` (the bar that no longer
  applies);
- other changes (unmet ↔ undetermined): the non-met gate criteria of both packs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from tiering.compile import col_name
from tiering.engine import assess

__all__ = ["RulesDiff", "rules_diff"]


@dataclass
class RulesDiff:
    """Result of :func:`rules_diff`."""

    from_pack: str
    to_pack: str
    firms: pl.DataFrame  # every firm whose verdict changed
    by_district: pl.DataFrame
    by_industry: pl.DataFrame
    by_criterion: pl.DataFrame
    transitions: pl.DataFrame

    def summary(self) -> dict:
        """JSON-safe counts (for the CLI and the API)."""
        return {
            "from": self.from_pack,
            "to": self.to_pack,
            "changed": self.firms.height,
            "transitions": self.transitions.to_dicts(),
        }

    def write_xlsx(self, path: str) -> None:
        """All tables as sheets of one workbook (Chinese sheet names for staff)."""
        import xlsxwriter

        with xlsxwriter.Workbook(path) as wb:
            for name, df in (
                ("变化企业", self.firms.with_columns(pl.col("causes").list.join("、"))),
                ("按区统计", self.by_district),
                ("按行业统计", self.by_industry),
                ("按条款统计", self.by_criterion),
                ("变化类型", self.transitions),
            ):
                df.with_columns(pl.all().cast(pl.String)).write_excel(wb, worksheet=name)


def _non_met(a, pack: str, statuses: tuple[str, ...]) -> pl.Expr:
    cp = a.compiled[pack]
    ids = [
        pl.when(pl.col(col_name(cp.id, cc.criterion.id, "s")).cast(pl.String).is_in(statuses)).then(
            pl.lit(cc.criterion.id)
        )
        for cc in cp.criteria
        if cc.criterion.role == "gate"
    ]
    return pl.concat_list(ids).list.drop_nulls()


def rules_diff(
    frame: pl.DataFrame | pl.LazyFrame,
    from_pack: str,
    to_pack: str,
    as_of: dt.date,
    *,
    application: str = "new",
) -> RulesDiff:
    """Run both packs on ``frame`` and report verdict changes with their causes."""
    a = assess(frame, as_of, packs=[from_pack, to_pack], application=application)  # type: ignore[arg-type]
    cf, ct = a.compiled[from_pack], a.compiled[to_pack]
    vf = pl.col(cf.col("verdict")).cast(pl.String)
    vt = pl.col(ct.col("verdict")).cast(pl.String)
    not_met_to = _non_met(a, to_pack, ("unmet", "unknown", "manual_review"))
    unmet_from = _non_met(a, from_pack, ("unmet",))
    both = pl.concat_list(
        [
            _non_met(a, from_pack, ("unmet", "unknown", "manual_review")),
            not_met_to,
        ]
    )
    cols = [c for c in ("uscc", "name", "district", "industry") if c in a.wide.columns]
    changed = (
        a.wide.lazy()
        .select(
            *cols,
            "industry_division",
            verdict_from=vf,
            verdict_to=vt,
            causes=pl.when((vf == "met") & (vt != "met"))
            .then(not_met_to)
            .when((vf != "met") & (vt == "met"))
            .then(unmet_from)
            .otherwise(both),
        )
        .filter(pl.col("verdict_from") != pl.col("verdict_to"))
        .with_columns(
            change=pl.when(pl.col("verdict_to") == "met")
            .then(pl.lit("gain"))
            .when(pl.col("verdict_from") == "met")
            .then(pl.lit("loss"))
            .otherwise(pl.lit("other"))
        )
        .collect()
    )

    def counts(key: str) -> pl.DataFrame:
        if key not in changed.columns:
            return pl.DataFrame()
        return (
            changed.group_by(key)
            .agg(
                gain=(pl.col("change") == "gain").sum(),
                loss=(pl.col("change") == "loss").sum(),
                other=(pl.col("change") == "other").sum(),
                changed=pl.len(),
            )
            .sort("changed", key, descending=[True, False])
        )

    by_criterion = (
        changed.select("change", criterion_id=pl.col("causes"))
        .explode("criterion_id")
        .drop_nulls("criterion_id")
        .group_by("criterion_id", "change")
        .len()
        .sort("len", "criterion_id", descending=[True, False])
    )
    transitions = changed.group_by("verdict_from", "verdict_to").len().sort("len", descending=True)
    return RulesDiff(
        from_pack,
        to_pack,
        changed.drop("industry_division"),
        counts("district"),
        counts("industry_division").rename({"industry_division": "division"})
        if changed.height
        else counts("industry_division"),
        by_criterion,
        transitions,
    )
