"""The portal's pages. Each handler: who may use it, what it reads or changes, which template shows it."""

from __future__ import annotations

import logging
import math
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from cbec.access import ACCESS_ROLES, audit
from cbec.ceb.dxp import CST
from cbec.ceb.errors import CebError
from cbec.ceb.identity import mask_id
from cbec.clearance import reference
from cbec.clearance.documents import buyer_key
from cbec.clearance.queries import find, quota
from cbec.intake import Refused, admit
from cbec.privacy import mask_document
from cbec.registry import ROLES, RegistryError, add_enterprise
from cbec.store.models import AuditRow, DocumentRow, EnterpriseRow, ReferenceRow, UserRow
from cbec.users import UserError, add_user, authenticate, generate_password, set_password
from cbec.web import analytics, charts, i18n, queries, security
from cbec.web.app import (
    MAX_UPLOAD,
    PER_PAGE,
    PREFIX,
    Current,
    Portal,
    PortalError,
    _error_key,
    _safe_next,
    audit_now,
    check_csrf,
    enterprise_names,
    forbidden,
    lang_of,
    not_found,
    parse_day,
    read_upload,
    render,
    require,
)

log = logging.getLogger(__name__)

FormStr = Annotated[str, Form()]
OptForm = Annotated[str, Form()]
_ID = re.compile(r"\d{17}[\dX]\Z")

#: the comparison table of the detail page: label, then the field shown for order, payment, waybill, list
SIDE_BY_SIDE: tuple[tuple[str, str, tuple[str | None, str | None, str | None, str | None]], ...] = (
    ("订单编号", "Order no.", ("orderNo", "orderNo", "orderNo", "orderNo")),
    ("电商平台代码", "Platform code", ("ebpCode", "ebpCode", None, "ebpCode")),
    ("电商企业代码", "E-commerce company", ("ebcCode", None, None, "ebcCode")),
    ("支付企业代码", "Payment company", ("payCode", "payCode", None, None)),
    ("支付交易编号", "Payment transaction", ("payTransactionId", "payTransactionId", None, None)),
    ("物流企业代码", "Logistics company", (None, None, "logisticsCode", "logisticsCode")),
    ("物流运单编号", "Waybill no.", (None, None, "logisticsNo", "logisticsNo")),
    ("订购人/支付人姓名", "Buyer / payer name", ("buyerName", "payerName", None, "buyerName")),
    ("证件号码", "ID number", ("buyerIdNumber", "payerIdNumber", None, "buyerIdNumber")),
    ("订购人电话", "Buyer telephone", ("buyerTelephone", "telephone", None, "buyerTelephone")),
    ("收货人", "Consignee", ("consignee", None, "consignee", None)),
    ("收货地址", "Delivery address", ("consigneeAddress", None, "consigneeAddress", "consigneeAddress")),
    ("商品价格", "Goods value", ("goodsValue", None, None, "=lines")),
    ("运杂费", "Freight", ("freight", None, "freight", "freight")),
    ("实际支付 / 支付金额", "Paid", ("acturalPaid", "amountPaid", None, None)),
    ("币制", "Currency", ("currency", "currency", "currency", "currency")),
    ("担保企业代码", "Guarantor", (None, None, None, "assureCode")),
    ("申报时间", "Declared", ("appTime", "appTime", "appTime", "declTime")),
)
#: rows whose values differ by nature (times): never highlighted as a disagreement
NOT_COMPARED = frozenset({"申报时间"})


