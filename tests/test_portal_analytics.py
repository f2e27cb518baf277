"""The portal's statistics, assessment and zone pages over TestClient: who may see them, bad queries, the
numbers against `cbec.stats.portal.table_for`, a stored assessment's ranking and scorecards, empty states and
the downloads."""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cbec.assess.maths import TIERS
from cbec.stats.portal import table_for
from cbec.store.db import Store
from cbec.web.app import _money
from portal_helpers import NAMES, Platform, build_platform, client_for, sign_in, with_zones

ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
TAG = re.compile(r"<[^>]+>")


@pytest.fixture
def platform(store: Store, tmp_path: Path) -> Platform:
    return build_platform(store, tmp_path)


def _client(platform: Platform, login: str, lang: str = "zh") -> TestClient:
    client = client_for(platform.store)
    sign_in(client, login, platform.passwords[login])
    client.cookies.set("cbec_lang", lang)
    return client


def _table(page: str, table_id: str) -> list[list[str]]:
    found = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', page, re.S)
    assert found, f"no table {table_id}"
    return [
        [html.unescape(TAG.sub("", c)).strip() for c in CELL.findall(row)]
        for row in ROW.findall(found.group(1))
    ]


# ---- access ----

PAGES = (
    "/portal/statistics",
    "/portal/statistics/export.csv",
    "/portal/statistics/export.xlsx",
    "/portal/assessment",
    "/portal/assessment?year=2026",
    "/portal/assessment/2026/za",
    "/portal/assessment/2026/za/scorecard.png",
    "/portal/assessment/2026/report.html",
    "/portal/assessment/2026/report.xlsx",
    "/portal/zones",
)


@pytest.mark.parametrize("login", ["ent", "oper"])
def test_enterprise_and_operator_users_are_refused(platform: Platform, tmp_path: Path, login: str) -> None:
    with_zones(platform, tmp_path)
    client = _client(platform, login)
    for path in PAGES:
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "测试" not in answer.text and "1,300.25" not in answer.text
        assert answer.headers["content-type"].startswith("text/html")
    assert "/portal/statistics" not in client.get("/portal/").text


def test_regulator_and_admin_reach_every_page(platform: Platform, tmp_path: Path) -> None:
    with_zones(platform, tmp_path)
    for login in ("reg", "admin"):
        client = _client(platform, login)
        for path in PAGES:
            assert client.get(path).status_code == 200, (login, path)
        nav = client.get("/portal/").text
        assert 'href="/portal/statistics"' in nav and 'href="/portal/assessment"' in nav


def test_pages_need_a_login(platform: Platform) -> None:
    client = client_for(platform.store)
    for path in PAGES:
        assert client.get(path).status_code == 303, path


# ---- bad queries ----


@pytest.mark.parametrize(
    ("query", "zh", "en"),
    [
        ("by=bogus", "统计维度无效", "unknown dimension"),
        ("by=total", "统计维度无效", "unknown dimension"),
        ("period=week", "统计周期应为", "the period must be"),
        ("start=2026-13-01", "日期格式应为", "dates must be written"),
        ("start=2026-03-01&end=2026-01-01", "起始日期晚于截止日期", "the start date is after the end date"),
        ("zone=../etc", "综试区代码无效", "not a pilot zone code"),
        ("top=0", "排名数应为", "Top N must be"),
        ("top=abc", "排名数应为", "Top N must be"),
        ("top=99999999999999999999", "排名数应为", "Top N must be"),
    ],
)
def test_bad_statistics_queries_are_explained_in_both_languages(
    platform: Platform, query: str, zh: str, en: str
) -> None:
    for lang, phrase in (("zh", zh), ("en", en)):
        client = _client(platform, "reg", lang)
        page = client.get(f"/portal/statistics?{query}")
        assert page.status_code == 400
        assert 'role="alert"' in page.text and phrase in html.unescape(page.text)
        for kind in ("csv", "xlsx"):
            export = client.get(f"/portal/statistics/export.{kind}?{query}")
            assert export.status_code == 400
            assert phrase in html.unescape(export.text)


