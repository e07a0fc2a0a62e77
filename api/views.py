"""Turn a stored (or freshly assessed) firm result into the response model of a role.

Why a module: the look-up and the what-if must give the *same* shape for the same firm (batch /
online parity), and the rule "station sees relative gaps only" must live in exactly one place.
Input is plain Python: the firm's result row as a dict (JSON columns already parsed) and its
criterion rows as dicts, so this module knows nothing about SQL, Arrow or polars.

Relative gaps: a ratio criterion's gap becomes percentage points, a count (项/年/名/分/级) stays a
count; a money (万元) or head-count gap — or a gap of unknown unit — is withheld from ``station``
(fail safe: a unit we do not recognise is treated as confidential).

>>> relative_gap(0.004, "比例")
(0.4, '个百分点')
>>> relative_gap(2, "项")
(2.0, '项')
>>> relative_gap(120.0, "万元")
(None, None)
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from api.schemas import (
    FirmConfidential,
    FirmPublic,
    KeyFigures,
    RunRef,
)

__all__ = [
    "RATIO_UNITS",
    "RELATIVE_UNITS",
    "build_firm",
    "describe_columns",
    "describe_criteria",
    "parse_json",
    "relative_gap",
]

RATIO_UNITS = frozenset({"比例", "ratio", "fraction", "%", "share", "百分比"})
# Counts and other non-monetary units a station may see as they are.
RELATIVE_UNITS = {"项": "项", "年": "年", "名": "名", "分": "分", "级": "级", "个": "个"}
FLAG_COLUMNS = ("upsize_candidate", "hidden_four_above", "delist_risk", "review_risk", "revocation")
FIGURE_COLUMNS = tuple(KeyFigures.model_fields)


def parse_json(value: Any, default: Any) -> Any:
    """JSON text from the store → Python; already-parsed values pass through."""
    if value is None:
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return value


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _scalar(value: Any) -> float | str | bool | None:
    if value is None or isinstance(value, bool | str):
        return value
    return _num(value)


def relative_gap(gap: Any, unit: str | None) -> tuple[float | None, str | None]:
    """The station-safe form of a gap: (percentage points | count, unit) or (None, None)."""
    g = _num(gap)
    if g is None or unit is None:
        return None, None
    unit = unit.strip()
    if unit in RATIO_UNITS:
        return round(g * 100, 4), "个百分点"
    if unit in RELATIVE_UNITS:
        return g, RELATIVE_UNITS[unit]
    return None, None


def _gap_texts(gaps: Any) -> dict[tuple[str, str], str]:
    """``(pack, criterion_id) → text`` of a firm's stored gaps (the rules' own wording)."""
    return {
        (str(g.get("pack")), str(g.get("criterion_id"))): g["text"]
        for g in parse_json(gaps, []) or []
        if isinstance(g, Mapping) and g.get("text")
    }


def describe_criteria(rows: Iterable[Mapping[str, Any]], gaps: Any) -> list[dict[str, Any]]:
    """Criterion rows with Chinese label and gap text, worded exactly as the store words them.

    The run folder keeps the rules' own gap wording only for the next tier's gaps (in the firm's
    ``gaps``); every other shortfall is phrased from gap and unit. A what-if goes through the same
    wording (its engine rows' ``gap_text`` is set aside), so online and batch answers are equal.
    """
    from tiering.store.criteria_index import describe

    stripped = ({k: v for k, v in r.items() if k != "gap_text"} for r in rows)
    return describe(stripped, _gap_texts(gaps))


def describe_columns(
    columns: Mapping[str, Sequence[Any]], rows: Iterable[int], gaps: Any
) -> list[dict[str, Any]]:
    """:func:`describe_criteria` of rows given as column lists and row numbers (the what-if's
    criteria), each row built once as its final dict, without the set-aside ``gap_text``.

    Equal to ``describe(rows as dicts, …)`` by test (the same ``label_and_text``); its own loop
    because it runs for every criterion of every what-if (~50 per firm) and the generic path
    built each row twice.
    """
    from tiering.store.criteria_index import criterion_labels, label_and_text

    labels = criterion_labels()
    texts = _gap_texts(gaps)
    pairs = [(k, v) for k, v in columns.items() if k != "gap_text"]
    out = []
    for i in rows:
        row = {k: col[i] for k, col in pairs}
        row["label"], row["gap_text"] = label_and_text(row, labels, texts)
        out.append(row)
    return out


def _verdicts(raw: Any) -> list[dict[str, Any]]:
    data = parse_json(raw, {})
    if isinstance(data, Mapping):
        rows = [
            {"pack": k, **(v if isinstance(v, Mapping) else {"verdict": v})}
            for k, v in data.items()
        ]
    elif isinstance(data, list):
        rows = [r for r in data if isinstance(r, Mapping) and "pack" in r]
    else:
        rows = []
    out = []
    for r in rows:
        out.append(
            {
                "pack": str(r["pack"]),
                "tier": r.get("tier"),
                "verdict": r.get("verdict"),
                "score": _num(r.get("score")),
                "score_min": _num(r.get("score_min")),
                "score_max": _num(r.get("score_max")),
                "pass_mark": _num(r.get("pass_mark")),
            }
        )
    return out


_PLAIN = (float, int, str, bool)


def _criterion(row: Mapping[str, Any]) -> dict[str, Any]:
    """One criterion row plus its relative gap, for either view.

    The row goes in whole: the role's response model keeps only its declared fields
    (``extra="ignore"``), so a station's :class:`CriterionPublic` drops value, threshold, money
    gap and gap text however the row was built. Only what a model could not take is fixed here:
    the relative gap, a missing status, and a value or threshold of another type (e.g. a date).
    """
    out = dict(row)
    out["gap_relative"], out["gap_unit"] = relative_gap(row.get("gap"), row.get("unit"))
    if out.get("status") is None:
        out["status"] = "unknown"
    for key in ("value", "threshold"):
        v = out.get(key)
        if v is not None and not isinstance(v, _PLAIN):
            out[key] = None
    out["gap"] = _num(row.get("gap"))
    return out


def _gaps(raw: Any, criteria: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for g in parse_json(raw, []) or []:
        if not isinstance(g, Mapping) or not g.get("criterion_id"):
            continue
        cid = str(g["criterion_id"])
        crit = criteria.get(cid, {})
        rel, rel_unit = relative_gap(g.get("gap", crit.get("gap")), g.get("unit", crit.get("unit")))
        out.append(
            {
                "criterion_id": cid,
                "label": g.get("label", crit.get("label")),
                "status": str(g.get("status", crit.get("status", "unknown"))),
                "gap_relative": rel,
                "gap_unit": rel_unit,
                "text": g.get("text"),  # dropped by GapPublic
            }
        )
    return out


_REASON_KEYS = ("target", "feature", "label", "direction")


def _reasons(raw: Any, confidential: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for r in parse_json(raw, []) or []:
        if isinstance(r, str):
            if confidential:  # a bare text may quote figures: confidential view only
                out.append({"text": r})
            continue
        if not isinstance(r, Mapping):
            continue
        item: dict[str, Any] = {
            k: (None if r.get(k) is None else str(r.get(k))) for k in _REASON_KEYS
        }
        if confidential:
            item["value"] = _scalar(r.get("value"))
            item["contribution"] = _num(r.get("contribution"))
            item["text"] = r.get("text")
        out.append(item)
    return out


def build_firm(
    row: Mapping[str, Any],
    criteria: Iterable[Mapping[str, Any]],
    *,
    confidential: bool,
    run: RunRef | None,
) -> FirmPublic | FirmConfidential:
    """The response model of one firm for a confidential (bureau/district) or public view.

    Assembled as plain data and validated once by the role's model (one pass in pydantic-core
    instead of one model per criterion — the look-up's main cost on a cache miss).
    """
    crit_rows = list(criteria)
    by_id: dict[str, Mapping[str, Any]] = {}
    next_tier = row.get("next_tier")
    for c in crit_rows:  # prefer the next tier's pack when a criterion id repeats
        cid = str(c.get("criterion_id", ""))
        if cid not in by_id or (next_tier and str(c.get("pack", "")).startswith(str(next_tier))):
            by_id[cid] = c
    learned = parse_json(row.get("learned_flags"), {}) or {}
    probs = parse_json(row.get("probabilities"), {}) or {}
    data: dict[str, Any] = {k: row.get(k) for k in _IDENTITY}
    data["p_next_tier"] = _num(row.get("p_next_tier"))
    flags: dict[str, Any] = {k: row.get(k) for k in FLAG_COLUMNS}
    flags["learned"] = {str(k): (None if v is None else bool(v)) for k, v in learned.items()}
    data["flags"] = flags
    data["probabilities"] = {str(k): _num(v) for k, v in probs.items()}
    data["verdicts"] = _verdicts(row.get("verdicts"))
    data["run"] = run
    data["criteria"] = [_criterion(c) for c in crit_rows]
    data["gaps"] = _gaps(row.get("gaps"), by_id)
    data["reasons"] = _reasons(row.get("reasons"), confidential)
    if not confidential:
        return FirmPublic.model_validate(data)
    data["figures"] = {k: row.get(k) for k in FIGURE_COLUMNS}
    data["gaps_text"] = row.get("gaps_text")
    return FirmConfidential.model_validate(data)


_IDENTITY = (
    "uscc",
    "name",
    "district",
    "district_name",
    "industry",
    "industry_name",
    "held_tier",
    "eligible_tier",
    "next_tier",
    "section",
    "size_class",
    "four_above_group",
    "in_four_above",
    "meets_four_above",
)
