"""Plain, immutable records the store hands out (no ORM objects leak to callers).

Why dataclasses: the API builds its role-specific response models from these, the CLI prints
them; neither should hold a database session or trigger lazy loads.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "AuditEntry",
    "FirmPage",
    "FirmRecord",
    "Principal",
    "RunInfo",
    "expand_detail",
    "standard_gap_text",
    "utc",
]

ROLES = ("bureau", "district", "station")


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """Aware UTC datetime (SQLite gives naive values back; they were written as UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _loads(text: str | bytes | None) -> Any:
    """JSON text as stored: ``str``, or UTF-8 ``bytes`` (SQLite's ``detail`` in rows published
    while the store held it)."""
    return None if text is None else json.loads(text)


_STANDARD = ("unknown", "manual_review")


def standard_gap_text(pack: str, criterion_id: str, status: str | None) -> str | None:
    """The standard wording of an unknown / manual-review gap (not stored; rebuilt on read).

    >>> standard_gap_text("EL", "EL-5", "manual_review").endswith("：需人工核实")
    True
    """
    if status not in _STANDARD:
        return None
    from tiering.store.criteria_index import criterion_labels, gap_phrase

    label = criterion_labels().get((pack, criterion_id)) or criterion_id
    return gap_phrase(label, status, None, None)


def _verdicts(raw: Any) -> list[dict[str, Any]] | None:
    from tiering.store.models import VERDICT_KEYS

    if raw is None:
        return None
    if isinstance(raw, dict):  # {pack: {tier, verdict, …}}
        raw = [{"pack": k, **v} for k, v in raw.items()]
    return [
        dict(zip(VERDICT_KEYS, v, strict=True))
        if isinstance(v, list)
        else {k: v.get(k) for k in VERDICT_KEYS} | v
        for v in raw
    ]


def _gaps(raw: Any) -> list[dict[str, Any]] | None:
    from tiering.store.models import GAP_KEYS

    if raw is None:
        return None
    out = []
    for g in raw:
        d = dict(zip(GAP_KEYS, g, strict=True)) if isinstance(g, list) else dict(g)
        if d.get("text") is None and d.get("status") in _STANDARD:
            d["text"] = standard_gap_text(str(d.get("pack")), str(d["criterion_id"]), d["status"])
        out.append(d)
    return out


def expand_detail(m: dict[str, Any]) -> dict[str, Any]:
    """A ``firm_results`` row (typed columns + ``detail``) as ``FirmRecord``'s named fields.

    >>> from tiering.store.models import DETAIL_FIELDS
    >>> d = [None] * len(DETAIL_FIELDS)
    >>> d[DETAIL_FIELDS.index("gaps")] = [["EL", "EL-1", "unmet", "成立时间差 1 年"]]
    >>> out = expand_detail({"uscc": "X", "detail": json.dumps(d)})
    >>> out["gaps"][0]["text"], out["gaps_text"]
    ('成立时间差 1 年', '成立时间差 1 年')
    """
    from tiering.store.models import DETAIL_FIELDS

    m = dict(m)
    raw = m.pop("detail", None)
    # text rebuilt from the run folder; a row published while the store held ``detail``: bytes
    # on SQLite (it was bound as UTF-8 bytes), text on PostgreSQL
    if isinstance(raw, str | bytes | bytearray | memoryview):
        values = json.loads(bytes(raw) if isinstance(raw, memoryview) else raw)
    else:
        values = raw or [None] * len(DETAIL_FIELDS)
    m.update(zip(DETAIL_FIELDS, values, strict=True))
    m["verdicts"] = _verdicts(m["verdicts"])
    m["gaps"] = _gaps(m["gaps"])
    unmet = [g["text"] for g in m["gaps"] or () if g.get("status") == "unmet" and g.get("text")]
    m["gaps_text"] = "；".join(unmet) or None
    return m


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A published run: ids, date, counts, where its folder is and its full manifest."""

    run_id: str
    seq: int
    as_of: dt.date
    created_at: dt.datetime
    published_at: dt.datetime
    run_dir: str
    manifest_sha256: str
    n_firms_in: int
    n_quarantined: int
    n_scored: int
    models_used: bool
    packs: list[str]
    manifest: dict[str, Any] = field(repr=False)

    @classmethod
    def from_row(cls, row: Any) -> RunInfo:
        m = row._mapping
        return cls(
            run_id=m["run_id"],
            seq=m["seq"],
            as_of=m["as_of"],
            created_at=utc(m["created_at"]),  # type: ignore[arg-type]
            published_at=utc(m["published_at"]),  # type: ignore[arg-type]
            run_dir=m["run_dir"],
            manifest_sha256=m["manifest_sha256"],
            n_firms_in=m["n_firms_in"],
            n_quarantined=m["n_quarantined"],
            n_scored=m["n_scored"],
            models_used=bool(m["models_used"]),
            packs=json.loads(m["packs"]),
            manifest=json.loads(m["manifest_json"]),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class FirmRecord:
    """One firm in one run (a ``firm_results`` row with its JSON columns parsed).

    ``revenue_y1``, ``main_revenue_y1``, ``rd_expense_y1``, ``total_assets_y1``, ``employees_y1``
    and ``rd_ratio_y1`` are confidential (涉税信息); see ``CONFIDENTIAL_FIELDS``.
    """

    run_id: str
    uscc: str
    name: str | None
    district: str | None
    district_name: str | None
    industry: str | None
    industry_name: str | None
    section: str | None
    size_class: str | None
    four_above_group: str | None
    in_four_above: bool | None
    meets_four_above: bool | None
    held_tier: str | None
    eligible_tier: str | None
    next_tier: str | None
    upsize_candidate: bool | None
    hidden_four_above: bool | None
    delist_risk: bool | None
    review_risk: bool | None
    revocation: bool | None
    p_next_tier: float | None
    revenue_y1: float | None
    main_revenue_y1: float | None
    rd_expense_y1: float | None
    total_assets_y1: float | None
    employees_y1: int | None
    rd_ratio_y1: float | None
    verdicts: list[dict[str, Any]] | None
    probabilities: dict[str, float] | None
    learned_flags: dict[str, bool] | None
    gaps: list[dict[str, Any]] | None
    gaps_text: str | None
    reasons: list[Any] | None
    criteria_offset: int | None
    criteria_count: int | None

    CONFIDENTIAL_FIELDS = (
        "revenue_y1",
        "main_revenue_y1",
        "rd_expense_y1",
        "total_assets_y1",
        "employees_y1",
        "rd_ratio_y1",
    )

    @classmethod
    def from_row(cls, row: Any) -> FirmRecord:
        return cls.from_mapping(row._mapping)

    @classmethod
    def from_mapping(cls, mapping: Any) -> FirmRecord:
        """From a ``firm_results`` row as a mapping (``detail`` expanded) or a logical row."""
        m = dict(mapping)
        if "detail" in m:
            m = expand_detail(m)
        else:  # a logical row (``firm_rows``): JSON text per field
            for key in ("verdicts", "probabilities", "learned_flags", "gaps", "reasons"):
                m[key] = _loads(m[key])
        for key in (
            "in_four_above",
            "meets_four_above",
            "upsize_candidate",
            "hidden_four_above",
            "delist_risk",
            "review_risk",
            "revocation",
        ):
            m[key] = None if m[key] is None else bool(m[key])
        return cls(**m)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class FirmPage:
    """One page of a firm search."""

    items: list[FirmRecord]
    total: int
    page: int
    page_size: int


@dataclass(frozen=True, slots=True)
class Principal:
    """An API key holder (the key itself is never stored, only its keyed hash)."""

    id: int
    key_prefix: str
    role: str
    districts: tuple[str, ...]
    label: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def from_row(cls, row: Any) -> Principal:
        m = row._mapping
        return cls(
            id=m["id"],
            key_prefix=m["key_prefix"],
            role=m["role"],
            districts=tuple(d for d in m["districts"].split(",") if d),
            label=m["label"],
            created_at=utc(m["created_at"]),  # type: ignore[arg-type]
            revoked_at=utc(m["revoked_at"]),
        )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit record: which principal saw which firms' confidential fields, where and when."""

    id: int
    at: dt.datetime
    principal_id: int | None
    endpoint: str
    firms: tuple[str, ...]
    n_firms: int

    @classmethod
    def from_row(cls, row: Any) -> AuditEntry:
        m = row._mapping
        return cls(
            id=m["id"],
            at=utc(m["at"]),  # type: ignore[arg-type]
            principal_id=m["principal_id"],
            endpoint=m["endpoint"],
            firms=tuple(f for f in m["firms"].split(",") if f),
            n_firms=m["n_firms"],
        )
