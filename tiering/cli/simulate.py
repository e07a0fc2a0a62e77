"""``tiering simulate``: write a seeded simulated Wuhan to a folder (issue #3)."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    import polars as pl

__all__ = ["held_summary", "parse_years", "register"]


def parse_years(text: str) -> tuple[int, int]:
    """``"2019-2025"`` → (2019, 2025); a single year is a one-year window.

    >>> parse_years("2019-2025"), parse_years("2024")
    ((2019, 2025), (2024, 2024))
    """
    m = re.fullmatch(r"\s*(\d{4})\s*(?:[-–]\s*(\d{4}))?\s*", text)
    if not m:
        raise typer.BadParameter(f"年份区间应形如 2019-2025，收到“{text}”")
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    if last < first:
        raise typer.BadParameter(f"年份区间起止颠倒：“{text}”")
    return first, last


_TIER_LABELS = {"tech_sme": "科技型", "innovative": "创新型", "specialized": "专精特新",
                "little_giant": "小巨人", "champion": "单项冠军"}  # fmt: skip


def held_summary(recognitions: pl.DataFrame, last_year: int) -> str:
    """Titles valid on 31 Dec of ``last_year`` by tier, as one Chinese line for the console.

    >>> import datetime as dt
    >>> import polars as pl
    >>> rec = pl.DataFrame({"uscc": ["A", "B"], "tier": ["specialized", "champion"],
    ...     "granted": [dt.date(2024, 7, 20)] * 2, "expires": [dt.date(2027, 7, 19)] * 2,
    ...     "revoked": [None, dt.date(2025, 3, 1)]})
    >>> held_summary(rec, 2025)
    '科技型 0，创新型 0，专精特新 1，小巨人 0，单项冠军 0'
    """
    import polars as pl

    on = dt.date(last_year, 12, 31)
    held = recognitions.filter(
        (pl.col("granted") <= on) & (pl.col("expires") >= on)
        & (pl.col("revoked").is_null() | (pl.col("revoked") > on))
    )  # fmt: skip
    counts = dict(held.group_by("tier").agg(pl.col("uscc").n_unique()).iter_rows())
    return "，".join(f"{label} {counts.get(t, 0):,}" for t, label in _TIER_LABELS.items())


def register(app: typer.Typer) -> None:
    """Attach ``simulate`` to the main app."""

    @app.command("simulate")
    def simulate_cmd(
        out: Annotated[Path, typer.Option("--out", help="输出目录")],
        firms: Annotated[int, typer.Option("--firms", min=1, help="企业数")] = 10_000,
        seed: Annotated[int, typer.Option("--seed", help="随机种子")] = 1,
        years: Annotated[str, typer.Option("--years", help="年份区间，如 2019-2025")] = "2019-2025",
        dirty: Annotated[
            float, typer.Option("--dirty", min=0.0, max=0.2, help="注入缺陷比例")
        ] = 0.0,
        fmt: Annotated[str, typer.Option("--format", help="parquet 或 csv")] = "parquet",
        encoding: Annotated[
            str, typer.Option("--encoding", help="utf-8 或 gbk（仅 csv）")
        ] = "utf-8",
        headers: Annotated[str, typer.Option("--headers", help="en 或 zh（仅 csv）")] = "en",
        no_recognitions: Annotated[
            bool, typer.Option("--no-recognitions", help="不模拟认定过程（无需规则引擎）")
        ] = False,
    ) -> None:
        """生成模拟武汉企业数据（七张输入表，可选注入缺陷）。"""
        from tiering.simulate import simulate_run
        from tiering.simulate.writer import write_city

        if fmt not in ("parquet", "csv"):
            raise typer.BadParameter("--format 只能是 parquet 或 csv")
        if encoding.lower() not in ("utf-8", "utf8", "gbk"):
            raise typer.BadParameter("--encoding 只能是 utf-8 或 gbk")
        if headers not in ("en", "zh"):
            raise typer.BadParameter("--headers 只能是 en 或 zh")
        enc = "gbk" if encoding.lower() == "gbk" else "utf-8"
        if fmt == "parquet" and (enc != "utf-8" or headers != "en"):
            raise typer.BadParameter("GBK 编码与中文列名仅适用于 --format csv")
        span = parse_years(years)
        t0 = time.perf_counter()
        sim = simulate_run(firms, seed, span, dirty=dirty, recognitions=not no_recognitions)
        args = {**sim.arguments, "format": fmt, "encoding": enc, "headers": headers}
        manifest = write_city(sim.tables, out, arguments=args, injected=sim.injected,
                              fmt=fmt, encoding=enc, headers=headers)  # fmt: skip
        typer.echo(f"已写入 {out}（{time.perf_counter() - t0:.1f} 秒）")
        for name, n in manifest["rows"].items():
            typer.echo(f"  {name}: {n:,} 行")
        if sim.injected is not None:
            typer.echo(f"  injected: {sim.injected.height:,} 处缺陷")
        if not no_recognitions:
            typer.echo("  期末有效称号：" + held_summary(sim.tables["recognitions"], span[1]))
