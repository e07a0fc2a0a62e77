"""``tiering train``, ``tiering evaluate`` and ``tiering models list | promote``.

Why thin: the commands parse options and print with rich; the work is in
:mod:`models.pipeline` and :mod:`models.registry`. scikit-learn, MLflow and polars are imported
inside the commands so ``tiering --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["metrics_table", "register"]

models_app = typer.Typer(
    help="学习型评分模型：列出已登记版本、晋升冠军（models list / promote）。", no_args_is_help=True
)

_COLUMNS = (
    ("target", "目标"),
    ("year", "年份"),
    ("model", "模型"),
    ("positives", "正样本"),
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("brier", "Brier"),
    ("ece", "ECE"),
    ("precision_at_200", "P@200"),
    ("recall_at_200", "R@200"),
    ("precision_at_1000", "P@1000"),
    ("recall_at_1000", "R@1000"),
)


def _console():
    """A rich console wide enough for the metrics table even when piped to a file."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=160)


def _fail(exc: Exception) -> None:
    typer.secho(f"错误：{exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def metrics_table(metrics, title: str = "回测指标"):
    """A rich table of the backtest metrics (one row per target × year × model)."""
    from rich.table import Table

    table = Table(title=title)
    cols = [(c, h) for c, h in _COLUMNS if c in metrics.columns]
    for _, h in cols:
        table.add_column(h, justify="right" if h not in ("目标", "模型") else "left")
    for row in metrics.sort("target", "year", "model").iter_rows(named=True):
        cells = []
        for c, _ in cols:
            v = row[c]
            if v is None or (isinstance(v, float) and v != v):
                cells.append("—")
            elif c == "positives" or c == "year":
                cells.append(str(int(v)))
            elif isinstance(v, float):
                cells.append(f"{v:.4f}" if c != "brier" else f"{v:.5f}")
            else:
                cells.append(str(v))
        table.add_row(*cells)
    return table


def train_cmd(
    data: Path = typer.Option(..., "--data", "-d", help="输入表目录（<table>.parquet）"),
    until: int | None = typer.Option(
        None, "--until", help="最后一个用于校准的目标年份（默认：最新）"
    ),
    tracking_uri: str | None = typer.Option(
        None, "--tracking-uri", help="MLflow 存储（默认：设置中的 SQLite）"
    ),
    max_iter: int = typer.Option(200, "--max-iter", help="梯度提升最大迭代次数"),
    no_backtest: bool = typer.Option(False, "--no-backtest", help="跳过滚动回测（仅训练最终模型）"),
) -> None:
    """训练各目标模型（训练 ≤ until−1 年、校准 until 年），记录到 MLflow 并登记为 challenger。"""
    from models.pipeline import train

    console = _console()
    try:
        res = train(data, until=until, tracking_uri=tracking_uri, params={"max_iter": max_iter},
                    run_backtest=not no_backtest)  # fmt: skip
    except (FileNotFoundError, ValueError) as e:
        _fail(e)
    if res.backtest.metrics.height:
        console.print(metrics_table(res.backtest.metrics))
    for t, v in res.versions.items():
        console.print(
            f"已登记 tiering-{t} 版本 {v}（challenger，校准：{res.models[t].calibration_method_}）"
        )
    for t, why in res.skipped.items():
        console.print(f"[yellow]{t}：未训练，{why}；该目标仅按规则判定[/yellow]")
    console.print("制造业单项冠军：正样本过少，不建模型，仅按规则判定。")
    console.print(f"MLflow 运行 {res.run_id}；训练数据指纹 {res.fingerprint[:16]}…")


def evaluate_cmd(
    data: Path = typer.Option(..., "--data", "-d", help="输入表目录（<table>.parquet）"),
    until: int | None = typer.Option(None, "--until", help="最后一个目标年份（默认：最新）"),
    max_iter: int = typer.Option(200, "--max-iter", help="梯度提升最大迭代次数"),
    plots: Path | None = typer.Option(None, "--plots", help="校准图 PNG 输出目录"),
    slices: bool = typer.Option(False, "--slices", help="同时打印按区、行业门类的切片指标"),
) -> None:
    """滚动回测（训练 ≤ T−2、校准 T−1、测试 T）：打印模型与基线的指标表。"""
    from models.pipeline import evaluate

    console = _console()
    try:
        _, bt = evaluate(data, until=until, params={"max_iter": max_iter}, plot_dir=plots)
    except (FileNotFoundError, ValueError) as e:
        _fail(e)
    if bt.metrics.height == 0:
        _fail(ValueError("没有可回测的年份（至少需要三个有结果的目标年份）"))
    console.print(metrics_table(bt.metrics))
    if slices and bt.slices.height:
        console.print(bt.slices)
    console.print(
        "hgb = 梯度提升（校准后）；logistic = 逻辑回归基线；rule = 规则得分/距线排序基线。"
    )
    console.print("P@k/R@k：按全市 100 万户口径的走访能力 k 折算到本数据的企业数。")


def list_cmd(
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow 存储"),
) -> None:
    """列出每个目标已登记的模型版本、别名（champion/challenger）、SHA-256 与回测指标。"""
    from rich.table import Table

    from models.registry import list_models
    from models.tracking import configure

    configure(tracking_uri)
    rows = list_models()
    if rows.height == 0:
        typer.echo("尚无登记的模型（先运行 tiering train）。")
        return
    table = Table(title="已登记模型")
    for c in ("target", "version", "aliases", "created", "sha256", "calibration", "latest_year",
              "pr_auc", "brier"):  # fmt: skip
        table.add_column(c)
    for r in rows.iter_rows(named=True):
        table.add_row(*[("—" if r[c] is None else (f"{r[c]:.4f}" if isinstance(r[c], float) else str(r[c])))
                        for c in ("target", "version", "aliases", "created", "sha256", "calibration",
                                  "latest_year", "pr_auc", "brier")])  # fmt: skip
    _console().print(table)


def promote_cmd(
    target: list[str] = typer.Argument(None, help="目标（默认：全部）"),
    by: str | None = typer.Option(None, "--by", help="操作人（默认：当前系统用户）"),
    note: str = typer.Option("", "--note", help="备注（写入晋升台账）"),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow 存储"),
    ledger: Path | None = typer.Option(
        None, "--ledger", help="晋升台账（默认：<home>/model_promotions.jsonl）"
    ),
) -> None:
    """挑战者在最近共同回测年份上 PR-AUC 更高（持平看 Brier 更低）时才晋升为冠军；每次决定写入台账。"""
    from mlflow.exceptions import MlflowException

    from models.registry import promote
    from models.targets import TARGETS
    from models.tracking import configure
    from tiering.errors import TieringError

    configure(tracking_uri)
    for t in target or TARGETS:
        try:
            d = promote(t, by=by, note=note, ledger=ledger)
        except (TieringError, MlflowException, ValueError) as e:
            typer.secho(f"{t}：{getattr(e, 'message', e)}", fg=typer.colors.YELLOW)
            continue
        mark = "已晋升" if d.promoted else "未晋升"
        typer.echo(
            f"{t}：{mark}（挑战者 v{d.challenger}，原冠军 v{d.champion_before}）— {d.reason}"
        )


def register(app: typer.Typer) -> None:
    """Attach the model commands to the main app."""
    app.command("train")(train_cmd)
    app.command("evaluate")(evaluate_cmd)
    models_app.command("list")(list_cmd)
    models_app.command("promote")(promote_cmd)
    app.add_typer(models_app, name="models")
