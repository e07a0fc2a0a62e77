"""Entry point of the ``tiering`` console command.

Why a registry of modules: each area (rules, simulate, validate, train, score, serve, …) keeps its
commands in its own small module with a ``register(app)`` function; heavy libraries (GX, MLflow,
sklearn) are imported inside the command functions so ``tiering --help`` stays fast.
"""

from __future__ import annotations

import importlib
import os

import typer

# Offline everywhere: no telemetry, no DNS look-ups from MLflow or GX.
for _var, _val in (
    ("MLFLOW_DISABLE_TELEMETRY", "true"),
    ("DO_NOT_TRACK", "true"),
    ("GX_ANALYTICS_ENABLED", "false"),
):
    os.environ.setdefault(_var, _val)

app = typer.Typer(
    name="tiering",
    help="梯度培育：中小企业梯度认定规则、学习型评分、批量运行与服务接口。",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)

# Modules under tiering.cli that define ``register(app: typer.Typer) -> None``.
COMMAND_MODULES: tuple[str, ...] = ("rules", "serve", "validate", "simulate", "score", "models")

for _name in COMMAND_MODULES:
    importlib.import_module(f"tiering.cli.{_name}").register(app)


if __name__ == "__main__":  # pragma: no cover - convenience
    app()
