"""``tiering validate``: check a folder of input tables, write quarantine and report.

Exit codes: 0 when the batch is usable (rows may have been set aside); 2 when it is not (missing
table or column, a key of the wrong type, an unreadable or empty file, too many bad rows, a batch
check failure) — the message on stderr and ``report.md`` say which — and 2 as well for a wrong
option (typer's usage error). Anything else (1) is a bug.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

EXIT_UNUSABLE = 2


def register(app: typer.Typer) -> None:
    """Attach ``validate`` to the main app."""

    @app.command("validate")
    def validate(
        data: Annotated[Path, typer.Option("--data", help="输入数据目录（parquet/csv/xlsx）")],
        out: Annotated[Path, typer.Option("--out", help="输出目录")],
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="评估日期 YYYY-MM-DD，默认今天")
        ] = None,
        money_unit: Annotated[
            str, typer.Option("--money-unit", help="金额单位：yuan（元）或 wan（万元）")
        ] = "wan",
        max_bad_share: Annotated[
            float, typer.Option("--max-bad-share", help="单表隔离比例上限")
        ] = 0.2,
        previous: Annotated[
            Path | None, typer.Option("--previous", help="上次运行的 report.json")
        ] = None,
        gx: Annotated[
            str, typer.Option("--gx", help="GX契约执行：sample（抽样）、full（全量）、off")
        ] = "sample",
        industry_codes: Annotated[
            str,
            typer.Option(
                "--industry-codes",
                help="行业代码版本：current（含2019年第1号修改单）或 pre2019（修改单前编码，"
                "9231/9232将映射为9232/9233）",
            ),
        ] = "current",
    ) -> None:
        """校验输入数据：隔离不合格的行并写出 quarantine.parquet、report.json、report.md。"""
        import json

        from data_contracts.readers import ReadError, find_table_file, read_table_info
        from data_contracts.report import write_outputs
        from data_contracts.tables import TABLES
        from data_contracts.validate import unusable, validate_tables

        if money_unit not in ("yuan", "wan"):
            raise typer.BadParameter("金额单位应为 yuan 或 wan", param_hint="--money-unit")
        if gx not in ("sample", "full", "off"):
            raise typer.BadParameter("应为 sample、full 或 off", param_hint="--gx")
        if industry_codes not in ("current", "pre2019"):
            raise typer.BadParameter("应为 current 或 pre2019", param_hint="--industry-codes")
        try:
            day = date.fromisoformat(as_of) if as_of else date.today()
        except ValueError as exc:
            raise typer.BadParameter(
                f"日期格式应为YYYY-MM-DD：{as_of}", param_hint="--as-of"
            ) from exc
        if not data.is_dir():
            typer.echo(f"错误：数据目录不存在：{data}", err=True)
            raise typer.Exit(EXIT_UNUSABLE)
        tables, sources = {}, {}
        try:
            for name in TABLES:
                p = find_table_file(data, name)
                if p is not None:
                    info = read_table_info(p, name, money_unit, industry_codes)  # type: ignore[arg-type]
                    tables[name], sources[name] = info.frame, info.summary()
        except ReadError as exc:
            write_outputs(unusable(exc.message, day, sources), out)
            typer.echo(f"错误：本批数据不可用：{exc.message}", err=True)
            raise typer.Exit(EXIT_UNUSABLE) from exc
        try:
            prev = json.loads(previous.read_text(encoding="utf-8")) if previous else None
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(
                f"无法读取上次运行的报告：{previous}（{exc}）", param_hint="--previous"
            ) from exc
        result = validate_tables(tables, day, prev, max_bad_share, gx=gx, sources=sources)  # type: ignore[arg-type]
        paths = write_outputs(result, out)
        for name, c in result.counts.items():
            typer.echo(
                f"{name}: 输入{c['rows_in']}行，有效{c['rows_valid']}行，隔离{c['rows_quarantined']}行"
            )
        typer.echo(f"报告：{paths['report_md']}")
        if result.fatal:
            typer.echo(f"错误：本批数据不可用：{result.reason}", err=True)
            raise typer.Exit(EXIT_UNUSABLE)
