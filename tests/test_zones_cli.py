"""The ``cbec zones`` and ``cbec stats`` commands end to end on a fresh SQLite data directory, including the
assessment demo over simulated traffic taken through the clearance engine."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cbec.cli import app

runner = CliRunner()


def run(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CBEC_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("CBEC_DATABASE_URL", raising=False)
    return tmp_path


def test_demo_assess_report_and_stats(data_dir: Path) -> None:
    demo = run("zones", "demo", data_dir / "work", "--years", "2025,2026", "--lists", "60", "--seed", "3")
    assert demo.exit_code == 0, demo.output
    assert "2026: {" in demo.output and "exit rule" in demo.output

    again = run("zones", "demo", data_dir / "work", "--years", "2025,2026", "--lists", "60")
    assert (
        again.exit_code == 2 and "CBEC-0706" in again.output and "already holds demo traffic" in again.output
    )

    assessed = run("zones", "assess", "--year", "2026", "--json")
    assert assessed.exit_code == 0, assessed.output
    result = json.loads(assessed.stdout)
    ranked = [z for z in result["zones"] if z["rank"] is not None]
    assert len(ranked) >= 30  # the simulator's zones with traffic
    assert sum(result["tier_counts"].values()) == len(ranked)
    assert [z["rank"] for z in ranked] == sorted(z["rank"] for z in ranked)
    lowest = [z for z in ranked if z["tier"] == 4]
    assert lowest and all(z["action"] in ("warning", "exit") for z in lowest)
    assert "overseas_warehouses" in {m for z in result["zones"] for m in z["missing"]}  # reported, not zeroed

    table = run(
        "zones", "assess", "--year", "2026", "--html", data_dir / "r.html", "--xlsx", data_dir / "r.xlsx"
    )
    assert table.exit_code == 0 and "成效明显" in table.stdout
    assert "<table" in (data_dir / "r.html").read_text(encoding="utf-8")
    report = run("zones", "report", "--year", "2026", "--json")
    assert json.loads(report.stdout)["zones"][0]["rank"] == 1

    listed = json.loads(run("zones", "list", "--json").stdout)
    assert len(listed) == 96 and {z["status"] for z in listed} >= {"active"}
    assert run("zones", "history", "hangzhou").exit_code == 0

    sql = run("stats", "table", "--by", "zone", "--period", "month", "--json")
    assert sql.exit_code == 0, sql.output
    exported = run("stats", "export", "--parquet", data_dir / "pq")
    assert exported.exit_code == 0, exported.output
    duck = run("stats", "--engine", "duckdb", "--parquet", data_dir / "pq", "table", "--by", "zone", "--json")
    assert json.loads(duck.stdout) == json.loads(sql.stdout) and json.loads(sql.stdout)
    files = run(
        "stats",
        "table",
        "--by",
        "mode",
        "--period",
        "year",
        "--csv",
        data_dir / "m.csv",
        "--xlsx",
        data_dir / "m.xlsx",
    )
    assert files.exit_code == 0, files.output
    rows = (data_dir / "m.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "period,key,value,lists,lines,mom_pct,yoy_pct" and len(rows) >= 3
    from openpyxl import load_workbook

    sheet = load_workbook(data_dir / "m.xlsx").active
    assert sheet.max_row == len(rows) and Decimal(str(sheet.cell(2, 3).value)) == Decimal(
        rows[1].split(",")[2]
    )
    top = run("stats", "top", "--by", "mode", "--n", "2", "--json")
    assert {line["key"] for line in json.loads(top.stdout)} <= {"9610", "1210"}
    chart = run("stats", "chart", "--by", "zone", "--period", "quarter", "--out", data_dir / "c.png")
    assert chart.exit_code == 0 and (data_dir / "c.png").read_bytes().startswith(b"\x89PNG")
    national = run("stats", "national", "--zone", "hangzhou", "--year", "2022", "--series", "survey")
    assert national.exit_code == 0 and "national" in national.stdout
    series = json.loads(run("stats", "national", "--json").stdout)
    assert {(f["period"], f["series"]) for f in series} >= {("2022", "preliminary"), ("2022", "survey")}


def test_bad_input_gets_a_specific_message_and_exit_2(data_dir: Path) -> None:
    bad_yaml = data_dir / "bad.yaml"
    bad_yaml.write_text("indicators: [", encoding="utf-8")
    cases = [
        (("zones", "assess", "--year", "2025", "--config", bad_yaml), "CBEC-0710", "is not valid YAML"),
        (("zones", "link", "0000000000", "hangzhou"), "CBEC-0704", "is not registered"),
        (("zones", "parks", "add", "atlantis", "P"), "CBEC-0701", "zone 'atlantis' is not in the registry"),
        (("zones", "load", data_dir / "missing.csv"), "CBEC-0702", "no such file"),
        (("zones", "report", "--year", "2030"), "CBEC-0710", "no assessment has been run for 2030"),
        (("zones", "demo", "--years", "twenty"), "CBEC-0702", "--years must be comma-separated years"),
        (("stats", "table", "--by", "city"), "CBEC-0801", "unknown dimension 'city'"),
        (("stats", "table", "--from", "2025-13-01"), "CBEC-0801", "--from must be YYYY-MM-DD"),
        (("stats", "--engine", "duckdb", "table"), "CBEC-0802", "needs --parquet DIR"),
        (
            ("stats", "--engine", "duckdb", "--parquet", data_dir, "table"),
            "CBEC-0802",
            "no month-partitioned",
        ),
        (
            ("stats", "national", "--zone", "hangzhou", "--year", "2021"),
            "CBEC-0804",
            "no verified import split",
        ),
    ]
    for args, code, message in cases:
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert code in result.output and message in result.output, (args, result.output)
        assert "错误" in result.output
