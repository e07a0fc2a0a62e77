"""Initial store schema: runs, firm_results, quarantine_summaries, api_principals, audit_log.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False, unique=True),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("published_at", TZ, nullable=False),
        sa.Column("run_dir", sa.Text, nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("manifest_json", sa.Text, nullable=False),
        sa.Column("n_firms_in", sa.Integer, nullable=False),
        sa.Column("n_quarantined", sa.Integer, nullable=False),
        sa.Column("n_scored", sa.Integer, nullable=False),
        sa.Column("models_used", sa.Boolean, nullable=False),
        sa.Column("packs", sa.Text, nullable=False),
    )
    op.create_table(
        "firm_results",
        sa.Column(
            "run_id",
            sa.String(64),
            sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("uscc", sa.String(18), primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("district", sa.String(6)),
        sa.Column("district_name", sa.Text),
        sa.Column("industry", sa.String(4)),
        sa.Column("industry_name", sa.Text),
        sa.Column("section", sa.String(1)),
        sa.Column("size_class", sa.String(24)),
        sa.Column("four_above_group", sa.String(32)),
        sa.Column("in_four_above", sa.Boolean),
        sa.Column("meets_four_above", sa.Boolean),
        sa.Column("held_tier", sa.String(24)),
        sa.Column("eligible_tier", sa.String(24)),
        sa.Column("next_tier", sa.String(24)),
        sa.Column("upsize_candidate", sa.Boolean),
        sa.Column("hidden_four_above", sa.Boolean),
        sa.Column("delist_risk", sa.Boolean),
        sa.Column("review_risk", sa.Boolean),
        sa.Column("revocation", sa.Boolean),
        sa.Column("p_next_tier", sa.Float),
        sa.Column("revenue_y1", sa.Float),
        sa.Column("main_revenue_y1", sa.Float),
        sa.Column("rd_expense_y1", sa.Float),
        sa.Column("total_assets_y1", sa.Float),
        sa.Column("employees_y1", sa.Integer),
        sa.Column("rd_ratio_y1", sa.Float),
        sa.Column("verdicts", sa.Text),
        sa.Column("probabilities", sa.Text),
        sa.Column("learned_flags", sa.Text),
        sa.Column("gaps", sa.Text),
        sa.Column("gaps_text", sa.Text),
        sa.Column("reasons", sa.Text),
        sa.Column("criteria_offset", sa.Integer),
        sa.Column("criteria_count", sa.Integer),
    )
    op.create_index("ix_firm_results_uscc", "firm_results", ["uscc"])
    op.create_index("ix_firm_results_run_district", "firm_results", ["run_id", "district"])
    op.create_index("ix_firm_results_run_held", "firm_results", ["run_id", "held_tier"])
    op.create_index("ix_firm_results_run_eligible", "firm_results", ["run_id", "eligible_tier"])
    op.create_table(
        "quarantine_summaries",
        sa.Column(
            "run_id",
            sa.String(64),
            sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("table_name", sa.String(32), primary_key=True),
        sa.Column("rule", sa.String(64), primary_key=True),
        sa.Column("n_rows", sa.Integer, nullable=False),
    )
    op.create_table(
        "api_principals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("key_prefix", sa.String(16), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("districts", sa.Text, nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column(
            "principal_id",
            sa.Integer,
            sa.ForeignKey("api_principals.id", ondelete="SET NULL"),
        ),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("firms", sa.Text, nullable=False),
        sa.Column("n_firms", sa.Integer, nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_principal", "audit_log", ["principal_id"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("api_principals")
    op.drop_table("quarantine_summaries")
    op.drop_table("firm_results")
    op.drop_table("runs")