def test_bad_assessment_years_are_explained(platform: Platform, tmp_path: Path) -> None:
    with_zones(platform, tmp_path)
    for lang, phrase in (("zh", "考核年度应为"), ("en", "the year must be")):
        client = _client(platform, "reg", lang)
        for year in ("abc", "20261", "1999", "-1"):
            page = client.get(f"/portal/assessment?year={year}")
            assert page.status_code == 400 and phrase in page.text
    client = _client(platform, "reg")
    assert client.get("/portal/assessment/abc/za").status_code == 404
    assert client.get("/portal/assessment/abc/report.html").status_code == 404
    assert client.get("/portal/assessment/2026/nowhere").status_code == 404
    assert client.get("/portal/assessment/2026/nowhere/scorecard.png").status_code == 404
    assert client.get("/portal/assessment/2019/report.html").status_code == 404
    assert client.get("/portal/assessment/9999/report.xlsx").status_code == 404


# ---- the numbers ----


@pytest.mark.parametrize(
    ("by", "period"), [("zone", "year"), ("zone", "month"), ("chapter", "quarter"), ("enterprise", "year")]
)
def test_statistics_table_equals_table_for(platform: Platform, tmp_path: Path, by: str, period: str) -> None:
    with_zones(platform, tmp_path)
    with platform.store.transaction() as session:
        expected = table_for(session, by=by, period=period)
    assert len(expected) >= 4
    page = _client(platform, "reg").get(f"/portal/statistics?by={by}&period={period}")
    assert page.status_code == 200
    rows = _table(page.text, "stats-table")
    assert len(rows) == len(expected)
    shown = {(r[0], r[2], r[3], r[5], r[6]) for r in rows}
    for s in expected:
        mom = "—" if s.mom is None else f"{s.mom:+,.2f}%"
        yoy = "—" if s.yoy is None else f"{s.yoy:+,.2f}%"
        assert (s.period, _money(s.value), f"{s.lists:,}", mom, yoy) in shown
    assert "<svg" in page.text and "<script" not in page.text


def test_statistics_ranking_zone_filter_and_thousands(platform: Platform, tmp_path: Path) -> None:
    with_zones(platform, tmp_path)
    client = _client(platform, "reg")
    assert len(_table(client.get("/portal/statistics?by=zone&period=year&top=2").text, "ranking")) == 2
    page = client.get("/portal/statistics?by=zone&period=year&top=5")
    ranking = _table(page.text, "ranking")  # the example list of build_platform has no zone: 未归属
    assert [r[1] for r in ranking if r[1] != "未归属"] == [
        "测试乙 (zb)",
        "测试丙 (zc)",
        "测试丁 (zd)",
        "测试甲 (za)",
    ]
    assert ranking[0][2] == "1,300.25"
    rows = _table(page.text, "stats-table")
    za_2026 = next(r for r in rows if r[0] == "2026" and r[1] == "测试甲 (za)")
    assert za_2026[2] == "90.00" and za_2026[6] == "-77.53%"  # (90 - 400.50) / 400.50
    only = _table(client.get("/portal/statistics?by=zone&period=year&zone=zb").text, "stats-table")
    assert {r[1] for r in only} == {"测试乙 (zb)"}


def test_statistics_empty_state(platform: Platform) -> None:
    for lang, phrase in (("zh", "所选条件下没有已放行的清单"), ("en", "no released lists match")):
        page = _client(platform, "reg", lang).get(
            "/portal/statistics?by=zone&period=month&start=2001-01-01&end=2001-12-31"
        )
        assert page.status_code == 200 and phrase in page.text
        assert 'id="stats-table"' not in page.text


