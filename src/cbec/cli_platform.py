"""Command line of the platform: the enterprise register and its certificates (`cbec enterprise …`), the
HTTP server (`cbec serve`) and the receipt delivery worker (`cbec deliver`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cbec.access import Principal
from cbec.ceb.errors import CebError
from cbec.cli_errors import fail, fail_with
from cbec.runtime import tune_gc

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
    app = create_app(store)
    tune_gc()
    uvicorn.run(app, host=host, port=port, log_level="info")


def register(app: typer.Typer) -> None:
    app.add_typer(enterprise_app, name="enterprise")
    app.command()(serve)
    app.command()(deliver)
    register_portal(app)


# ---- portal users and the platform start -------------------------------------------------------------

user_app = typer.Typer(help="门户用户 / portal users (login, role, password).", no_args_is_help=True)


@user_app.command("add")
def user_add(
    login: Annotated[str, typer.Argument(metavar="LOGIN", help="登录名 / login.")],
    role: Annotated[
        str, typer.Option("--role", help="enterprise | regulator | operator | admin（角色 / access role）.")
    ],
    name: Annotated[str | None, typer.Option("--name", help="姓名 / display name.")] = None,
    enterprise: Annotated[
        str | None, typer.Option("--enterprise", help="所属企业代码（企业用户）/ enterprise code.")
    ] = None,
) -> None:
    """新增门户用户，密码自动生成且只显示这一次。 Add a portal user; the password is generated and
    shown once."""
    from cbec.store.migrate import open_store
    from cbec.users import add_user

    try:
        with open_store().transaction() as session:
            row, secret = add_user(session, login, role=role, name=name, enterprise_code=enterprise)
            session.flush()
            _audit_cli(session, "user.add", row.login)
    except CebError as exc:
        fail_with(exc)
    typer.echo(f"已创建 / created {row.login} ({row.role})")
    typer.echo(f"密码 / password: {secret}")
    typer.echo("请妥善保存：密码只显示这一次 / keep it safe: it is shown this once only", err=True)


@user_app.command("passwd")
def user_passwd(
    login: Annotated[str, typer.Argument(metavar="LOGIN", help="登录名 / login.")],
) -> None:
    """重置密码：生成新密码并只显示这一次，该用户的门户会话全部结束。 Reset a password: a new one is generated
    and shown once; the user's portal sessions end."""
    from cbec.store.migrate import open_store
    from cbec.users import generate_password, set_password
    from cbec.web.security import end_user_sessions

    secret = generate_password()
    try:
        with open_store().transaction() as session:
            set_password(session, login, secret)
            end_user_sessions(session, login)
            _audit_cli(session, "user.passwd", login)
    except CebError as exc:
        fail_with(exc)
    typer.echo(f"新密码 / new password for {login}: {secret}")
    typer.echo("请妥善保存：密码只显示这一次 / keep it safe: it is shown this once only", err=True)


@user_app.command("disable")
def user_disable(
    login: Annotated[str, typer.Argument(metavar="LOGIN", help="登录名 / login.")],
) -> None:
    """停用用户并结束其会话。 Disable a user and end their portal sessions."""
    from cbec.store.migrate import open_store
    from cbec.store.models import UserRow
    from cbec.web.security import end_user_sessions

    with open_store().transaction() as session:
        row = session.get(UserRow, login)
        if row is None:
            fail("CBEC-0602", f"用户 {login} 不存在", f"user {login} does not exist")
        row.status = "disabled"
        end_user_sessions(session, login)
        _audit_cli(session, "user.disabled", login)
    typer.echo(f"已停用 / disabled {login}")


@user_app.command("list")
def user_list() -> None:
    """列出门户用户。 List portal users."""
    from sqlalchemy import select

    from cbec.store.migrate import open_store
    from cbec.store.models import UserRow

    table = Table(title="门户用户 / portal users")
    for column in ("登录名 / login", "姓名 / name", "角色 / role", "企业 / enterprise", "状态 / status"):
        table.add_column(column)
    with open_store().transaction() as session:
        for row in session.scalars(select(UserRow).order_by(UserRow.login)):
            table.add_row(row.login, row.name, row.role, row.enterprise_code or "", row.status)
    Console().print(table)


def _audit_cli(session: Any, action: str, login: str) -> None:
    from cbec.access import Principal, audit

    audit(session, Principal(role="admin", name="cli"), action, [("user", login)], via="cli")


def start(
    host: Annotated[str, typer.Option("--host", help="监听地址 / address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口 / port.")] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo/--no-demo", help="首次启动时载入演示数据 / load the demo dataset once.")
    ] = True,
    demo_lists: Annotated[int, typer.Option("--demo-lists", help="演示清单数 / demo lists.")] = 400,
) -> None:
    """启动平台（门户与 API）：建库、首次创建管理员（密码只显示一次）、载入演示数据。
    Start the platform: database, the administrator on first start (password shown once), the demo
    dataset, then serve portal and API."""
    import uvicorn

    from cbec.api.app import create_app
    from cbec.store.db import data_dir
    from cbec.store.migrate import open_store
    from cbec.web.setup import StartReport, ensure_admin, ensure_demo_users, load_demo_dataset

    if not 1 <= demo_lists <= 100_000:
        fail("CBEC-0005", "--demo-lists 应在 1 到 100000 之间", "--demo-lists must be within 1..100000")
    store = open_store()
    report = StartReport()
    ensure_admin(store, report)
    if demo:

        def announce() -> None:
            typer.echo(
                "载入演示数据（模拟近 7 日报文，首次约需 1 分钟）"
                "/ loading the demo dataset (simulated, last 7 days)…"
            )

        def progress(done: int, total: int) -> None:
            typer.echo(f"  {done}/{total} 报文 / messages")

        load_demo_dataset(
            store, data_dir() / "demo-data", report, lists=demo_lists, progress=progress, announce=announce
        )
        ensure_demo_users(store, report)
        if report.demo_skipped:
            typer.echo("演示数据已存在，未重复载入 / the demo dataset is already loaded")
        else:
            statuses = ", ".join(f"{k} {v}" for k, v in sorted(report.demo_statuses.items()))
            typer.echo(f"演示数据 / demo dataset: {report.demo_lists} 份清单 / lists ({statuses})")
            assessed = ", ".join(map(str, report.demo_assessed)) or "—"
            typer.echo(
                f"综试区 / zones {report.demo_zones}; 归属企业 / enterprises linked {report.demo_linked}; "
                f"考核年度 / assessed {assessed} ({report.demo_zone_seconds:.1f} s)"
            )
    url = f"http://{host}:{port}/portal/"
    rule = "=" * 78
    typer.echo(rule)
    typer.echo(f"门户 / portal: {url}    API: http://{host}:{port}/docs")
    if report.new_passwords:
        typer.echo("新建用户的密码只显示这一次，请立即记下 / new passwords, shown this once only:")
        for login, role, secret in report.new_passwords:
            typer.echo(f"  {login:<12} {role:<11} {secret}")
    for login, role in report.existing_users:
        typer.echo(f"  {login:<12} {role:<11} 已存在 / exists — 重置 / reset: cbec user passwd {login}")
    typer.echo(rule)
    app = create_app(store)
    tune_gc()
    uvicorn.run(app, host=host, port=port, log_level="info")


def register_portal(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.command()(start)
