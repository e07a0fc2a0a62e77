"""``tiering assess`` and ``tiering rules list | show | diff``.

Why thin: the commands parse options, read/write parquet and print; the logic lives in
:mod:`tiering.engine` and :mod:`tiering.diff`. polars and the packs are imported inside the
commands so ``tiering --help`` stays fast.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer

__all__ = ["register"]

rules_app = typer.Typer(
    help="规则包：列出、查看、比较（rules list / show / diff）。", no_args_is_help=True
)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"日期须为 YYYY-MM-DD，收到“{value}”") from None


def _read_frame(path: Path):
    import polars as pl

    if not path.exists():
        raise typer.BadParameter(f"找不到输入文件 {path}")
    return pl.scan_parquet(path)


def _fail(exc: Exception) -> None:
    typer.secho(f"错误：{exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def assess_cmd(
    input: Path = typer.Option(
        ..., "--input", "-i", help="评估数据（§11 assessment frame，parquet）"
    ),
    as_of: str = typer.Option(..., "--as-of", help="评估日期 YYYY-MM-DD"),
    out: Path = typer.Option(..., "--out", "-o", help="输出目录：criteria/tiers/firms.parquet"),
    application: str = typer.Option("new", "--application", help="new（新申报）或 review（复核）"),
    packs: str | None = typer.Option(
        None, "--packs", help="逗号分隔的规则包；默认为评估日有效的规则包"
    ),
) -> None:
    """按规则包评估企业，写出 criteria.parquet、tiers.parquet、firms.parquet。"""
    from tiering.engine import assess
    from tiering.errors import TieringError

    day = _date(as_of)
    if application not in ("new", "review"):
        raise typer.BadParameter("--application 须为 new 或 review")
    chosen = [p.strip() for p in packs.split(",") if p.strip()] if packs else None
    try:
        a = assess(_read_frame(input), day, packs=chosen, application=application)  # type: ignore[arg-type]
        paths = a.write(out)
    except TieringError as exc:
        _fail(exc)
        return
    verdicts = a.tiers.group_by("pack", "verdict").len().sort("pack", "verdict")
    typer.echo(
        f"评估日期 {day}（{application}），规则包：{', '.join(a.packs)}；企业 {a.firms.height} 家"
    )
    for row in verdicts.iter_rows(named=True):
        typer.echo(f"  {row['pack']:<20} {row['verdict']:<13} {row['len']}")
    for name, p in paths.items():
        typer.echo(f"{name}: {p}")


@rules_app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="以 JSON 输出")) -> None:
    """列出全部规则包（标签、版本、依据文件）。"""
    from tiering.pack_loader import list_packs, pack_metadata

    metas = [pack_metadata(p) for p in list_packs()]
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        k: m.get(k)
                        for k in ("id", "kind", "tier", "label", "source", "version", "effective")
                    }
                    for m in metas
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    for m in metas:
        tier = m.get("tier") or m["kind"]
        typer.echo(f"{m['id']:<18} {tier:<13} {m['label']}  —  {m['source']}")


def _rule_text(rule: dict) -> str:
    return json.dumps(rule, ensure_ascii=False, separators=(",", ":"))


@rules_app.command("show")
def show_cmd(
    pack: str = typer.Argument(..., help="规则包 id，如 specialized-2026"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """显示一个规则包的条款：编号、标签、阈值/分档、依据。"""
    from tiering.errors import PackError
    from tiering.pack_loader import pack_metadata

    try:
        m = pack_metadata(pack)
    except PackError as exc:
        _fail(exc)
        return
    if as_json:
        typer.echo(json.dumps(m, ensure_ascii=False, indent=2, default=str))
        return
    typer.echo(f"{m['id']}  {m['label']}")
    typer.echo(f"依据：{m['source']}   版本：{m['version']}")
    if m.get("notes"):
        typer.echo(f"说明：{m['notes']}")
    if m.get("pass_mark") is not None:
        typer.echo(f"及格分：{m['pass_mark']}")
    for d in m.get("dimensions", []):
        extra = f"，不低于 {d['min_points']} 分" if d.get("min_points") is not None else ""
        typer.echo(f"  维度 {d['name']}：满分 {d['max_points']}{extra}")
    for c in m.get("criteria", []):
        pts = f"（{c['max_points']}分）" if c.get("max_points") is not None else ""
        typer.echo(f"[{c['id']}] {c['label']}{pts}  <{c['role']}> {c['source']}")
        typer.echo(f"      {_rule_text(c['rule'])}")
    if "rule" in m:
        typer.echo(_rule_text(m["rule"]))


@rules_app.command("diff")
def diff_cmd(
    input: Path = typer.Option(..., "--input", "-i", help="评估数据（parquet）"),
    from_pack: str = typer.Option(..., "--from", help="原规则包，如 specialized-2022"),
    to_pack: str = typer.Option(..., "--to", help="新规则包，如 specialized-2026"),
    as_of: str = typer.Option(None, "--as-of", help="评估日期（默认今天）"),
    application: str = typer.Option("new", "--application", help="new 或 review"),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="输出文件：.xlsx（多表）、.csv 或 .parquet（变化企业明细）"
    ),
) -> None:
    """比较两个规则包：哪些企业结论变化、由哪些条款引起，按区和行业统计。"""
    from tiering.diff import rules_diff
    from tiering.errors import TieringError

    day = _date(as_of) if as_of else dt.date.today()
    try:
        d = rules_diff(_read_frame(input), from_pack, to_pack, day, application=application)
    except TieringError as exc:
        _fail(exc)
        return
    typer.echo(f"{from_pack} → {to_pack}（{day}）：结论变化企业 {d.firms.height} 家")
    for row in d.transitions.iter_rows(named=True):
        typer.echo(f"  {row['verdict_from']:<13} → {row['verdict_to']:<13} {row['len']}")
    if d.by_district.height:
        typer.echo("按区：")
        for row in d.by_district.head(15).iter_rows(named=True):
            typer.echo(
                f"  {row['district']}  增 {row['gain']}  减 {row['loss']}  其他 {row['other']}"
            )
    if d.by_criterion.height:
        typer.echo("主要原因条款：")
        for row in d.by_criterion.head(15).iter_rows(named=True):
            typer.echo(f"  {row['criterion_id']:<10} {row['change']:<6} {row['len']}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        suffix = out.suffix.lower()
        if suffix == ".xlsx":
            d.write_xlsx(str(out))
        elif suffix == ".csv":
            d.firms.with_columns(d.firms["causes"].list.join("、")).write_csv(out)
        else:
            d.firms.write_parquet(out)
        typer.echo(f"已写出：{out}")


def register(app: typer.Typer) -> None:
    """Attach ``assess`` and the ``rules`` group to the main app."""
    app.command("assess")(assess_cmd)
    app.add_typer(rules_app, name="rules")
