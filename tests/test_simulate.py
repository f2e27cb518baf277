"""The traffic simulator: determinism, valid messages, synthetic IDs, the command, and the check that the
engine agrees with the ground truth on every list at every fault rate (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cbec.ceb import dxp
from cbec.ceb.identity import id_card_problem
from cbec.ceb.parse import parse_checked
from cbec.ceb.xmlsafe import parse_xml
from cbec.clearance import documents
from cbec.sim import FAULTS, SimConfig
from cbec.sim.check import arrival_time, message_files, run_check
from cbec.sim.cli import register
from cbec.sim.output import EXPECTED, README, REFERENCE, read_expected, write_set
from cbec.sim.population import build_population
from cbec.sim.traffic import ListRecord, expectations, generate
from cbec.store.db import Store
from clearance_helpers import assert_schema_valid
from store_fixtures import sqlite_store

RATES = (0.0, 0.2, 0.5)
LISTS = 150


@pytest.fixture(autouse=True)
def _buyer_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed key for the buyer hash, so nothing is written under ./var."""
    monkeypatch.setattr(documents, "_SECRET", b"simulate-tests-secret")


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> dict[float, Path]:
    """One generated set of `LISTS` lists per fault rate, shared by the tests that only read them."""
    out: dict[float, Path] = {}
    for rate in RATES:
        folder = tmp_path_factory.mktemp(f"sim-{rate}")
        write_set(SimConfig(lists=LISTS, seed=5, faults=rate), folder)
        out[rate] = folder
    return out


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


# ---- determinism -------------------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_bytes(tmp_path: Path) -> None:
    config = SimConfig(lists=80, seed=9, faults=0.5, peak=True)
    write_set(config, tmp_path / "a")
    write_set(config, tmp_path / "b")
    write_set(SimConfig(lists=80, seed=10, faults=0.5, peak=True), tmp_path / "c")
    a, b, c = (tree(tmp_path / x) for x in "abc")
    assert a == b
    assert len(a) > 80 * 4
    assert a != c
    assert set(a[EXPECTED].splitlines()) != set(c[EXPECTED].splitlines())


def test_worker_processes_write_exactly_what_one_process_writes(tmp_path: Path) -> None:
    config = SimConfig(lists=450, seed=4, faults=0.3, dxp=True)
    write_set(config, tmp_path / "one", workers=1)
    write_set(config, tmp_path / "two", workers=2)
    assert tree(tmp_path / "one") == tree(tmp_path / "two")


# ---- what is generated -----------------------------------------------------------------------------------


@pytest.mark.parametrize("wrapped", [False, True], ids=["xml", "dxp"])
def test_every_message_passes_check_except_the_deliberately_broken(tmp_path: Path, wrapped: bool) -> None:
    write_set(SimConfig(lists=120, seed=2, faults=0.5, dxp=wrapped, bonded=0.5), tmp_path)
    broken = {name for row in read_expected(tmp_path) for name in row["broken_files"]}
    seen: Counter[str] = Counter()
    for path in message_files(tmp_path):
        name = path.relative_to(tmp_path).as_posix()
        data = path.read_bytes()
        if name in broken:
            with pytest.raises(Exception) as refused:
                parse_xml(data)
            assert getattr(refused.value, "code", None) == "0001"
            seen["broken"] += 1
            continue
        if wrapped:
            envelope = dxp.unwrap(data)
            data = envelope.data
            assert envelope.msg_type == parse_xml(data).tag.split("}")[-1]
        message, problems = parse_checked(data)
        errors = [p for p in problems if p.is_error]
        assert not errors, f"{name}: {errors}"
        assert_schema_valid(data)  # the official import XSD, when this machine has it
        seen[message.code] += 1
    assert seen["broken"] == len(broken) > 0
    assert seen["CEB621"] >= 110 and seen["CEB311"] >= 110