def test_statistics_downloads(platform: Platform, tmp_path: Path) -> None:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    with_zones(platform, tmp_path)
    with platform.store.transaction() as session:
        expected = table_for(session, by="zone", period="year")
    client = _client(platform, "reg")
    answer = client.get("/portal/statistics/export.csv?by=zone&period=year")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][0] == "周期 period" and len(rows) == len(expected) + 1
    assert {(r[0], r[1], r[3]) for r in rows[1:]} == {(s.period, s.key, str(s.value)) for s in expected}
    answer = client.get("/portal/statistics/export.xlsx?by=zone&period=year")
    assert answer.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(answer.content)).active
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert sum(float(v[3]) for v in values) == pytest.approx(float(sum(s.value for s in expected)))


# ---- assessment ----


def test_assessment_lists_the_zones_with_their_tiers(platform: Platform, tmp_path: Path) -> None:
    with_zones(platform, tmp_path)
    client = _client(platform, "reg")
    page = client.get("/portal/assessment")  # the latest year by default
    assert page.status_code == 200 and "2026" in page.text
    rows = _table(page.text, "ranking")
    assert [r[1].split()[-1] for r in rows] == ["zb", "zc", "zd", "za"]
    assert [r[5] for r in rows] == [TIERS[t][0] for t in (1, 2, 3, 4)]
    assert rows[3][6] == "↓3" and rows[0][6] == "↑1"  # za was first in 2025, zb second
    assert "预警" in rows[3][7]
    english = _client(platform, "reg", "en").get("/portal/assessment?year=2025")
    rows = _table(english.text, "ranking")
    assert [r[1].split()[-1] for r in rows] == ["za", "zb", "zc", "zd"]
    assert rows[0][5] == TIERS[1][1] and 'href="/portal/assessment?year=2026"' in english.text


def test_scorecard_shows_indicators_against_median_and_top_tier(platform: Platform, tmp_path: Path) -> None:
    with_zones(platform, tmp_path)
    client = _client(platform, "reg")
    page = client.get("/portal/assessment/2026/zb")
    assert page.status_code == 200
    rows = _table(page.text, "indicators")
    trade = next(r for r in rows if "trade_value" in r[0])
    assert trade[3].startswith("1300.25")
    assert trade[4] == "1.000" and trade[6] == "1.000"  # zb is the top tier alone
    assert 'src="/portal/assessment/2026/zb/scorecard.png"' in page.text
    history = _table(page.text, "history")
    assert [r[0] for r in history] == ["2025", "2026"]
    png = client.get("/portal/assessment/2026/zb/scorecard.png")
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")


def test_assessment_downloads(platform: Platform, tmp_path: Path) -> None:
    with_zones(platform, tmp_path)
    client = _client(platform, "reg")
    report = client.get("/portal/assessment/2026/report.html")
    assert report.headers["content-type"] == "text/html; charset=utf-8"
    assert "attachment" in report.headers["content-disposition"]
    assert all(name in report.text for name in NAMES.values())
    book = client.get("/portal/assessment/2026/report.xlsx")
    assert book.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert book.content.startswith(b"PK")


def test_assessment_empty_states(platform: Platform, tmp_path: Path) -> None:
    client = _client(platform, "reg")
    page = client.get("/portal/assessment")
    assert page.status_code == 200 and "cbec zones assess --year" in page.text
    assert 'id="ranking"' not in page.text
    english = _client(platform, "reg", "en").get("/portal/assessment")
    assert "no assessment is stored yet" in english.text
    assert "cbec zones load" in client.get("/portal/zones").text
    with_zones(platform, tmp_path, years=(2026,))
    page = client.get("/portal/assessment?year=2024")
    assert page.status_code == 200 and "cbec zones assess --year 2024" in page.text


def test_zone_registry_page(platform: Platform, tmp_path: Path) -> None:
    with_zones(platform, tmp_path)
    rows = _table(_client(platform, "admin").get("/portal/zones").text, "zones")
    assert [r[0] for r in rows] == sorted(NAMES)
    assert {r[0]: r[5] for r in rows}["za"] == "预警"  # its 2026 result put it in the lowest tier
