"""What a person sees while a run works and when it ends: progress per stage, a summary table.

Why: the yearly run takes a minute at city scale; an operator must see it advance, and at the end
see in one glance how many firms sit on each rung, how many flags were raised and how many rows
were set aside — the numbers they will be asked about first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from tiering.batch.scores import FLAG_COLUMNS, FLAG_LABELS, TIER_LABELS

__all__ = ["StageProgress", "summary_tables", "tier_counts"]


class StageProgress:
    """A progress bar over the run's stages (silent when ``enabled`` is false)."""

    def __init__(self, stages: list[str], console: Console | None, enabled: bool = True) -> None:
        self.enabled = enabled
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            disable=not enabled,
        )
        self._task = self._progress.add_task("准备", total=len(stages))

    def __enter__(self) -> StageProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        self._progress.update(self._task, description=label)
        yield
        self._progress.advance(self._task)


def tier_counts(scores: pl.DataFrame) -> pl.DataFrame:
    """Firms per tier: held (from the roster) and eligible (by the rules)."""
    held = scores.group_by(pl.col("held_tier").fill_null("none").alias("tier")).len("held")
    elig = scores.group_by(pl.col("eligible_tier").fill_null("none").alias("tier")).len("eligible")
    order = list(TIER_LABELS)
    return (
        held.join(elig, on="tier", how="full", coalesce=True)
        .fill_null(0)
        .with_columns(
            pl.col("tier")
            .replace_strict({t: i for i, t in enumerate(order)}, default=99)
            .alias("_o")
        )
        .sort("_o")
        .drop("_o")
    )


def summary_tables(scores: pl.DataFrame, manifest: dict[str, Any]) -> list[Table]:
    """The closing tables: firms per tier, flags, quarantine and stage timings."""
    tiers = Table(title="梯度分布（企业数）")
    tiers.add_column("梯度")
    tiers.add_column("现持有", justify="right")
    tiers.add_column("符合条件", justify="right")
    for tier, held, elig in tier_counts(scores).iter_rows():
        tiers.add_row(TIER_LABELS.get(tier, tier), f"{held:,}", f"{elig:,}")

    flags = Table(title="提示标记")
    flags.add_column("标记")
    flags.add_column("规则", justify="right")
    flags.add_column("模型", justify="right")
    for col in FLAG_COLUMNS:
        rule = int(scores[col].fill_null(False).sum()) if col in scores.columns else 0
        base = {"upsize_candidate": "upsize", "delist_risk": "delist"}.get(col, col)
        learned = f"{base}_learned"
        model = (
            f"{int(scores[learned].fill_null(False).sum()):,}" if learned in scores.columns else "—"
        )
        flags.add_row(FLAG_LABELS[col], f"{rule:,}", model)

    counts = manifest.get("counts", {})
    quarantine = Table(title="数据核对")
    quarantine.add_column("数据表")
    quarantine.add_column("读入", justify="right")
    quarantine.add_column("有效", justify="right")
    quarantine.add_column("隔离", justify="right")
    for table, c in manifest.get("tables", {}).items():
        quarantine.add_row(
            table, f"{c['rows_in']:,}", f"{c['rows_valid']:,}", f"{c['rows_quarantined']:,}"
        )
    quarantine.caption = (
        f"企业 {counts.get('firms_in', 0):,} = 隔离 {counts.get('firms_quarantined', 0):,}"
        f" + 基准日不在册 {counts.get('firms_out_of_scope', 0):,} + 参评 {counts.get('scored', 0):,}"
    )

    stages = Table(title="各阶段耗时")
    stages.add_column("阶段")
    stages.add_column("秒", justify="right")
    stages.add_column("峰值内存 MiB", justify="right")
    for name, s in manifest.get("stages", {}).items():
        stages.add_row(name, f"{s['seconds']:.2f}", f"{s['peak_rss_mb']:,.0f}")
    return [tiers, flags, quarantine, stages]