def test_ids_are_checksum_valid_synthetic_and_never_written_to_the_ground_truth(
    sets: dict[float, Path],
) -> None:
    folder = sets[0.5]
    ids: set[str] = set()
    phones: set[str] = set()
    for path in message_files(folder):
        if "-broken" not in path.name:
            data = path.read_text(encoding="utf-8")
            ids.update(re.findall(r"<ceb:(?:buyer|payer)IdNumber>([^<]*)<", data))
            phones.update(re.findall(r"<ceb:(?:buyerTelephone|telephone|consigneeTelephone)>([^<]*)<", data))
    assert len(ids) > 30
    for number in ids:
        assert id_card_problem(number) is None, number
        assert number[14:17] == "000", "sequence 000 is never issued to a person"
    assert phones and all(p.startswith("100") and len(p) == 11 for p in phones)
    truth = (folder / EXPECTED).read_text(encoding="utf-8")
    assert not any(number in truth for number in ids)


def test_the_population_is_varied_and_labelled() -> None:
    population = build_population(1, 1000)
    roles = Counter(e.role for e in population.enterprises)
    assert set(roles) == {"platform", "ecommerce", "payment", "logistics", "declarant", "warehouse"}
    assert all(len(e.code) == 10 for e in population.enterprises)
    assert len({e.code for e in population.enterprises}) == len(population.enterprises)
    assert len(population.zones) >= 30
    assert 20 <= len(population.products) <= 40
    people = [population.consumer(i) for i in range(500)]
    assert len({p.id_number for p in people}) == 500
    assert "模拟" in population.positive_list_csv(date(2022, 3, 1)).splitlines()[0]
    assert "EXAMPLE" in population.rates_csv()
    ordinary = sorted(p.price for p in population.products if p.spec.listed and not p.spec.luxury)
    assert Decimal("100") <= ordinary[len(ordinary) // 2] <= Decimal("400")


def test_a_high_rate_injects_every_fault_and_a_zero_rate_none() -> None:
    def nowhere(_name: str, _data: bytes) -> None:
        return None

    faulted = generate(SimConfig(lists=1500, seed=8, faults=0.5), nowhere).records
    kinds = Counter(f for r in faulted for f in r.faults)
    assert set(kinds) == set(FAULTS)
    clean = generate(SimConfig(lists=200, seed=8, faults=0.0), nowhere).records
    assert not any(r.faults for r in clean)
    truth = expectations(clean)
    assert {t.status for t in truth} == {"800"}


def test_the_peak_day_has_a_midnight_rush(tmp_path: Path) -> None:
    write_set(SimConfig(lists=400, seed=3, peak=True), tmp_path / "peak")
    write_set(SimConfig(lists=400, seed=3), tmp_path / "plain")
    peak, plain = (
        Counter(t.hour for t in (arrival_time(p) for p in message_files(tmp_path / x)) if t is not None)
        for x in ("peak", "plain")
    )
    assert peak[0] > peak[4] * 5
    assert peak[0] > plain[0] * 3
    assert plain[21] > plain[4] * 5  # an ordinary evening is busier than the small hours


# ---- the ground truth on its own -------------------------------------------------------------------------


def _record(
    seq: int, decision: str, price: str, *, lines: int = 1, codes: frozenset[str] = frozenset()
) -> ListRecord:
    at = datetime.strptime(decision[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return ListRecord(
        seq=seq,
        order_no=f"SO{seq}",
        ebc_code="330196001E",
        trade_mode="9610",
        zone="杭州",
        buyer_id="330102199001010008",
        tax_price=Decimal(price),
        indivisible=lines == 1,
        lines=lines,
        faults=(),
        codes=codes,
        decision=decision,
        decided_at=at,
    )


def test_the_annual_limit_follows_decision_order_not_generation_order() -> None:
    records = [
        _record(1, "20261111230000000-00000001-4", "4900.00"),  # decided last: crosses
        *(_record(n, f"2026111110{n:02d}00000-{n:08d}-4", "4300.00") for n in range(2, 7)),  # 21,500
        _record(7, "20261111120000000-00000007-4", "400.00", codes=frozenset({"9101"})),  # not counted
        _record(8, "20261111220000000-00000008-4", "4500.00"),  # 26,000 exactly: still allowed
    ]
    truth = {t.record.seq: t for t in expectations(records)}
    assert all(truth[n].status == "800" and truth[n].path == "retail" for n in (2, 3, 4, 5, 6, 8))
    assert truth[7].codes == {"9101"}
    assert truth[1].status == "100" and truth[1].codes == {"-621018"}


def test_limits_are_inclusive_and_one_article_over_5000_takes_the_full_path() -> None:
    records = [
        _record(1, "20261111100000000-00000001-4", "5000.00", lines=2),
        _record(2, "20261111110000000-00000002-4", "5000.01", lines=2),
        _record(3, "20261111120000000-00000003-4", "16000.00"),
        _record(4, "20261111130000000-00000004-4", "5000.00"),  # exactly 26,000 in all
        _record(5, "20270101000000000-00000005-4", "9000.00"),  # a new year starts from zero
    ]
    records[4].decided_at = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
    truth = {t.record.seq: t for t in expectations(records)}
    assert (truth[1].status, truth[1].path) == ("800", "retail")
    assert (truth[2].status, truth[2].codes) == ("100", {"-621005"})
    assert (truth[3].status, truth[3].path) == ("800", "full")
    assert truth[4].status == "800"
    assert (truth[5].status, truth[5].path) == ("800", "full")


# ---- the command -----------------------------------------------------------------------------------------


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command keeps `simulate` a named subcommand
    return app


def test_the_command_writes_messages_ground_truth_reference_and_readme(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "set"
    result = runner.invoke(
        cli(), ["simulate", "--lists", "40", "--seed", "3", "--faults", "0.3", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "40" in result.output
    rows = read_expected(out)
    assert len(rows) == 40
    assert {str(r["status"]) for r in rows} <= {"800", "100", "120"}
    assert all(str(r["key"]).count("|") == 1 for r in rows)
    for name in ("positive-list.csv", "rates.csv", "stock.csv", "enterprises.csv"):
        assert (out / REFERENCE / name).is_file()
    assert "cbec ingest" in (out / README).read_text(encoding="utf-8")
    assert len(message_files(out)) >= 160
    again = runner.invoke(cli(), ["simulate", "--lists", "40", "--out", str(out)])
    assert again.exit_code == 2
    assert runner.invoke(cli(), ["simulate", "--lists", "5"]).exit_code == 2
    assert runner.invoke(cli(), ["simulate", "--faults", "1.5", "--out", str(tmp_path / "x")]).exit_code == 2


def test_the_command_checks_the_engine_and_exits_0_at_full_agreement(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "checked"
    args = [
        "simulate",
        "--lists",
        "30",
        "--seed",
        "6",
        "--faults",
        "0.4",
        "--dxp",
        "--check",
        "--out",
        str(out),
    ]
    result = runner.invoke(cli(), args)
    assert result.exit_code == 0, result.output
    assert "100.00%" in result.output
    assert (out / "check" / "cbec.db").is_file()


# ---- the check: the engine against the ground truth ------------------------------------------------------


@pytest.mark.parametrize("rate", RATES)
def test_the_engine_agrees_with_the_ground_truth_on_every_list(
    store: Store, sets: dict[float, Path], rate: float
) -> None:
    report = run_check(sets[rate], store)
    assert report.lists == LISTS
    assert report.ok, "\n".join(report.lines())
    assert report.agreement == 100.0
    if rate:
        assert report.statuses["100"] > 0
    assert report.statuses["800"] > 0


def test_the_check_reports_each_disagreement_with_key_and_codes(
    tmp_path: Path, sets: dict[float, Path]
) -> None:
    folder = tmp_path / "tampered"
    folder.mkdir()
    source = sets[0.2]
    for name, data in tree(source).items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    rows = read_expected(folder)
    released = next(r for r in rows if r["status"] == "800")
    rejected = next(r for r in rows if r["status"] == "100")
    released["status"], released["codes"], released["path"] = "100", ["9101"], None
    rejected["codes"] = ["9999"]
    (folder / EXPECTED).write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    store = sqlite_store(tmp_path)
    try:
        report = run_check(folder, store)
    finally:
        store.dispose()
    assert not report.ok
    assert report.agreed == LISTS - 2
    found = {d.key: d for d in report.disagreements}
    assert found[str(released["key"])].actual_status == "800"
    assert found[str(rejected["key"])].expected_codes == ("9999",)
    text = "\n".join(report.lines())
    assert str(released["key"]) in text and "98.67%" in text
