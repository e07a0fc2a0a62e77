"""A few firms' stored records built in Python: the what-if path's twin of ``assemble_scores``.

Why a second implementation: a what-if micro-batch holds 1–64 firms, and the polars path
(``build_scores`` → ``firm_rows`` → JSON text → ``json.loads``) costs ~14 ms per batch however small
it is — a dozen joins, group-bys and sorts, each with polars' fixed per-query cost, all under
the API's event loop. Here the same record is put together from plain dicts in well under a
millisecond per firm, with the JSON columns as Python objects (what the API serves).

Parity is the contract: for any frame, :func:`small_records` equals ``firm_rows(build_scores(…))``
with its JSON columns parsed (``tests/test_scores_small.py`` checks this on generated firms), so
a what-if still equals the batch row for the same firm and date.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from tiering.batch.scores import _FIRM_FIELDS as _BATCH_FIRM_FIELDS
from tiering.batch.scores import _KEY_FIGURES as _FIGURES
from tiering.batch.scores import _TIER_STATS, FLAG_COLUMNS, GAP_STATUSES, _fmt
from tiering.frame import TIERS

__all__ = ["CriteriaColumns", "small_records"]

# the batch's own field lists: the two paths must read the same columns
_GAP_STATUSES = frozenset(GAP_STATUSES)
_FIRM_FIELDS = (*_BATCH_FIRM_FIELDS, *FLAG_COLUMNS)


@functools.cache
def _district_names() -> dict[str, str]:
    from tiering.codes import districts

    return dict(districts().iter_rows())


@functools.cache
def _industry_names() -> dict[str, tuple[str, str]]:
    from tiering.codes import industries

    return {c: (n, s) for c, n, s in industries().select("code", "name", "section").iter_rows()}


def _fmt_number(gap: float) -> str:
    """``_fmt`` of ``tiering.batch.scores`` (polars' rounding and float printing), for one value."""
    return pl.DataFrame({"g": [gap]}, schema={"g": pl.Float64}).select(_fmt(pl.col("g"))).item()


def _gap_text(row: dict[str, Any], label: str | None) -> str | None:
    """``gap_text_expr``: the rules' own text, else words from label, gap and unit."""
    if row.get("gap_text") is not None:
        return row["gap_text"]
    if label is None:
        return None
    status = row["status"]
    if status == "unknown":
        text = f"{label}：数据缺失"
    elif status == "manual_review":
        text = f"{label}：需人工核实"
    elif row.get("gap") is not None:
        text = f"{label}差 {_fmt_number(row['gap'])} {row.get('unit') or ''}"
    else:
        text = f"{label}：未达标"
    return text.strip()


def _group(rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:  # by uscc
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["uscc"], []).append(r)
    return out


@dataclass(frozen=True)
class CriteriaColumns:
    """A small criteria frame as Python column lists, with each firm's row numbers.

    Why not dicts: a 32-firm what-if batch has ~2,000 criterion rows; building a dict per row
    here and again in the views cost more than the rules themselves. Rows are turned into dicts
    once, by the consumer (``api.views.describe_columns``), or by :meth:`rows_of`.
    """

    columns: dict[str, list[Any]]
    rows_by_firm: dict[str, list[int]]

    def rows_of(self, uscc: str) -> list[dict[str, Any]]:
        """One firm's criterion rows as dicts, in the engine's order."""
        keys = list(self.columns)
        return [{k: self.columns[k][i] for k in keys} for i in self.rows_by_firm.get(uscc, ())]


Table = pl.DataFrame | Mapping[str, list[Any]]


def _columns(table: Table) -> dict[str, list[Any]]:
    """A frame (or column lists, as ``SmallAssessment.table`` gives) as column lists."""
    if isinstance(table, pl.DataFrame):
        return {c.name: c.to_list() for c in table.get_columns()}
    return dict(table)


def _dicts(columns: Mapping[str, list[Any]], keys: Iterable[str]) -> list[dict[str, Any]]:
    """Rows of ``columns`` restricted to ``keys``, as ``select(keys).to_dicts()``."""
    keys = list(keys)
    if not columns:  # an empty table (no tier pack in force) has no rows
        return []
    return [
        dict(zip(keys, vals, strict=True)) for vals in zip(*(columns[k] for k in keys), strict=True)
    ]


def small_records(
    frame: pl.DataFrame,
    criteria: Table,
    tiers: Table,
    firms: Table,
    predictions: pl.DataFrame | None,
    run_id: str,
) -> tuple[dict[str, dict[str, Any]], CriteriaColumns]:
    """``(records by uscc, criteria columns)`` of a small assessed frame.

    A record has ``tiering.store.publish.FIRM_FIELDS`` as keys, JSON columns (``verdicts``,
    ``gaps``, ``probabilities``, ``learned_flags``, ``reasons``) as Python objects; each firm's
    criteria rows are in the engine's pack and criterion order (what ``sort_criteria`` keeps).
    ``criteria``, ``tiers`` and ``firms`` are the assessment's frames or, cheaper, the numpy
    backend's column lists (``SmallAssessment.table``): the same values either way.
    """
    from tiering.store.criteria_index import criterion_labels
    from tiering.store.publish import FIRM_FIELDS

    labels = criterion_labels()
    cols = _columns(criteria)
    crit_by: dict[str, list[int]] = {}
    for i, u in enumerate(cols["uscc"]):
        crit_by.setdefault(u, []).append(i)
    c_pack, c_status, c_cid = cols["pack"], cols["status"], cols["criterion_id"]
    tier_cols, firm_cols = _columns(tiers), _columns(firms)
    tiers_by = _group(_dicts(tier_cols, ("uscc", "pack", "tier", *_TIER_STATS)))
    firm_by = {
        r["uscc"]: r
        for r in _dicts(firm_cols, ["uscc", *(c for c in _FIRM_FIELDS if c in firm_cols)])
    }
    pred_by: dict[str, dict[str, Any]] = {}
    p_cols: list[str] = []
    learned: list[str] = []
    if predictions is not None:
        pred_by = {r["uscc"]: r for r in predictions.to_dicts()}
        p_cols = [c for c in predictions.columns if c.startswith("p_") and c != "p_next_tier"]
        learned = [c for c in predictions.columns if c.endswith("_learned")]
    ident = [c for c in ("name", "district", "industry", *_FIGURES, "in_four_above") if c in frame]
    districts, industries = _district_names(), _industry_names()

    # offsets follow the uscc-sorted criteria (``criteria_offsets`` of the batch)
    offsets: dict[str, int] = {}
    start = 0
    for uscc in sorted(crit_by):
        offsets[uscc] = start
        start += len(crit_by[uscc])

    records: dict[str, dict[str, Any]] = {}
    for base in frame.select("uscc", *ident).to_dicts():
        uscc = base["uscc"]
        rec: dict[str, Any] = dict.fromkeys(FIRM_FIELDS)
        rec.update(base)
        rec["run_id"] = run_id
        rev, rd = base.get("revenue_y1"), base.get("rd_expense_y1")
        if "revenue_y1" in base and "rd_expense_y1" in base:
            rec["rd_ratio_y1"] = (
                rd / rev if rev is not None and rd is not None and rev > 0 else None
            )
        rec["district_name"] = districts.get(base.get("district"))  # type: ignore[arg-type]
        name_section = industries.get(base.get("industry"))  # type: ignore[arg-type]
        rec["industry_name"], rec["section"] = name_section or (None, None)
        rec.update({k: v for k, v in firm_by.get(uscc, {}).items() if k != "uscc"})

        verdicts = [
            {k: v for k, v in t.items() if k != "uscc"} for t in tiers_by.get(uscc, ())
        ] or None
        rec["verdicts"] = verdicts
        next_pack = next(
            (
                t["pack"]
                for t in verdicts or ()
                if t["tier"] is not None and t["tier"] == rec.get("next_tier")
            ),
            None,
        )
        if next_pack is not None:
            gaps = []
            for i in crit_by.get(uscc, ()):
                if c_status[i] in _GAP_STATUSES and c_pack[i] in (next_pack, "EL"):
                    c = {k: cols[k][i] for k in ("status", "gap", "unit", "gap_text") if k in cols}
                    label = labels.get((c_pack[i], c_cid[i]))
                    gaps.append(
                        {
                            "pack": c_pack[i],
                            "criterion_id": c_cid[i],
                            "status": c_status[i],
                            "text": _gap_text(c, label),
                        }
                    )
            if gaps:
                rec["gaps"] = gaps
                rec["gaps_text"] = "；".join(
                    g["text"] for g in gaps if g["status"] == "unmet" and g["text"] is not None
                )

        pred = pred_by.get(uscc)
        if predictions is not None:
            if p_cols:
                rec["probabilities"] = (
                    {c[2:]: pred[c] for c in p_cols} if pred is not None else None
                )
                p_next = [
                    pred[f"p_{t}"] if pred is not None else None
                    for t in TIERS
                    if f"p_{t}" in predictions.columns and rec.get("next_tier") == t
                ]
                rec["p_next_tier"] = next((p for p in p_next if p is not None), None)
            if learned:
                rec["learned_flags"] = (
                    {c.removesuffix("_learned"): pred[c] for c in learned}
                    if pred is not None
                    else None
                )
            if "reasons" in predictions.columns:
                rec["reasons"] = pred.get("reasons") if pred is not None else None
        rec["criteria_offset"] = offsets.get(uscc)
        rec["criteria_count"] = len(crit_by.get(uscc, ()))
        records[uscc] = rec
    return records, CriteriaColumns(cols, crit_by)
