"""``tiering score``, ``tiering candidates``, ``tiering publish`` and ``tiering demo``.

Why here: these are the bureau's batch commands — score the city into a run folder and the store,
pull candidate lists for staff, re-publish a folder after a store outage, and the one-command demo
a new user runs first. Heavy libraries are imported inside the commands.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"日期应为 YYYY-MM-DD，收到“{text}”") from exc


def _fail(message: str) -> typer.Exit:
    from rich.console import Console

    Console(stderr=True).print(f"[bold red]错误：[/]{message}")
    return typer.Exit(code=1)


def _settings(home: Path | None = None):
    from tiering.settings import Settings, get_settings

    return Settings(home=home) if home is not None else get_settings()


def _print_summary(result, console) -> None:
    from tiering.batch.summary import summary_tables

    for table in summary_tables(result.scores, result.manifest):
        console.print(table)


def register(app: typer.Typer) -> None:
    """Attach the batch commands to the main app."""

    @app.command("score")
    def score_cmd(
        data: Annotated[Path, typer.Option("--data", help="输入数据目录（七张表）")],
        as_of: Annotated[str, typer.Option("--as-of", help="评估基准日 YYYY-MM-DD")],
        out: Annotated[
            Path | None, typer.Option("--out", help="运行目录根（默认 TIERING_HOME/runs）")
        ] = None,
        no_models: Annotated[bool, typer.Option("--no-models", help="仅按规则评分")] = False,
        no_publish: Annotated[bool, typer.Option("--no-publish", help="不发布到数据库")] = False,
        gx: Annotated[
            str,
            typer.Option(
                "--gx",
                help="GX 对照校验：off（默认，逐行契约校验照常进行）、sample 或 full",
            ),
        ] = "off",
        money_unit: Annotated[
            str, typer.Option("--money-unit", help="输入金额单位：wan（万元，默认）或 yuan（元）")
        ] = "wan",
        industry_codes: Annotated[
            str,
            typer.Option(
                "--industry-codes",
                help="行业代码版本：current（GB/T 4754-2017，默认）或 pre2019（2011 版，自动转换）",
            ),
        ] = "current",
        quiet: Annotated[bool, typer.Option("--quiet", help="不显示进度与汇总")] = False,
    ) -> None:
        """批量评分：读取→校验→指标→规则→模型→运行目录→发布到数据库。"""
        from rich.console import Console

        from tiering.batch import run_batch
        from tiering.errors import TieringError
        from tiering.store import Store

        if gx not in ("off", "sample", "full"):
            raise typer.BadParameter("--gx 只能是 off、sample 或 full")
        if money_unit not in ("wan", "yuan"):
            raise typer.BadParameter("--money-unit 只能是 wan 或 yuan")
        if industry_codes not in ("current", "pre2019"):
            raise typer.BadParameter("--industry-codes 只能是 current 或 pre2019")
        settings = _settings()
        console = Console(stderr=True, quiet=quiet)
        store = None if no_publish else Store(settings=settings)
        try:
            result = run_batch(
                data,
                _date(as_of),
                out or settings.resolved_runs_dir,
                use_models=not no_models,
                store=store,
                gx=gx,
                money_unit=money_unit,
                industry_codes=industry_codes,
                console=console,
                progress=not quiet,
            )
        except TieringError as exc:
            raise _fail(exc.message) from exc
        if not quiet:
            _print_summary(result, console)
        typer.echo(str(result.run_dir))

    @app.command("candidates")
    def candidates_cmd(
        target: Annotated[
            str,
            typer.Option(
                "--target", help="innovative|specialized|little_giant|upsize|delist|review"
            ),
        ],
        out: Annotated[Path, typer.Option("--out", help="输出文件（.xlsx/.csv/.json）")],
        district: Annotated[str | None, typer.Option("--district", help="区划代码")] = None,
        section: Annotated[str | None, typer.Option("--section", help="行业门类，如 C")] = None,
        min_prob: Annotated[float | None, typer.Option("--min-prob", help="最低概率 0–1")] = None,
        top: Annotated[int | None, typer.Option("--top", help="前 K 家")] = None,
        fmt: Annotated[
            str | None, typer.Option("--format", help="xlsx、csv 或 json（默认按扩展名）")
        ] = None,
        run: Annotated[str | None, typer.Option("--run", help="运行编号（默认最新）")] = None,
        runs: Annotated[Path | None, typer.Option("--runs", help="运行目录根")] = None,
    ) -> None:
        """导出候选名单（培育、小进规、退规、复核），含差距说明与运行信息。"""
        import json

        from tiering.batch import CandidateError, RunFolderError, export_candidates
        from tiering.batch.candidates import load_candidates
        from tiering.batch.runfolder import resolve_run

        settings = _settings()
        fmt = fmt or out.suffix.lstrip(".").lower() or "xlsx"
        if fmt not in ("xlsx", "csv", "json"):
            raise typer.BadParameter("--format 只能是 xlsx、csv 或 json")
        try:
            run_dir = _run_dir(settings, run, runs) or resolve_run(
                runs or settings.resolved_runs_dir, run
            )
            chosen = load_candidates(
                run_dir, target, district=district, section=section, min_prob=min_prob, top=top
            )
        except (CandidateError, RunFolderError) as exc:
            raise _fail(str(exc)) from exc
        manifest = json.loads((run_dir / "manifest.json").read_text())
        request = {"target": target, "district": district, "section": section,
                   "min_prob": min_prob, "top": top}  # fmt: skip
        export_candidates(chosen, fmt, manifest=manifest, request=request, path=out)  # type: ignore[arg-type]
        typer.echo(f"{out}（{chosen.height:,} 家，运行 {manifest['run_id']}）")

    @app.command("publish")
    def publish_cmd(
        run_dir: Annotated[Path, typer.Argument(help="完整的运行目录")],
    ) -> None:
        """把已完成的运行目录发布到数据库（重复发布不产生变化）。"""
        from tiering.store import Store, StoreError

        store = Store(settings=_settings())
        store.upgrade()
        try:
            res = store.publish_run(run_dir)
        except StoreError as exc:
            raise _fail(exc.message) from exc
        state = "已发布" if res.changed else "此前已发布，未作改动"
        typer.echo(f"{res.run_id}：{state}（{res.n_firms:,} 家企业）")

    @app.command("demo")
    def demo_cmd(
        firms: Annotated[int, typer.Option("--firms", min=500, help="模拟企业数")] = 50_000,
        home: Annotated[
            Path | None, typer.Option("--home", help="数据目录（默认 TIERING_HOME）")
        ] = None,
        seed: Annotated[int, typer.Option("--seed", help="随机种子")] = 1,
        no_models: Annotated[bool, typer.Option("--no-models", help="不训练模型，仅规则")] = False,
    ) -> None:
        """一条命令体验：模拟一座城市、训练模型、批量评分、导出候选名单，并告诉你文件在哪里。"""
        from tiering.batch.demo import run_demo

        if home is not None:  # every component reads the same settings (models registry, store)
            os.environ["TIERING_HOME"] = str(home.resolve())
            from tiering.settings import get_settings

            get_settings.cache_clear()
        t0 = time.perf_counter()
        run_demo(_settings(), firms=firms, seed=seed, train=not no_models, started=t0)


def _run_dir(settings, run: str | None, runs: Path | None) -> Path | None:
    """The run folder the store serves (latest, or ``run``), when the store knows it."""
    if runs is not None:
        return None
    from tiering.store import Store

    try:
        store = Store(settings=settings)
        if not store.is_current():
            return None
        info = store.get_run(run) if run else store.latest_run()
    except Exception:
        return None
    if info is None or not (Path(info.run_dir) / "manifest.json").is_file():
        return None
    return Path(info.run_dir)
