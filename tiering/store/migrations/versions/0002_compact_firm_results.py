"""Compact ``firm_results``: typed columns for filters and lists, one JSON ``detail`` for the rest.

Why: publishing a 1 M-firm run bound 40 columns and ~2 KB per firm; the detail fields (flags,
key figures, verdicts, probabilities, gaps, reasons) are only ever read whole, for one firm, so
they travel as one JSON array (``tiering.store.models.DETAIL_FIELDS`` order). ``gaps_text`` is
no longer stored: it is the ``；``-join of the unmet gaps' texts, rebuilt on read.

Existing rows are carried over with the database's own JSON functions (verdicts and gaps keep
their older object form, which ``FirmRecord.from_row`` reads as well).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SCALARS = (
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
)
_JSON = ("verdicts", "probabilities", "learned_flags", "gaps", "reasons")
_DROPPED = (*_SCALARS, *_JSON, "gaps_text")


def upgrade() -> None:
    op.add_column("firm_results", sa.Column("detail", sa.Text))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        parts = [f"to_json({c})" for c in _SCALARS] + [f"{c}::json" for c in _JSON]
        op.execute(f"UPDATE firm_results SET detail = json_build_array({', '.join(parts)})::text")
    else:
        parts = [
            f"CASE WHEN {c} IS NULL THEN NULL ELSE json(CASE {c} WHEN 1 THEN 'true' "
            f"ELSE 'false' END) END"
            for c in _SCALARS[:7]
        ]
        parts += list(_SCALARS[7:]) + [f"json({c})" for c in _JSON]
        op.execute(f"UPDATE firm_results SET detail = json_array({', '.join(parts)})")
    with op.batch_alter_table("firm_results") as batch:
        for c in _DROPPED:
            batch.drop_column(c)


def downgrade() -> None:  # pragma: no cover - forward-only in production
    raise NotImplementedError("firm_results 0002 is forward-only; republish runs instead")
