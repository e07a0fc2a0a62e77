"""``tiering serve``, ``tiering keys create|list|revoke`` and ``tiering audit tail``.

Why here: operators run the API and manage its keys from the same command as the batch. A new key
is printed once (only its keyed hash is stored); ``keys list`` shows ids, roles, districts, labels
and the non-secret prefix. FastAPI, uvicorn and SQLAlchemy are imported inside the commands so
``tiering --help`` stays fast.
"""

from __future__ import annotations

import typer

__all__ = ["register"]

keys_app = typer.Typer(help="API密钥：创建（仅显示一次）、列出、吊销。", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志：谁在何时查看了哪些企业的涉税数据。", no_args_is_help=True)


def _store():
    from tiering.settings import get_settings
    from tiering.store import Store

    store = Store(settings=get_settings())
    store.upgrade()
    return store


def serve(
    host: str = typer.Option("127.0.0.1", help="监听地址（默认仅本机）"),
    port: int = typer.Option(8000, min=1, max=65535, help="端口"),
    log_level: str = typer.Option("info", help="日志级别"),
) -> None:
    """启动HTTP服务（FastAPI + uvicorn，单进程；多进程请在前面加网关或进程管理器）。"""
    import uvicorn

    from api.app import create_app
    from api.logging import configure_logging
    from tiering.settings import get_settings

    configure_logging(log_level.upper())
    uvicorn.run(
        create_app(get_settings()),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
    )


@keys_app.command("create")
def keys_create(
    role: str = typer.Option(..., help="角色：bureau（市局）| district（区）| station（服务站）"),
    districts: str = typer.Option("", help="辖区代码，逗号分隔，如 420111,420106（bureau 不填）"),
    label: str = typer.Option(..., help="说明，如 “洪山区关山街服务站”"),
) -> None:
    """创建API密钥并打印一次（请立即妥善保存，之后无法再次查看）。"""
    from tiering.errors import TieringError

    codes = [d.strip() for d in districts.split(",") if d.strip()]
    try:
        principal, key = _store().create_principal(role, codes, label)
    except TieringError as e:
        typer.echo(f"错误：{e.message}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"id={principal.id} role={principal.role} districts={','.join(principal.districts) or '全市'}"
    )
    typer.echo("密钥（仅显示这一次）：", err=True)
    typer.echo(key)


@keys_app.command("list")
def keys_list(all_: bool = typer.Option(True, "--all/--active", help="是否包含已吊销")) -> None:
    """列出密钥（不含密钥本身）。"""
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "前缀", "角色", "辖区", "说明", "创建时间", "吊销时间")
    for p in _store().list_principals(include_revoked=all_):
        table.add_row(
            str(p.id),
            p.key_prefix + "…",
            p.role,
            ",".join(p.districts) or "全市",
            p.label,
            p.created_at.isoformat(timespec="seconds"),
            p.revoked_at.isoformat(timespec="seconds") if p.revoked_at else "",
        )
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(principal_id: int = typer.Argument(..., help="密钥 id（见 keys list）")) -> None:
    """吊销密钥（运行中的服务在30秒内生效）。"""
    if not _store().revoke_principal(principal_id):
        typer.echo(f"密钥 {principal_id} 不存在或已吊销", err=True)
        raise typer.Exit(1)
    typer.echo(f"已吊销密钥 {principal_id}")


@audit_app.command("tail")
def audit_tail(
    n: int = typer.Option(20, "-n", min=1, max=10_000, help="条数"),
    principal: int | None = typer.Option(None, help="仅看某个密钥 id"),
) -> None:
    """最近的审计记录（新的在前）。"""
    from rich.console import Console
    from rich.table import Table

    table = Table("时间", "密钥id", "接口", "企业数", "企业")
    for e in _store().tail_audit(n, principal_id=principal):
        shown = ",".join(e.firms[:3]) + (f" …(+{e.n_firms - 3})" if e.n_firms > 3 else "")
        table.add_row(
            e.at.isoformat(timespec="seconds"),
            str(e.principal_id),
            e.endpoint,
            str(e.n_firms),
            shown,
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Attach ``serve``, ``keys`` and ``audit`` to the main app."""
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")
