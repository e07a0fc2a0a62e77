"""SQLAlchemy 2 models of the store: runs, per-firm results, quarantine summaries, principals, audit.

Why these tables and not more: the API answers "where is this firm on the ladder, what does it
lack, how likely is the next rung" from one row of ``firm_results`` (its typed columns) and the
firm's ``detail`` — per-pack verdicts, the gaps to the next tier in plain Chinese, figures,
probabilities and reasons — which stays in the run folder's ``scores.parquet`` (see
``FirmResult``), so a look-up is a primary-key read and a read of the mapped run files. The per-criterion rows (~60 per firm, ~60 M at 1 M firms) are *not*
copied into SQL: they stay in the immutable run folder as ``criteria.parquet`` (sorted by uscc, in
small row groups) and ``firm_results`` records each firm's ``criteria_offset`` and
``criteria_count`` into it, so ``criteria_for(uscc)`` decompresses one row group. That keeps publishing a
1 M-firm run within seconds and the database small, while every criterion of every published
run stays available for look-ups (see ``tiering/store/criteria_index.py``).

The schema is versioned by the alembic migrations in ``tiering/store/migrations``; these models
are the source the migrations mirror (a test compares them).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "DETAIL_FIELDS",
    "GAP_KEYS",
    "VERDICT_KEYS",
    "ApiPrincipal",
    "AuditLog",
    "Base",
    "FirmResult",
    "QuarantineSummary",
    "Run",
]


class Base(DeclarativeBase):
    """Declarative base; ``Base.metadata`` is the target the migrations are checked against."""


class Run(Base):
    """One published batch run (the manifest is kept verbatim)."""

    __tablename__ = "runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True, nullable=False)
    as_of: Mapped[dt.date] = mapped_column(Date, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    published_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    run_dir: Mapped[str] = mapped_column(Text, nullable=False)
    manifest_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    manifest_json: Mapped[str] = mapped_column(Text, nullable=False)
    n_firms_in: Mapped[int] = mapped_column(Integer, nullable=False)
    n_quarantined: Mapped[int] = mapped_column(Integer, nullable=False)
    n_scored: Mapped[int] = mapped_column(Integer, nullable=False)
    models_used: Mapped[bool] = mapped_column(Boolean, nullable=False)
    packs: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list of pack ids


class FirmResult(Base):
    """One firm in one run: typed columns for what is filtered, listed and keyed on; the rest is
    one compact ``detail`` (a JSON array, fields in ``DETAIL_FIELDS`` order).

    Where ``detail`` lives: publishing leaves it null here and it stays in the run folder, whose
    ``scores.parquet`` holds every detail field; ``publish.detail_rows`` rebuilds it from there
    byte for byte (``Store.firm_result`` from the folder, the API from its mapped
    ``details.arrow``). At ~1 KB of each ~1.2 KB row it was most of the cost of publishing a
    million firms: binding, writing, logging and checkpointing its bytes (measured at 1 M firms
    on SQLite: ~23 s of CPU with it, ~9 s without). Rows published before hold it and are read
    as they are.

    Why compact: a firm's detail fields are read together, one firm at a time; one JSON array is
    cheaper to build, keep and expand than ~20 more columns (when it was still loaded here, 17
    columns and ~0.8 KB a firm published ~3× faster than 40 columns and ~2 KB).
    ``FirmRecord.from_row`` expands ``detail`` back into named fields (``records.py``).
    ``detail`` carries 涉税信息 (``revenue_y1`` …): the API's response models decide which roles
    see them.
    """

    __tablename__ = "firm_results"

    run_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(String(6))
    district_name: Mapped[str | None] = mapped_column(Text)
    industry: Mapped[str | None] = mapped_column(String(4))
    industry_name: Mapped[str | None] = mapped_column(Text)
    section: Mapped[str | None] = mapped_column(String(1))
    size_class: Mapped[str | None] = mapped_column(String(24))
    four_above_group: Mapped[str | None] = mapped_column(String(32))
    held_tier: Mapped[str | None] = mapped_column(String(24))
    eligible_tier: Mapped[str | None] = mapped_column(String(24))
    next_tier: Mapped[str | None] = mapped_column(String(24))
    p_next_tier: Mapped[float | None] = mapped_column(Float)
    criteria_offset: Mapped[int | None] = mapped_column(Integer)
    criteria_count: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)  # null: in the run folder (see above)

    __table_args__ = (
        Index("ix_firm_results_uscc", "uscc"),
        Index("ix_firm_results_run_district", "run_id", "district"),
        Index("ix_firm_results_run_held", "run_id", "held_tier"),
        Index("ix_firm_results_run_eligible", "run_id", "eligible_tier"),
    )


DETAIL_FIELDS: tuple[str, ...] = (
    "in_four_above",
    "meets_four_above",
    "upsize_candidate",
    "hidden_four_above",
    "delist_risk",
    "review_risk",
    "revocation",
    "revenue_y1",
    "main_revenue_y1",
    "rd_expense_y1",
    "total_assets_y1",
    "employees_y1",
    "rd_ratio_y1",
    "verdicts",  # [[pack, tier, verdict, score, score_min, score_max, pass_mark], …]
    "probabilities",  # {target: p}
    "learned_flags",  # {flag: bool}
    "gaps",  # [[pack, criterion_id, status, text|null], …]; null text = the standard wording
    "reasons",  # [{target, text, …}, …]
)
"""What ``firm_results.detail`` holds, by position (revision 0002)."""
VERDICT_KEYS = ("pack", "tier", "verdict", "score", "score_min", "score_max", "pass_mark")
GAP_KEYS = ("pack", "criterion_id", "status", "text")


class QuarantineSummary(Base):
    """Rows set aside by the data contracts in one run, counted by table and rule."""

    __tablename__ = "quarantine_summaries"

    run_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    table_name: Mapped[str] = mapped_column(String(32), primary_key=True)
    rule: Mapped[str] = mapped_column(String(64), primary_key=True)
    n_rows: Mapped[int] = mapped_column(Integer, nullable=False)


class ApiPrincipal(Base):
    """An API key holder. Only the keyed hash of the key is stored, never the key itself."""

    __tablename__ = "api_principals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    key_prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    districts: Mapped[str] = mapped_column(Text, nullable=False)  # comma-separated GB/T 2260
    label: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AuditLog(Base):
    """One access to confidential fields: who, which firms, which endpoint, when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    principal_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("api_principals.id", ondelete="SET NULL")
    )
    endpoint: Mapped[str] = mapped_column(Text, nullable=False)
    firms: Mapped[str] = mapped_column(Text, nullable=False)  # comma-separated USCCs
    n_firms: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_principal", "principal_id"),
    )
