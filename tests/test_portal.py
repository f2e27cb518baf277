"""The web portal over TestClient: sign-in, sessions, CSRF, roles, masking and audit, bad input."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cbec.ceb import examples, render
from cbec.clearance import queries
from cbec.privacy import mask_value
from cbec.store.db import Store
from cbec.store.models import (
    AuditRow,
    DocumentRow,
    EnterpriseRow,
    MessageRow,
    ReceiptRow,
    ReferenceRow,
    UserRow,
    WebSessionRow,
)
from portal_helpers import OTHER, Platform, build_platform, client_for, csrf_of, sign_in


@pytest.fixture
def platform(store: Store, tmp_path: Path) -> Platform:
    return build_platform(store, tmp_path)


def _count(store: Store, model: type, *where: object) -> int:
    with store.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def _status(store: Store, invt_no: str) -> str:
    with store.transaction() as session:
        row = session.scalars(
            select(DocumentRow).where(DocumentRow.invt_no == invt_no, DocumentRow.current.is_(True))
        ).one()
        return row.status


# ---- sign-in and sessions ------


def test_pages_need_a_login_and_the_root_leads_to_the_portal(platform: Platform) -> None:
    client = client_for(platform.store)
    assert client.get("/").headers["location"] == "/portal/"
    answer = client.get("/portal/lists")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/portal/login?next=")


def test_wrong_password_is_refused_in_both_languages_and_starts_no_session(platform: Platform) -> None:
    client = client_for(platform.store)
    token = csrf_of(client.get("/portal/login").text)
    answer = client.post(
        "/portal/login", data={"login": "reg", "password": "wrong-password", "csrf_token": token}
    )
    assert answer.status_code == 401
    assert "登录名或密码错误" in answer.text
    assert _count(platform.store, WebSessionRow) == 0
    client.cookies.set("cbec_lang", "en")
    answer = client.post("/portal/login", data={"login": "nobody", "password": "x", "csrf_token": token})
    assert answer.status_code == 401 and "wrong login or password" in answer.text


def test_login_form_without_its_token_is_403(platform: Platform) -> None:
    client = client_for(platform.store)
    client.get("/portal/login")
    answer = client.post("/portal/login", data={"login": "reg", "password": platform.passwords["reg"]})
    assert answer.status_code == 403
    assert _count(platform.store, WebSessionRow) == 0


def test_repeated_failures_lock_the_login(platform: Platform) -> None:
    client = client_for(platform.store)
    token = csrf_of(client.get("/portal/login").text)
    for _ in range(5):
        client.post("/portal/login", data={"login": "reg", "password": "not-it-at-all", "csrf_token": token})
    answer = client.post(
        "/portal/login", data={"login": "reg", "password": platform.passwords["reg"], "csrf_token": token}
    )
    assert answer.status_code == 429 and "分钟后再试" in answer.text
    assert _count(platform.store, WebSessionRow) == 0


def test_session_cookie_is_httponly_strict_and_only_its_hash_is_stored(platform: Platform) -> None:
    client = client_for(platform.store)
    token = csrf_of(client.get("/portal/login").text)
    answer = client.post(
        "/portal/login", data={"login": "reg", "password": platform.passwords["reg"], "csrf_token": token}
    )
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    value = client.cookies.get("cbec_session")
    assert value
    with platform.store.transaction() as session:
        row = session.scalars(select(WebSessionRow)).one()
        assert row.token_hash != value and len(row.token_hash) == 64


def test_idle_session_expires_and_logout_ends_it(platform: Platform) -> None:
    client = client_for(platform.store)
    csrf = sign_in(client, "reg", platform.passwords["reg"])
    with platform.store.transaction() as session:
        row = session.scalars(select(WebSessionRow)).one()
        row.last_seen_at = row.last_seen_at - timedelta(minutes=31)
    answer = client.get("/portal/lists")
    assert answer.status_code == 303 and "expired=1" in answer.headers["location"]
    assert "会话已过期" in client.get(answer.headers["location"]).text

    csrf = sign_in(client, "reg", platform.passwords["reg"])
    assert client.post("/portal/logout", data={}).status_code == 403  # logout is a form too
    assert client.post("/portal/logout", data={"csrf_token": csrf}).status_code == 303
    assert client.get("/portal/").status_code == 303


def test_security_headers_and_no_open_redirect(platform: Platform) -> None:
    client = client_for(platform.store)
    page = client.get("/portal/login")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'none'" in page.headers["content-security-policy"]
    assert "<script" not in page.text
    token = csrf_of(page.text)
    answer = client.post(
        "/portal/login",
        data={
            "login": "reg",
            "password": platform.passwords["reg"],
            "csrf_token": token,
            "next": "//evil.example",
        },
    )
    assert answer.headers["location"] == "/portal/"
    assert client.get("/portal/lang/en?next=https://evil.example").headers["location"] == "/portal/"
    assert client.get("/portal/static/portal.css").status_code == 200


def test_language_switch_gives_english_pages(platform: Platform) -> None:
    client = client_for(platform.store)
    sign_in(client, "reg", platform.passwords["reg"])
    assert "工作台" in client.get("/portal/").text
    client.get("/portal/lang/en?next=/portal/")
    page = client.get("/portal/").text
    assert "Dashboard" in page and "Release rate" in page


# ---- declarations: who sees what ------


def test_enterprise_sees_its_list_masked_and_unaudited(platform: Platform) -> None:
    client = client_for(platform.store)
    sign_in(client, "ent", platform.passwords["ent"])
    found = client.get(f"/portal/lists?number={platform.trade.order_no}")
    assert found.status_code == 200 and platform.released in found.text
    page = client.get(f"/portal/lists/{platform.released}")
    assert page.status_code == 200
    buyer = platform.trade.buyer
    for personal in (buyer.id_number, buyer.name, buyer.telephone, buyer.address):
        assert personal not in page.text
    assert mask_value("buyerIdNumber", buyer.id_number) in page.text
    assert "CEB816" in page.text and "9101" in page.text  # timeline and the rule table
    assert _count(platform.store, AuditRow, AuditRow.action == "personal.read") == 0


def test_regulator_sees_personal_data_and_the_view_is_audited(platform: Platform) -> None:
    client = client_for(platform.store)
    sign_in(client, "reg", platform.passwords["reg"])
    page = client.get(f"/portal/lists/{platform.released}")
    assert page.status_code == 200 and platform.trade.buyer.id_number in page.text
    with platform.store.transaction() as session:
        rows = session.scalars(select(AuditRow).where(AuditRow.action == "personal.read")).all()
        assert {r.subject_kind for r in rows} == {"order", "payment", "waybill", "list"}
        assert all(r.actor == "reg" and r.via == "portal" for r in rows)


def test_another_enterprise_gets_404_and_may_not_review(platform: Platform) -> None:
    client = client_for(platform.store)
    csrf = sign_in(client, "other", platform.passwords["other"])
    assert client.get(f"/portal/lists/{platform.released}").status_code == 404
    assert client.get(f"/portal/lists/{platform.trade.order_no}").status_code == 404
    listing = client.get(f"/portal/lists?number={platform.trade.order_no}")
    assert platform.released not in listing.text
    assert client.get("/portal/review").status_code == 403
    answer = client.post(f"/portal/review/{platform.held}", data={"action": "release", "csrf_token": csrf})
    assert answer.status_code == 403
    assert _status(platform.store, platform.held) == "review"


def test_operator_sees_no_documents(platform: Platform) -> None:
    client = client_for(platform.store)
    sign_in(client, "oper", platform.passwords["oper"])
    assert client.get(f"/portal/lists/{platform.released}").status_code == 403


def test_search_filters_and_bad_dates(platform: Platform) -> None:
    client = client_for(platform.store)
    sign_in(client, "reg", platform.passwords["reg"])
    held = client.get("/portal/lists?status=review")
    assert platform.held in held.text and platform.released not in held.text
    bad = client.get("/portal/lists?date_from=2026-13-01")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text
    backwards = client.get("/portal/lists?date_from=2026-11-30&date_to=2026-11-01")
    assert backwards.status_code == 400
    assert client.get("/portal/lists?enterprise=1101960ZZZ").status_code == 200


# ---- manual review ------


def test_review_without_or_with_a_wrong_csrf_token_is_403_and_changes_nothing(platform: Platform) -> None:
    client = client_for(platform.store)
    sign_in(client, "reg", platform.passwords["reg"])
    receipts = _count(platform.store, ReceiptRow)
    for data in ({"action": "release"}, {"action": "release", "csrf_token": "forged"}):
        answer = client.post(f"/portal/review/{platform.held}", data=data)
        assert answer.status_code == 403 and "安全令牌" in answer.text
    assert _status(platform.store, platform.held) == "review"
    assert _count(platform.store, ReceiptRow) == receipts


def test_csrf_token_of_another_session_is_refused(platform: Platform) -> None:
    first, second = client_for(platform.store), client_for(platform.store)
    foreign = sign_in(first, "admin", platform.passwords["admin"])
    sign_in(second, "reg", platform.passwords["reg"])
    answer = second.post(f"/portal/review/{platform.held}", data={"action": "release", "csrf_token": foreign})
    assert answer.status_code == 403 and _status(platform.store, platform.held) == "review"


def test_regulator_releases_a_held_list_with_its_receipt(platform: Platform) -> None:
    client = client_for(platform.store)
    csrf = sign_in(client, "reg", platform.passwords["reg"])
    queue = client.get("/portal/review")
    assert platform.held in queue.text
    answer = client.post(f"/portal/review/{platform.held}", data={"action": "release", "csrf_token": csrf})
    assert answer.status_code == 303
    page = client.get(answer.headers["location"])
    assert "CEB622 800" in page.text and "CEB816" in page.text
    assert _status(platform.store, platform.held) == "released"
    assert _count(platform.store, AuditRow, AuditRow.action == "list.release") == 1


def test_reject_needs_a_reason_then_answers_1300(platform: Platform) -> None:
    client = client_for(platform.store)
    csrf = sign_in(client, "admin", platform.passwords["admin"])
    answer = client.post(f"/portal/review/{platform.held}", data={"action": "reject", "csrf_token": csrf})
    assert answer.status_code == 400 and "退单须填写原因" in answer.text
    assert _status(platform.store, platform.held) == "review"
    answer = client.post(
        f"/portal/review/{platform.held}", data={"action": "reject", "reason": "单证不符", "csrf_token": csrf}
    )
    assert answer.status_code == 303 and _status(platform.store, platform.held) == "rejected"
    with platform.store.transaction() as session:
        last = session.scalars(select(ReceiptRow).order_by(ReceiptRow.id.desc())).first()
        assert last is not None and last.return_status == "100" and "1300" in last.return_info
    again = client.post(f"/portal/review/{platform.held}", data={"action": "release", "csrf_token": csrf})
    assert again.status_code == 409  # no longer held: a clear refusal, nothing changes
    assert _status(platform.store, platform.held) == "rejected"


def test_inspection_order_answers_500_and_keeps_the_list_held(platform: Platform) -> None:
    client = client_for(platform.store)
    csrf = sign_in(client, "reg", platform.passwords["reg"])
    answer = client.post(f"/portal/review/{platform.held}", data={"action": "inspect", "csrf_token": csrf})
    assert answer.status_code == 303 and "500" in answer.headers["location"]
    assert _status(platform.store, platform.held) == "inspection"
    bad = client.post(f"/portal/review/{platform.held}", data={"action": "explode", "csrf_token": csrf})
    assert bad.status_code == 400
    again = client.post(f"/portal/review/{platform.held}", data={"action": "inspect", "csrf_token": csrf})
    assert again.status_code == 409 and "只有待审核的清单" in again.text
    assert _status(platform.store, platform.held) == "inspection"
    released = client.post(f"/portal/review/{platform.held}", data={"action": "release", "csrf_token": csrf})
    assert released.status_code == 303 and _status(platform.store, platform.held) == "released"


# ---- quota ------


def test_quota_for_regulators_only_audited_and_checked(platform: Platform) -> None:
    buyer = platform.trade.buyer
    client = client_for(platform.store)
    csrf = sign_in(client, "reg", platform.passwords["reg"])
    page = client.post(
        "/portal/quota",
        data={"id_number": buyer.id_number, "name": buyer.name, "year": "2026", "csrf_token": csrf},
    )
    assert page.status_code == 200 and "26,000.00" in page.text and platform.released in page.text
    assert buyer.id_number not in page.text
    assert _count(platform.store, AuditRow, AuditRow.subject_kind == "quota") == 1
    wrong = client.post(
        "/portal/quota",
        data={"id_number": buyer.id_number, "name": "别人", "year": "2026", "csrf_token": csrf},
    )
    assert wrong.status_code == 400 and "姓名与身份证号码不一致" in wrong.text
    bad = client.post("/portal/quota", data={"id_number": "12345", "name": "x", "csrf_token": csrf})
    assert bad.status_code == 400 and "18 位" in bad.text
    assert (
        client.post("/portal/quota", data={"id_number": buyer.id_number, "name": buyer.name}).status_code
        == 403
    )
    assert _count(platform.store, AuditRow, AuditRow.subject_kind == "quota") == 1

    ent = client_for(platform.store)
    sign_in(ent, "ent", platform.passwords["ent"])
    assert ent.get("/portal/quota").status_code == 403


# ---- upload ------


def test_enterprise_uploads_its_message_and_sees_the_receipt(platform: Platform) -> None:
    client = client_for(platform.store)
    csrf = sign_in(client, "ent", platform.passwords["ent"])
    order = render(examples.ceb311(examples.Trade(order_no="UPLOAD1", pay_transaction_id="UPPAY1")))
    page = client.post(
        "/portal/upload", data={"csrf_token": csrf}, files={"file": ("order.xml", order, "application/xml")}
    )
    assert page.status_code == 200 and "CEB312" in page.text and "120" in page.text
    again = client.post("/portal/upload", data={"csrf_token": csrf, "content": order.decode()})
    assert again.status_code == 200 and "重复报文" in again.text


def test_an_unsigned_list_uploaded_in_the_portal_is_refused_like_over_the_api(platform: Platform) -> None:
    """The portal admits messages through the same rules as the API (`cbec.intake`): a list must be signed
    with a certificate registered to the sender."""
    client = client_for(platform.store)
    csrf = sign_in(client, "ent", platform.passwords["ent"])
    mine = examples.Trade(order_no="UPLOAD3", agent=examples.EBC)
    page = client.post(
        "/portal/upload", data={"csrf_token": csrf, "content": render(examples.ceb621(mine)).decode()}
    )
    assert page.status_code == 200 and "-621029" in page.text
    with platform.store.transaction() as session:
        assert queries.find(session, "list", "UPLOAD3") is None


def test_upload_in_another_enterprises_name_or_empty_is_refused_and_not_stored(platform: Platform) -> None:
    client = client_for(platform.store)
    csrf = sign_in(client, "other", platform.passwords["other"])
    before = _count(platform.store, MessageRow)
    order = render(examples.ceb311(examples.Trade(order_no="UPLOAD2")))
    page = client.post("/portal/upload", data={"csrf_token": csrf, "content": order.decode()})
    assert page.status_code == 403 and "copCode" in page.text
    assert client.post("/portal/upload", data={"csrf_token": csrf, "content": "  "}).status_code == 400
    assert client.post("/portal/upload", data={"content": order.decode()}).status_code == 403
    assert _count(platform.store, MessageRow) == before
    reg = client_for(platform.store)
    sign_in(reg, "reg", platform.passwords["reg"])
    assert reg.get("/portal/upload").status_code == 403


# ---- register, positive list, users ------


def test_operator_registers_and_suspends_enterprises(platform: Platform) -> None:
    client = client_for(platform.store)
    csrf = sign_in(client, "oper", platform.passwords["oper"])
    bad = client.post("/portal/registry", data={"code": "bad", "name": "", "csrf_token": csrf})
    assert bad.status_code == 400 and "10位海关代码" in bad.text
    assert _count(platform.store, EnterpriseRow) == 2
    added = client.post(
        "/portal/registry",
        data={"code": "3101960ABC", "name": "新企业", "roles": ["ebc", "ebp"], "csrf_token": csrf},
    )
    assert added.status_code == 303
    assert client.post("/portal/registry/3101960ABC/status", data={"status": "suspended"}).status_code == 403
    changed = client.post(
        "/portal/registry/3101960ABC/status", data={"status": "suspended", "csrf_token": csrf}
    )
    assert changed.status_code == 303
    with platform.store.transaction() as session:
        row = session.get(EnterpriseRow, "3101960ABC")
        assert row is not None and row.status == "suspended" and sorted(row.roles) == ["ebc", "ebp"]
    ent = client_for(platform.store)
    token = sign_in(ent, "ent", platform.passwords["ent"])
    refused = ent.post(
        "/portal/registry", data={"code": "3101960ABD", "name": "x", "roles": "ebc", "csrf_token": token}
    )
    assert refused.status_code == 403


def test_positive_list_upload_checks_the_whole_file(platform: Platform) -> None:
    client = client_for(platform.store)
    csrf = sign_in(client, "oper", platform.passwords["oper"])
    before = _count(platform.store, ReferenceRow)
    good = "tariff_line,name,remark,version,effective_date\n33049900,化妆品,,V2,2026-01-01\n".encode()
    bad = "tariff_line,name,remark,version,effective_date\nnot-a-line,化妆品,,V2,2026-01-01\n".encode()
    refused = client.post("/portal/positive-list", data={"csrf_token": csrf}, files={"file": ("v2.csv", bad)})
    assert refused.status_code == 400
    wrong_type = client.post(
        "/portal/positive-list", data={"csrf_token": csrf}, files={"file": ("v2.txt", good)}
    )
    assert wrong_type.status_code == 400 and ".csv" in wrong_type.text
    assert _count(platform.store, ReferenceRow) == before
    loaded = client.post("/portal/positive-list", data={"csrf_token": csrf}, files={"file": ("v2.csv", good)})
    assert loaded.status_code == 303
    page = client.get("/portal/positive-list")
    assert "V2" in page.text and "v2.csv" in page.text


def test_admin_adds_a_user_whose_password_is_shown_once_and_works(platform: Platform) -> None:
    client = client_for(platform.store)
    csrf = sign_in(client, "admin", platform.passwords["admin"])
    bad = client.post("/portal/users", data={"login": "x", "role": "king", "csrf_token": csrf})
    assert bad.status_code == 400 and "登录名" in bad.text
    page = client.post(
        "/portal/users", data={"login": "clerk", "name": "Clerk", "role": "regulator", "csrf_token": csrf}
    )
    assert page.status_code == 200
    secret = page.text.split('id="secret">', 1)[1].split("<", 1)[0]
    with platform.store.transaction() as session:
        row = session.get(UserRow, "clerk")
        assert row is not None and secret not in row.password_hash
    other = client_for(platform.store)
    sign_in(other, "clerk", secret)
    assert (
        client.post("/portal/users/admin/status", data={"status": "disabled", "csrf_token": csrf}).status_code
        == 400
    )
    reg = client_for(platform.store)
    token = sign_in(reg, "reg", platform.passwords["reg"])
    assert (
        reg.post("/portal/users", data={"login": "z1z", "role": "admin", "csrf_token": token}).status_code
        == 403
    )


def test_disabling_a_user_ends_their_session(platform: Platform) -> None:
    admin, user = client_for(platform.store), client_for(platform.store)
    csrf = sign_in(admin, "admin", platform.passwords["admin"])
    sign_in(user, "reg", platform.passwords["reg"])
    assert (
        admin.post("/portal/users/reg/status", data={"status": "disabled", "csrf_token": csrf}).status_code
        == 303
    )
    assert user.get("/portal/").status_code == 303


def test_every_page_renders_for_admin(platform: Platform) -> None:
    client = client_for(platform.store)
    sign_in(client, "admin", platform.passwords["admin"])
    for path in (
        "/portal/",
        "/portal/lists",
        "/portal/review",
        "/portal/registry",
        "/portal/positive-list",
        "/portal/quota",
        "/portal/users",
        "/portal/password",
        "/portal/statistics",
        "/portal/audit",
        "/portal/assessment",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "跨境电商线上综合服务平台" in page.text


def test_no_personal_data_in_logs(platform: Platform, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    buyer = platform.trade.buyer
    client = client_for(platform.store)
    csrf = sign_in(client, "reg", platform.passwords["reg"])
    client.get(f"/portal/lists/{platform.released}")
    client.post("/portal/quota", data={"id_number": buyer.id_number, "name": buyer.name, "csrf_token": csrf})
    client.post("/portal/quota", data={"id_number": buyer.id_number, "name": "别人", "csrf_token": csrf})
    ent = client_for(platform.store)
    token = sign_in(ent, "ent", platform.passwords["ent"])
    ent.post(
        "/portal/upload",
        data={
            "csrf_token": token,
            "content": render(
                examples.ceb311(examples.Trade(order_no="LOG1", pay_transaction_id="LOGPAY"))
            ).decode(),
        },
    )
    ent.post("/portal/login", data={"login": buyer.name, "password": buyer.id_number, "csrf_token": "x"})
    for personal in (buyer.id_number, buyer.name, buyer.telephone, buyer.address, platform.passwords["reg"]):
        assert personal not in caplog.text


def test_other_enterprise_sees_only_its_own_counts(platform: Platform) -> None:
    client = client_for(platform.store)
    sign_in(client, "other", platform.passwords["other"])
    page = client.get("/portal/")
    assert page.status_code == 200 and "仅统计本企业" in page.text
    with platform.store.transaction() as session:
        assert session.get(EnterpriseRow, OTHER) is not None


def test_audit_log_page_lists_unmasked_views_for_regulators_only(platform: Platform) -> None:
    client = client_for(platform.store)
    sign_in(client, "reg", platform.passwords["reg"])
    client.get(f"/portal/lists/{platform.released}")
    page = client.get("/portal/audit?action=personal.read")
    assert page.status_code == 200 and page.text.count("personal.read") >= 4
    assert platform.trade.buyer.id_number not in page.text
    assert "<tbody>" not in client.get("/portal/audit?actor=nobody").text
    ent = client_for(platform.store)
    sign_in(ent, "ent", platform.passwords["ent"])
    assert ent.get("/portal/audit").status_code == 403


def test_positive_list_upload_takes_xlsx(platform: Platform, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["tariff_line", "name", "remark", "version", "effective_date"])
    sheet.append(["33049900", "化妆品", "", "X1", "2026-02-01"])
    path = tmp_path / "x1.xlsx"
    book.save(path)
    client = client_for(platform.store)
    csrf = sign_in(client, "admin", platform.passwords["admin"])
    loaded = client.post(
        "/portal/positive-list", data={"csrf_token": csrf}, files={"file": ("x1.xlsx", path.read_bytes())}
    )
    assert loaded.status_code == 303, loaded.text
    assert "X1" in client.get("/portal/positive-list").text


def test_unknown_portal_page_is_a_bilingual_404_page(platform: Platform) -> None:
    client = client_for(platform.store)
    page = client.get("/portal/no-such-page")
    assert page.status_code == 404 and "未找到" in page.text and "not found" in page.text
    assert client.get("/api/v1/health").json() == {"status": "ok"}


def test_signing_in_again_clears_the_users_expired_sessions(platform: Platform) -> None:
    client = client_for(platform.store)
    sign_in(client, "reg", platform.passwords["reg"])
    with platform.store.transaction() as session:
        row = session.scalars(select(WebSessionRow)).one()
        row.expires_at = row.created_at - timedelta(minutes=1)
    sign_in(client_for(platform.store), "reg", platform.passwords["reg"])
    assert _count(platform.store, WebSessionRow) == 1