def register(router: APIRouter, portal: Portal) -> None:
    store = portal.store

    def page(
        request: Request, template: str, web: security.WebSession | None, status: int = 200, **kw: Any
    ) -> HTMLResponse:
        return render(portal, request, template, web, status, **kw)

    # -- sign in, sign out, language ------------------------------------------------------------------------

    @router.get("/login")
    def login_form(request: Request, next: str = "", expired: str = "") -> Response:
        token = security.new_token()
        notice = "login.expired" if expired else ("login.logged_out" if next == "bye" else "")
        response = page(
            request, "login.html", None, next=_safe_next(next), token=token, notice=notice, error=""
        )
        response.set_cookie(
            security.PRELOGIN_COOKIE,
            token,
            max_age=1800,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path=PREFIX,
        )
        return response

    @router.post("/login")
    def login(
        request: Request,
        login: OptForm = "",
        password: OptForm = "",
        csrf_token: OptForm = "",
        next: OptForm = "",
    ) -> Response:
        if not security.tokens_match(csrf_token, request.cookies.get(security.PRELOGIN_COOKIE)):
            raise _error_key(403, "error.csrf")
        login = login.strip()[:64]
        lang = lang_of(request)

        def refuse(status: int, error: str) -> Response:
            return page(
                request,
                "login.html",
                None,
                status,
                next=_safe_next(next),
                token=csrf_token,
                notice="",
                error=error,
                login=login,
            )

        with store.transaction() as session:
            left = security.locked_for(session, login)
        if left is not None:
            minutes = max(1, math.ceil(left.total_seconds() / 60))
            return refuse(429, i18n.text(lang, "login.locked", minutes=minutes))
        with store.transaction() as session:
            principal = authenticate(session, login, password)
            if principal is None:
                locked = security.record_failure(session, login, portal.policy)
            else:
                security.record_success(session, login)
                token = security.start_session(session, login, portal.policy)
        if principal is None:
            log.info("portal sign-in refused")
            if locked:
                minutes = math.ceil(portal.policy.lockout.total_seconds() / 60)
                return refuse(429, i18n.text(lang, "login.locked", minutes=minutes))
            return refuse(401, i18n.text(lang, "login.failed"))
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(
            security.SESSION_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        response.delete_cookie(security.PRELOGIN_COOKIE, path=PREFIX)
        return response

    @router.post("/logout")
    def logout(web: Current, csrf_token: OptForm = "") -> Response:
        check_csrf(web, csrf_token)
        with store.transaction() as session:
            security.end_session(session, web.id)
        response = RedirectResponse(f"{PREFIX}/login?next=bye", status_code=303)
        response.delete_cookie(security.SESSION_COOKIE, path="/")
        return response

    @router.get("/lang/{lang}")
    def switch_language(lang: str, next: str = "") -> Response:
        response = RedirectResponse(_safe_next(next), status_code=303)
        if lang in i18n.LANGS:
            response.set_cookie(security.LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
        return response

    # -- dashboard ------------------------------------------------------------------------------------------

    @router.get("/")
    def dashboard(request: Request, web: Current) -> HTMLResponse:
        lang = lang_of(request)
        with store.transaction() as session:
            board = queries.dashboard(session, web.principal, queries.today_cst())
        labels = [d.strftime("%m-%d") for d in board.days]
        msg_chart = charts.column_chart(
            labels,
            [charts.Series(i18n.text(lang, "dash.messages"), board.messages_by_day, charts.PALETTE[0])],
            title=i18n.text(lang, "dash.trend.messages"),
        )
        list_chart = charts.column_chart(
            labels,
            [
                charts.Series(i18n.text(lang, "dash.released"), board.released_by_day, charts.PALETTE[2]),
                charts.Series(i18n.text(lang, "dash.rejected"), board.rejected_by_day, charts.PALETTE[1]),
            ],
            title=i18n.text(lang, "dash.trend.lists"),
        )
        reason_chart = (
            charts.bar_list(board.reasons, title=i18n.text(lang, "dash.reasons")) if board.reasons else None
        )
        return page(
            request,
            "dashboard.html",
            web,
            board=board,
            msg_chart=msg_chart,
            list_chart=list_chart,
            reason_chart=reason_chart,
            days=len(board.days),
        )

    # -- search and detail ----------------------------------------------------------------------------------

    @router.get("/lists")
    def search(
        request: Request,
        web: Current,
        number: str = "",
        status: str = "",
        date_from: str = "",
        date_to: str = "",
        enterprise: str = "",
    ) -> HTMLResponse:
        require(web.principal.reads_all or web.principal.enterprise is not None)
        error = ""
        lang = lang_of(request)
        raw_page = request.query_params.get("page", "1")
        page_number = int(raw_page) if raw_page.isdigit() and 0 < int(raw_page) < 100000 else 1
        try:
            flt = queries.SearchFilter(
                number=number.strip()[:64],
                status=status if status in queries.LIST_STATUSES else "",
                date_from=parse_day(date_from),
                date_to=parse_day(date_to),
                enterprise=enterprise.strip().upper()[:18],
            )
        except PortalError as exc:
            error = i18n.pick(lang, exc.zh, exc.en)
            flt = queries.SearchFilter(number=number.strip()[:64])
        if flt.date_from and flt.date_to and flt.date_from > flt.date_to:
            error = i18n.text(lang, "search.bad_range")
        rows: list[DocumentRow] = []
        total = 0
        names: dict[str, str] = {}
        if not error:
            with store.transaction() as session:
                rows, total = queries.search(session, web.principal, flt, page_number, PER_PAGE)
                names = enterprise_names(session, {r.ebc_code for r in rows})
        pages = max(1, math.ceil(total / PER_PAGE))
        base = {
            k: v
            for k, v in (
                ("number", number),
                ("status", status),
                ("date_from", date_from),
                ("date_to", date_to),
                ("enterprise", enterprise),
            )
            if v
        }
        return page(
            request,
            "search.html",
            web,
            status=400 if error else 200,
            rows=rows,
            total=total,
            page=page_number,
            pages=pages,
            flt=flt,
            statuses=queries.LIST_STATUSES,
            names=names,
            query=base,
            error=error,
            raw={"date_from": date_from, "date_to": date_to},
        )

    @router.get("/lists/{number}")
    def detail(request: Request, web: Current, number: str) -> HTMLResponse:
        principal = web.principal
        require(principal.reads_all or principal.enterprise is not None)
        with store.transaction() as session:
            view = find(session, "list", number)
            if view is None or not principal.may_read(view.document.body):
                raise not_found(number[:64])
            listing = view.document
            found = queries.companions(session, listing)
            rules = queries.rule_results(session, listing, found, portal.engine.settings.certified_platforms)
            docs = {"order": found.order, "payment": found.payment, "waybill": found.waybill, "list": listing}
            shown = {k: d for k, d in docs.items() if d is not None and principal.may_read(d.body)}
            hidden = {k for k, d in docs.items() if d is not None and k not in shown}
            unmasked = principal.sees_personal
            if unmasked:
                audit(
                    session,
                    principal,
                    "personal.read",
                    [(d.kind, d.doc_key) for d in shown.values()],
                    via="portal",
                )
            bodies = {k: (d.body if unmasked else mask_document(d.body)) for k, d in shown.items()}
            heads = {k: queries.head(b) for k, b in bodies.items()}
            list_lines = queries.items(bodies.get("list"), "InventoryList")
            order_lines = queries.items(bodies.get("order"), "OrderList")
            table = []
            for zh, en, fields in SIDE_BY_SIDE:
                cells: list[str | None] = []
                for kind, name in zip(("order", "payment", "waybill", "list"), fields, strict=True):
                    if name is None:
                        cells.append(None)
                    elif name == "=lines":
                        cells.append(queries.line_total(list_lines) if kind in heads else "")
                    else:
                        cells.append(str(heads.get(kind, {}).get(name, "") or ""))
                present = {c for c in cells if c}
                table.append((zh, en, cells, len(present) > 1 and zh not in NOT_COMPARED))
            gnums = sorted(
                {str(x.get("gnum", "")) for x in list_lines + order_lines}, key=lambda g: (len(g), g)
            )
            by_gnum = {
                g: (
                    next((x for x in order_lines if str(x.get("gnum", "")) == g), None),
                    next((x for x in list_lines if str(x.get("gnum", "")) == g), None),
                )
                for g in gnums
            }
            timeline: list[tuple[datetime, str, str, str]] = [
                (e.at, "event", e.event, e.status or "") for e in view.events
            ]
            timeline += [
                (r.created_at, r.receipt_type, r.return_status, r.return_info) for r in view.receipts
            ]
            timeline.sort(key=lambda t: t[0])
            bills = list(view.tax_bills)
            names = enterprise_names(session, {listing.ebc_code, listing.ebp_code})
        return page(
            request,
            "detail.html",
            web,
            listing=listing,
            present=shown,
            hidden=hidden,
            heads=heads,
            table=table,
            rules=rules,
            timeline=timeline,
            bills=bills,
            by_gnum=by_gnum,
            unmasked=unmasked,
            names=names,
        )

    # -- manual review --------------------------------------------------------------------------------------

    @router.get("/review")
    def review_queue(request: Request, web: Current, done: str = "", receipts: str = "") -> HTMLResponse:
        require(web.principal.reviews)
        with store.transaction() as session:
            rows = queries.held_lists(session)
            names = enterprise_names(session, {r.ebc_code for r in rows})
        notice = ""
        if done:
            notice = i18n.text(lang_of(request), "review.done", invt=done[:40], receipts=receipts[:80])
        return page(request, "review.html", web, rows=rows, names=names, notice=notice, error="")

    @router.post("/review/{invt_no}")
    async def review_action(
        request: Request,
        web: Current,
        invt_no: str,
        action: OptForm = "",
        reason: OptForm = "",
        csrf_token: OptForm = "",
    ) -> Response:
        check_csrf(web, csrf_token)
        require(web.principal.reviews)
        reason = reason.strip()
        if action not in ("release", "reject", "inspect"):
            raise _error_key(400, "review.bad_action")
        if action == "reject" and not reason:
            raise _error_key(400, "review.reason.required")
        if len(reason) > 200:
            raise _error_key(400, "review.reason.too_long")
        try:
            answers = await run_in_threadpool(portal.engine.resolve, invt_no, action, reason)
        except CebError as exc:
            raise PortalError(409, exc.zh, exc.en) from exc
        await run_in_threadpool(audit_now, portal, web.principal, f"list.{action}", "list", invt_no)
        summary = ", ".join(f"{a.receipt_type} {a.status}" for a in answers)
        return RedirectResponse(
            f"{PREFIX}/review?{urlencode({'done': invt_no, 'receipts': summary})}", status_code=303
        )

    # -- enterprise register --------------------------------------------------------------------------------

    def registry_page(
        request: Request,
        web: security.WebSession,
        status: int = 200,
        error: str = "",
        notice: str = "",
        form: dict[str, Any] | None = None,
    ) -> HTMLResponse:
        with store.transaction() as session:
            rows = list(session.scalars(select(EnterpriseRow).order_by(EnterpriseRow.code)))
        return page(
            request,
            "registry.html",
            web,
            status,
            rows=rows,
            roles=ROLES,
            error=error,
            notice=notice,
            form=form or {},
        )

    @router.get("/registry")
    def registry(request: Request, web: Current, notice: str = "") -> HTMLResponse:
        require(web.principal.manages_register or web.principal.reads_all)
        return registry_page(request, web, notice=notice[:80])

    @router.post("/registry")
    async def registry_add(request: Request, web: Current) -> Response:
        form = await request.form()
        check_csrf(web, str(form.get("csrf_token", "")))
        require(web.principal.manages_register)
        code = str(form.get("code", "")).strip().upper()
        roles = [str(r) for r in form.getlist("roles")]
        values: dict[str, Any] = {
            "code": code,
            "name": str(form.get("name", "")),
            "credit_code": str(form.get("credit_code", "")).strip() or None,
            "zone": str(form.get("zone", "")).strip() or None,
            "roles": roles,
        }
        try:
            with store.transaction() as session:
                add_enterprise(
                    session,
                    code,
                    values["name"],
                    roles=roles,
                    credit_code=values["credit_code"],
                    zone=values["zone"],
                )
                audit(session, web.principal, "enterprise.add", [("enterprise", code)], via="portal")
        except RegistryError as exc:
            return registry_page(
                request, web, 400, error=i18n.pick(lang_of(request), exc.zh, exc.en), form=values
            )
        notice = i18n.text(lang_of(request), "reg.added", code=code)
        return RedirectResponse(f"{PREFIX}/registry?{urlencode({'notice': notice})}", status_code=303)

    @router.post("/registry/{code}/status")
    def registry_status(
        request: Request, web: Current, code: str, status: OptForm = "", csrf_token: OptForm = ""
    ) -> Response:
        check_csrf(web, csrf_token)
        require(web.principal.manages_register)
        if status not in ("active", "suspended"):
            raise forbidden()
        with store.transaction() as session:
            row = session.get(EnterpriseRow, code)
            if row is None:
                raise not_found(code[:18])
            row.status = status
            audit(session, web.principal, f"enterprise.{status}", [("enterprise", code)], via="portal")
        lang = lang_of(request)
        notice = i18n.text(lang, "reg.changed", code=code, status=i18n.text(lang, f"status.{status}"))
        return RedirectResponse(f"{PREFIX}/registry?{urlencode({'notice': notice})}", status_code=303)

    # -- positive list --------------------------------------------------------------------------------------

    def positive_page(
        request: Request, web: security.WebSession, status: int = 200, error: str = "", notice: str = ""
    ) -> HTMLResponse:
        with store.transaction() as session:
            merged = reference.positive_list(session)
            files = list(
                session.scalars(
                    select(ReferenceRow)
                    .where(ReferenceRow.kind == reference.POSITIVE_LIST)
                    .order_by(ReferenceRow.id.desc())
                )
            )
            versions = sorted(merged.versions, key=lambda v: v.effective, reverse=True) if merged else []
        return page(
            request, "positive.html", web, status, versions=versions, files=files, error=error, notice=notice
        )

    @router.get("/positive-list")
    def positive(request: Request, web: Current, notice: str = "") -> HTMLResponse:
        require(web.principal.manages_register or web.principal.reads_all)
        return positive_page(request, web, notice=notice[:120])

    @router.post("/positive-list")
    async def positive_upload(
        request: Request,
        web: Current,
        file: Annotated[UploadFile | None, File()] = None,
        csrf_token: OptForm = "",
    ) -> Response:
        check_csrf(web, csrf_token)
        require(web.principal.manages_register)
        lang = lang_of(request)
        name = Path(file.filename or "").name if file is not None else ""
        suffix = Path(name).suffix.lower()
        if not name:
            return positive_page(request, web, 400, error=i18n.text(lang, "pl.empty_file"))
        if suffix not in (".csv", ".xlsx"):
            return positive_page(request, web, 400, error=i18n.text(lang, "pl.bad_type"))
        data = await read_upload(file)
        if not data:
            return positive_page(request, web, 400, error=i18n.text(lang, "pl.empty_file"))

        def load() -> None:
            with tempfile.TemporaryDirectory(prefix="cbec-upload-") as folder:
                target = Path(folder) / name
                target.write_bytes(data)
                with store.transaction() as session:
                    reference.load(session, reference.POSITIVE_LIST, target)
                    audit(session, web.principal, "reference.load", [("positive-list", name)], via="portal")

        try:
            await run_in_threadpool(load)
        except CebError as exc:
            return positive_page(request, web, 400, error=i18n.pick(lang, exc.zh, exc.en))
        except (ValueError, OSError) as exc:
            message = str(exc)[:300]
            return positive_page(request, web, 400, error=message)
        notice = i18n.text(lang, "pl.done", name=name)
        return RedirectResponse(f"{PREFIX}/positive-list?{urlencode({'notice': notice})}", status_code=303)

    # -- personal quota -------------------------------------------------------------------------------------

    @router.get("/quota")
    def quota_form(request: Request, web: Current) -> HTMLResponse:
        require(web.principal.sees_personal)
        year = datetime.now(UTC).astimezone(CST).year
        return page(request, "quota.html", web, view=None, error="", year=year, name="")

    @router.post("/quota")
    def quota_lookup(
        request: Request,
        web: Current,
        id_number: OptForm = "",
        name: OptForm = "",
        year: OptForm = "",
        csrf_token: OptForm = "",
    ) -> HTMLResponse:
        check_csrf(web, csrf_token)
        require(web.principal.sees_personal)
        lang = lang_of(request)
        number = id_number.strip().upper()
        person = name.strip()
        this_year = datetime.now(UTC).astimezone(CST).year
        year_no = int(year) if year.strip().isdigit() else this_year

        def refuse(key: str) -> HTMLResponse:
            return page(
                request, "quota.html", web, 400, view=None, error=i18n.text(lang, key), year=year_no, name=""
            )

        if not _ID.match(number):
            return refuse("quota.bad_id")
        if not person or len(person) > 100:
            return refuse("quota.bad_name")
        if not 2000 <= year_no <= this_year + 1:
            return refuse("quota.bad_year")
        with store.transaction() as session:
            key = buyer_key(number)
            bodies = session.scalars(
                select(DocumentRow.body)
                .where(DocumentRow.kind == "list", DocumentRow.buyer_key == key)
                .limit(50)
            ).all()
            known = {str(queries.head(b).get("buyerName", "")).strip() for b in bodies} - {""}
            if known and person not in known:
                return refuse("quota.mismatch")
            view = quota(session, number, year_no)
            audit(session, web.principal, "personal.read", [("quota", mask_id(number))], via="portal")
        return page(request, "quota.html", web, view=view, error="", year=year_no, name="")

    # -- message upload -------------------------------------------------------------------------------------

    @router.get("/upload")
    def upload_form(request: Request, web: Current) -> HTMLResponse:
        if web.principal.enterprise is None:
            raise _error_key(403, "up.only_enterprise")
        return page(request, "upload.html", web, result=None, error="")

    @router.post("/upload")
    async def upload(
        request: Request,
        web: Current,
        file: Annotated[UploadFile | None, File()] = None,
        content: OptForm = "",
        csrf_token: OptForm = "",
    ) -> HTMLResponse:
        check_csrf(web, csrf_token)
        code = web.principal.enterprise
        if code is None:
            raise _error_key(403, "up.only_enterprise")
        lang = lang_of(request)
        data = await read_upload(file)
        if not data.strip():
            data = content.encode("utf-8")
        if len(data) > MAX_UPLOAD:
            return page(
                request,
                "upload.html",
                web,
                413,
                result=None,
                error=i18n.text(lang, "up.too_large", limit=MAX_UPLOAD),
            )
        if not data.strip():
            return page(request, "upload.html", web, 400, result=None, error=i18n.text(lang, "up.empty"))
        try:
            result = await run_in_threadpool(admit, portal.engine, data, code, source=f"portal:{code}")
        except Refused as exc:
            error = i18n.pick(lang, exc.zh, exc.en)
            return page(request, "upload.html", web, 403, result=None, error=error)
        return page(request, "upload.html", web, result=result, error="")

    # -- users ----------------------------------------------------------------------------------------------

    def users_page(
        request: Request,
        web: security.WebSession,
        status: int = 200,
        error: str = "",
        notice: str = "",
        form: dict[str, str] | None = None,
    ) -> HTMLResponse:
        with store.transaction() as session:
            rows = list(session.scalars(select(UserRow).order_by(UserRow.login)))
            enterprises = list(session.scalars(select(EnterpriseRow).order_by(EnterpriseRow.code)))
        return page(
            request,
            "users.html",
            web,
            status,
            rows=rows,
            enterprises=enterprises,
            roles=ACCESS_ROLES,
            error=error,
            notice=notice,
            form=form or {},
        )

    @router.get("/users")
    def users(request: Request, web: Current, notice: str = "") -> HTMLResponse:
        require(web.principal.manages_users)
        return users_page(request, web, notice=notice[:120])

    @router.post("/users")
    def users_add(
        request: Request,
        web: Current,
        login: OptForm = "",
        name: OptForm = "",
        role: OptForm = "",
        enterprise: OptForm = "",
        csrf_token: OptForm = "",
    ) -> HTMLResponse:
        check_csrf(web, csrf_token)
        require(web.principal.manages_users)
        form = {"login": login, "name": name, "role": role, "enterprise": enterprise}
        try:
            with store.transaction() as session:
                row, secret = add_user(
                    session,
                    login.strip(),
                    role=role,
                    name=name.strip() or None,
                    enterprise_code=enterprise.strip() or None,
                )
                audit(session, web.principal, "user.add", [("user", row.login)], via="portal")
        except UserError as exc:
            return users_page(request, web, 400, error=i18n.pick(lang_of(request), exc.zh, exc.en), form=form)
        return page(request, "secret.html", web, login=row.login, secret=secret)

    @router.post("/users/{login}/status")
    def users_status(
        request: Request, web: Current, login: str, status: OptForm = "", csrf_token: OptForm = ""
    ) -> Response:
        check_csrf(web, csrf_token)
        require(web.principal.manages_users)
        if status not in ("active", "disabled"):
            raise forbidden()
        if login == web.principal.name and status == "disabled":
            raise _error_key(400, "users.self")
        with store.transaction() as session:
            row = session.get(UserRow, login)
            if row is None:
                raise not_found(login[:64])
            row.status = status
            if status == "disabled":
                security.end_user_sessions(session, login)
            audit(session, web.principal, f"user.{status}", [("user", login)], via="portal")
        lang = lang_of(request)
        notice = i18n.text(lang, "users.changed", login=login, status=i18n.text(lang, f"status.{status}"))
        return RedirectResponse(f"{PREFIX}/users?{urlencode({'notice': notice})}", status_code=303)

    @router.post("/users/{login}/reset")
    def users_reset(request: Request, web: Current, login: str, csrf_token: OptForm = "") -> HTMLResponse:
        check_csrf(web, csrf_token)
        require(web.principal.manages_users)
        secret = generate_password()
        with store.transaction() as session:
            if session.get(UserRow, login) is None:
                raise not_found(login[:64])
            set_password(session, login, secret)
            security.end_user_sessions(session, login)
            audit(session, web.principal, "user.passwd", [("user", login)], via="portal")
        return page(request, "secret.html", web, login=login, secret=secret)

    @router.get("/password")
    def password_form(request: Request, web: Current) -> HTMLResponse:
        return page(request, "password.html", web, error="", notice="")

    @router.post("/password")
    def password_change(
        request: Request,
        web: Current,
        current: OptForm = "",
        new: OptForm = "",
        again: OptForm = "",
        csrf_token: OptForm = "",
    ) -> HTMLResponse:
        check_csrf(web, csrf_token)
        lang = lang_of(request)
        if new != again:
            return page(request, "password.html", web, 400, error=i18n.text(lang, "pw.mismatch"), notice="")
        try:
            with store.transaction() as session:
                if authenticate(session, web.principal.name, current) is None:
                    raise UserError(i18n.text("zh", "pw.wrong"), i18n.text("en", "pw.wrong"))
                set_password(session, web.principal.name, new)
                audit(session, web.principal, "user.passwd", [("user", web.principal.name)], via="portal")
        except UserError as exc:
            return page(request, "password.html", web, 400, error=i18n.pick(lang, exc.zh, exc.en), notice="")
        return page(request, "password.html", web, error="", notice=i18n.text(lang, "pw.done"))

    # -- audit log ------------------------------------------------------------------------------------------

    @router.get("/audit")
    def audit_log(request: Request, web: Current, actor: str = "", action: str = "") -> HTMLResponse:
        require(web.principal.reads_all)
        raw_page = request.query_params.get("page", "1")
        page_number = int(raw_page) if raw_page.isdigit() and 0 < int(raw_page) < 100000 else 1
        per_page = 50
        query = select(AuditRow)
        if actor.strip():
            query = query.where(AuditRow.actor == actor.strip()[:64])
        if action.strip():
            query = query.where(AuditRow.action == action.strip()[:64])
        with store.transaction() as session:
            total = queries.count(session, query)
            rows = list(
                session.scalars(
                    query.order_by(AuditRow.id.desc()).offset((page_number - 1) * per_page).limit(per_page)
                )
            )
        pages = max(1, math.ceil(total / per_page))
        base = {k: v for k, v in (("actor", actor), ("action", action)) if v}
        return page(
            request,
            "audit.html",
            web,
            rows=rows,
            total=total,
            page=page_number,
            pages=pages,
            actor=actor,
            action=action,
            query=base,
        )

    # -- statistics, assessment and the zone registry (cbec.web.analytics) ---------------------------------

    analytics.register(router, portal)

    # -- anything else under /portal: a page of ours, not the API's JSON 404 --------------------------------

    @router.get("/{rest:path}")
    def unknown(rest: str) -> HTMLResponse:
        raise not_found(f"/portal/{rest[:80]}")
