"""GX Core 1.x suites built in code from :mod:`.expectations`, run in an ephemeral context.

Why in code: nothing on disk to drift (no ``great_expectations/`` project folder, no stores), no
network (analytics off before GX is imported), no progress bars in batch logs. GX is imported
lazily — it costs seconds — so only the contract-of-record run and the parity test pay for it.

Two custom expectations fill GX's gaps, written the GX 1.x way (a ``ColumnMapMetricProvider`` /
``ColumnPairMapMetricProvider`` with a pandas condition, and an ``Expectation`` subclass naming
the metric):

- ``expect_column_values_to_be_valid_uscc`` — GB 32100 format and check character;
- ``expect_column_pair_values_a_to_be_at_most_b_times`` — ``A <= B * factor`` (main revenue may
  exceed revenue by a rounding tolerance).

When GX runs in a batch (decided in :mod:`.validate`): on a deterministic sample of each table
(``gx="sample"``, the default) or on the whole table (``gx="full"``); the results are the contract
of record in the report, and the polars flags of the same sample are compared with GX's — any
disagreement is reported as contract drift.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import polars as pl

__all__ = ["ROW_ID", "gx_context", "register_custom_expectations", "run_suite", "suite_for"]

ROW_ID = "__row"  # index column GX reports unexpected rows by


@functools.cache
def register_custom_expectations() -> dict[str, type]:
    """Define (once per process) the two custom GX expectations; returns them by type name."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    from typing import ClassVar

    from great_expectations.execution_engine import PandasExecutionEngine
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        ColumnPairMapExpectation,
    )
    from great_expectations.expectations.metrics import (
        ColumnMapMetricProvider,
        column_condition_partial,
    )
    from great_expectations.expectations.metrics.map_metric_provider import (
        ColumnPairMapMetricProvider,
        column_pair_condition_partial,
    )

    from tiering.uscc import is_valid

    class ColumnValuesValidUscc(ColumnMapMetricProvider):
        condition_metric_name = "column_values.valid_uscc"

        @column_condition_partial(engine=PandasExecutionEngine)
        def _pandas(cls, column, **kwargs):
            return column.map(is_valid).astype(bool)

    class ExpectColumnValuesToBeValidUscc(ColumnMapExpectation):
        """Values are 18-character USCCs (GB 32100) with the right check character."""

        map_metric: ClassVar[str] = "column_values.valid_uscc"
        success_keys: ClassVar[tuple[str, ...]] = ("mostly",)

    class ColumnPairValuesAAtMostBTimes(ColumnPairMapMetricProvider):
        condition_metric_name = "column_pair_values.a_at_most_b_times"
        condition_domain_keys = (
            "batch_id",
            "table",
            "column_A",
            "column_B",
            "row_condition",
            "condition_parser",
            "ignore_row_if",
        )
        condition_value_keys = ("factor",)

        @column_pair_condition_partial(engine=PandasExecutionEngine)
        def _pandas(cls, column_A, column_B, **kwargs):
            return column_A <= column_B * float(kwargs.get("factor") or 1.0)

    class ExpectColumnPairValuesAToBeAtMostBTimes(ColumnPairMapExpectation):
        """``column_A <= column_B * factor`` row by row."""

        factor: float = 1.0
        ignore_row_if: str = "both_values_are_missing"
        map_metric: ClassVar[str] = "column_pair_values.a_at_most_b_times"
        success_keys: ClassVar[tuple[str, ...]] = ("factor", "ignore_row_if", "mostly")

    return {
        "expect_column_values_to_be_valid_uscc": ExpectColumnValuesToBeValidUscc,
        "expect_column_pair_values_a_to_be_at_most_b_times": ExpectColumnPairValuesAToBeAtMostBTimes,
    }


@functools.cache
def gx_context():
    """An ephemeral GX context: in memory, analytics off, progress bars off."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    register_custom_expectations()
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def suite_for(name: str, configs: Sequence[dict[str, Any]]):
    """A GX ``ExpectationSuite`` named ``name`` holding ``configs`` (kwargs and meta verbatim)."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    register_custom_expectations()
    suite = gx.ExpectationSuite(name=name)
    for c in configs:
        suite.add_expectation_configuration(
            ExpectationConfiguration(type=c["type"], kwargs=dict(c["kwargs"]), meta=dict(c["meta"]))
        )
    return suite


def _gx_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """pandas holds dates as Timestamps: GX compares them with datetimes, not dates."""
    out = {}
    for k, v in params.items():
        if isinstance(v, date) and not isinstance(v, datetime):
            v = datetime(v.year, v.month, v.day)
        out[k] = v
    return out


def run_suite(
    name: str,
    df: pl.DataFrame,
    configs: Sequence[dict[str, Any]],
    params: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """Validate ``df`` with GX (pandas engine) and return one plain dict per expectation.

    Each dict: ``id``, ``rule``, ``type``, ``success``, ``element_count``, ``unexpected_count``,
    ``rows`` (0-based positions in ``df`` GX found unexpected) and ``error`` (GX's exception
    message, if the expectation could not run).
    """
    ctx = gx_context()
    pdf = df.with_row_index(ROW_ID).to_pandas()
    source = ctx.data_sources.add_or_update_pandas(f"src_{name}")
    asset = source.add_dataframe_asset(f"asset_{name}_{id(pdf)}")
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
        batch_parameters={"dataframe": pdf}
    )
    result = batch.validate(
        suite_for(name, configs),
        expectation_parameters=_gx_params(params),
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ROW_ID]},
    )
    out = []
    for r in result.results:
        meta = dict(r.expectation_config.meta or {})
        res = r.result or {}
        idx = res.get("unexpected_index_list") or []
        err = None
        if r.exception_info and r.exception_info.get("raised_exception"):
            err = r.exception_info.get("exception_message")
        else:
            for info in (r.exception_info or {}).values():
                if isinstance(info, dict) and info.get("raised_exception"):
                    err = info.get("exception_message")
        out.append(
            {
                "id": meta.get("id"),
                "rule": meta.get("rule"),
                "type": r.expectation_config.type,
                "success": bool(r.success),
                "element_count": res.get("element_count"),
                "unexpected_count": res.get("unexpected_count"),
                "rows": sorted(int(i[ROW_ID]) for i in idx if isinstance(i, dict)),
                "error": err,
            }
        )
    return out
