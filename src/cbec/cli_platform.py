"""Command line of the platform: the enterprise register and its certificates (`cbec enterprise …`), the
HTTP server (`cbec serve`) and the receipt delivery worker (`cbec deliver`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cbec.access import Principal
from cbec.ceb.errors import CebError
from cbec.cli_errors import fail, fail_with

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


cert_app = typer.Typer(
    help="企业签名证书备案 / signing certificates registered to enterprises.", no_args_is_help=True
)
enterprise_app.add_typer(cert_app, name="cert")

#: who the command line acts as in the audit log
_CLI = Principal(role="operator", name="cli")


@cert_app.command("add")
def cert_add(
    code: Annotated[str, typer.Argument(metavar="CODE", help="企业代码 / enterprise code.")],
    file: Annotated[Path, typer.Argument(metavar="FILE", help="X.509 证书 PEM/DER / certificate file.")],
) -> None:
    """为企业备案签名证书（RSA 或 SM2）。 Register a signing certificate (RSA or SM2) to an enterprise."""
    from cbec.access import audit
    from cbec.certificates import add_certificate
    from cbec.store.migrate import open_store

    if not file.is_file():
        fail("CBEC-0002", f"找不到文件 {file}", f"no such file: {file}")
    try:
        with open_store().transaction() as session:
            row = add_certificate(session, code, file.read_bytes())
            audit(session, _CLI, "certificate.add", [("certificate", row.fingerprint)], via="cli")
            typer.echo(
                f"已备案 / registered certificate {row.id} of {row.enterprise_code}: serial {row.serial}, "
                f"{row.key_type}, valid until {row.not_after:%Y-%m-%d}, sha256 {row.fingerprint[:16]}…"
            )
    except CebError as exc:
        fail_with(exc)


@cert_app.command("list")
def cert_list(
    code: Annotated[
        str | None, typer.Argument(metavar="[CODE]", help="企业代码（缺省为全部）/ enterprise code.")
    ] = None,
) -> None:
    """列出备案的签名证书。 List registered certificates."""
    from cbec.certificates import list_certificates
    from cbec.store.migrate import open_store

    table = Table(title="签名证书 / signing certificates")
    for column in (
        "id",
        "企业 / enterprise",
        "序列号 / serial",
        "算法 / key",
        "有效期至 / until",
        "状态 / status",
    ):
        table.add_column(column)
    with open_store().transaction() as session:
        for row in list_certificates(session, code):
            table.add_row(
                str(row.id),
                row.enterprise_code,
                row.serial,
                row.key_type,
                f"{row.not_after:%Y-%m-%d}",
                row.status,
            )
    Console(width=160).print(table)


@cert_app.command("revoke")
def cert_revoke(
    certificate_id: Annotated[int, typer.Argument(metavar="ID", help="证书编号 / certificate id.")],
) -> None:
    """吊销签名证书，此后其签名被拒。 Revoke a certificate: its signatures are refused from now on."""
    from cbec.access import audit
    from cbec.certificates import revoke_certificate
    from cbec.store.migrate import open_store

    try:
        with open_store().transaction() as session:
            row = revoke_certificate(session, certificate_id)
            audit(session, _CLI, "certificate.revoke", [("certificate", row.fingerprint)], via="cli")
    except CebError as exc:
        fail_with(exc)
    typer.echo(f"已吊销 / revoked certificate {certificate_id}")


def deliver(
    once: Annotated[bool, typer.Option("--once", help="只推送一轮 / one pass, then exit.")] = False,
    interval: Annotated[float, typer.Option("--interval", help="轮询间隔秒 / seconds between passes.")] = 5.0,
) -> None:
    """向企业订阅的地址推送回执（HMAC-SHA256 签名，失败重试）。 Push receipts to subscribed endpoints."""
    from cbec.delivery.service import deliver_once, run
    from cbec.store.migrate import open_store

    store = open_store()
    if once:
        stats = deliver_once(store)
        typer.echo(
            f"已推送 / delivered {stats.delivered}, 待重试 / failed {stats.failed}, "
            f"已放弃 / given up {stats.given_up}"
        )
        return
    try:
        run(store, interval=interval)
    except KeyboardInterrupt:
        typer.echo("已停止 / stopped", err=True)


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
    app.command()(deliver)
