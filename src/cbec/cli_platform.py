"""Command line of the platform: the enterprise register (`cbec enterprise …`) and the HTTP server
(`cbec serve`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cbec.ceb.errors import CebError
from cbec.cli_errors import fail_with

enterprise_app = typer.Typer(help="企业备案 / the enterprise register and API keys.", no_args_is_help=True)


@enterprise_app.command("add")
def enterprise_add(
    code: Annotated[
        str, typer.Argument(metavar="CODE", help="海关代码或统一社会信用代码 / customs or credit code.")
    ],
    name: Annotated[str, typer.Argument(metavar="NAME", help="企业名称 / registered name.")],
    role: Annotated[
        list[str],
        typer.Option(
            "--role", help="角色，可多次 / role, repeatable: ebp ebc pay logistics agent assure operator."
        ),
    ],
    credit_code: Annotated[
        str | None, typer.Option("--credit-code", help="统一社会信用代码 / credit code.")
    ] = None,
    zone: Annotated[str | None, typer.Option("--zone", help="综试区 / pilot zone.")] = None,
) -> None:
    """企业备案。 Register an enterprise."""
    from cbec.registry import add_enterprise
    from cbec.store.migrate import open_store

    try:
        with open_store().transaction() as session:
            row = add_enterprise(session, code, name, roles=role, credit_code=credit_code, zone=zone)
            typer.echo(f"已备案 / registered {row.code} {row.name} ({', '.join(row.roles)})")
    except CebError as exc:
        fail_with(exc)


@enterprise_app.command("key")
def enterprise_key(
    code: Annotated[str, typer.Argument(metavar="CODE", help="企业代码 / enterprise code.")],
) -> None:
    """签发 API 密钥（只显示这一次）。 Issue an API key; it is shown this once only."""
    from cbec.registry import issue_key
    from cbec.store.migrate import open_store

    try:
        with open_store().transaction() as session:
            key = issue_key(session, code)
    except CebError as exc:
        fail_with(exc)
    typer.echo(key)
    typer.echo("请妥善保存：密钥只显示这一次 / keep it safe: the key is shown this once only", err=True)


@enterprise_app.command("revoke")
def enterprise_revoke(
    code: Annotated[str, typer.Argument(metavar="CODE", help="企业代码 / enterprise code.")],
) -> None:
    """吊销企业的全部 API 密钥。 Revoke every API key of an enterprise."""
    from cbec.registry import revoke_keys
    from cbec.store.migrate import open_store

    with open_store().transaction() as session:
        count = revoke_keys(session, code)
    typer.echo(f"已吊销 / revoked {count}")


@enterprise_app.command("list")
def enterprise_list() -> None:
    """列出已备案企业。 List registered enterprises."""
    from sqlalchemy import select

    from cbec.store.migrate import open_store
    from cbec.store.models import EnterpriseRow

    table = Table(title="企业备案 / enterprise register")
    for column in ("代码 / code", "名称 / name", "角色 / roles", "综试区 / zone", "状态 / status"):
        table.add_column(column)
    with open_store().transaction() as session:
        for row in session.scalars(select(EnterpriseRow).order_by(EnterpriseRow.code)):
            table.add_row(row.code, row.name, ", ".join(row.roles), row.zone or "", row.status)
    Console().print(table)


def serve(
    host: Annotated[str, typer.Option("--host", help="监听地址 / address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口 / port.")] = 8000,
) -> None:
    """启动 HTTP API（OpenAPI 文档在 /docs）。 Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from cbec.api.app import create_app
    from cbec.store.migrate import open_store

    store = open_store()
    uvicorn.run(create_app(store), host=host, port=port, log_level="info")


def register(app: typer.Typer) -> None:
    app.add_typer(enterprise_app, name="enterprise")
    app.command()(serve)
