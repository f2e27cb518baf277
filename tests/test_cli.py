"""The ``cbec`` command line: exit codes, output shapes, conversions, envelopes, signatures, error texts."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cbec import __version__, ceb
from cbec.ceb import dxp, jsonform
from cbec.ceb.catalogue import MESSAGE_TYPES
from cbec.cli import app

GUID = "4CDE1CFD-0000-4000-8000-000000000001"
SENDER = "DXPENT0000458763"
ID_NUMBER = "110101199003071235"

runner = CliRunner()


def run(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def receipt(return_time: str = "20260428182238000") -> bytes:
    """A small CEB312 receipt that passes every check (or, with a bad time, fails exactly one)."""
    msg = ceb.new_message("CEB312", guid=GUID)
    msg.add(
        "OrderReturn",
        guid=GUID,
        ebpCode="1105910159",
        ebcCode="1105910159",
        orderNo="order-1",
        returnStatus="2",
        returnTime=return_time,
        returnInfo="新增申报成功",
    )
    return ceb.render(msg)


def order() -> bytes:
    """A CEB311 order (incomplete, so `check` finds errors) with a buyer ID number that must stay private."""
    msg = ceb.new_message("CEB311", guid=GUID)
    order = msg.add("Order")
    order.add("OrderHead", guid=GUID, orderNo="订单-1", buyerIdNumber=ID_NUMBER, buyerIdType="1")
    order.add("OrderList", gnum=1, itemName="奶粉")
    return ceb.render(msg)


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.xml"
    path.write_bytes(receipt())
    return path


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.xml"
    path.write_bytes(receipt("2026"))
    return path


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# ------------------------------------------------------------------------------------------- entry point


def test_entry_point_runs() -> None:
    exe = Path(sys.executable).parent / "cbec"
    done = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    for command in ("validate", "convert", "sign", "verify", "dxp", "catalogue"):
        assert command in done.stdout


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"cbec {__version__}"


# ---------------------------------------------------------------------------------------------- validate


def test_validate_exit_codes(good: Path, bad: Path) -> None:
    ok = run("validate", good)
    assert ok.exit_code == 0, ok.output
    assert "通过 / valid" in ok.stdout
    failed = run("validate", bad)
    assert failed.exit_code == 1
    assert "OrderReturn[1]/returnTime" in failed.stdout
    assert "未通过 / invalid" in failed.stdout
    # One bad file among good ones fails the run; the summary counts both.
    mixed = run("validate", good, bad)
    assert mixed.exit_code == 1
    assert "2 file(s), 1 invalid" in mixed.stdout


def test_validate_json_shape(good: Path, bad: Path) -> None:
    result = run("validate", "--json", good, bad)
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert [r["file"] for r in doc] == [str(good), str(bad)]
    assert [r["valid"] for r in doc] == [True, False]
    assert all(r["message_type"] == "CEB312" for r in doc)
    assert doc[0]["problems"] == []
    (problem,) = doc[1]["problems"]
    assert set(problem) == {"code", "path", "severity", "rule", "zh", "en"}
    assert problem["path"] == "OrderReturn[1]/returnTime" and problem["severity"] == "error"


def test_validate_json_form_and_dxp_inputs(tmp_path: Path, good: Path) -> None:
    as_json = tmp_path / "good.json"
    # Leading whitespace: the JSON form is recognised by its first non-space character.
    as_json.write_text("\n  " + jsonform.dumps(ceb.parse(good)), "utf-8")
    envelope = tmp_path / "good.dxp.xml"
    envelope.write_bytes(dxp.wrap(good.read_bytes(), sender_id=SENDER))
    result = run("validate", "--json", as_json, envelope)
    assert result.exit_code == 0, result.output
    assert [r["message_type"] for r in json.loads(result.stdout)] == ["CEB312", "CEB312"]


def test_validate_unreadable_files_are_problems(tmp_path: Path, good: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("this is not a message", "utf-8")
    missing = tmp_path / "missing.xml"
    result = run("validate", "--json", good, text, missing)
    assert result.exit_code == 1
    no_traceback(result)
    doc = json.loads(result.stdout)
    assert doc[0]["valid"] and not doc[1]["valid"] and not doc[2]["valid"]
    assert doc[1]["message_type"] is None
    assert doc[1]["problems"][0]["code"] == "0001" and "XML" in doc[1]["problems"][0]["en"]
    assert doc[2]["problems"][0]["code"] == "CBEC-0002" and "not found" in doc[2]["problems"][0]["en"]


def test_validate_never_prints_personal_values(tmp_path: Path) -> None:
    path = tmp_path / "order.xml"
    path.write_bytes(order())
    for args in (("validate", path), ("validate", "--json", path)):
        result = run(*args)
        assert result.exit_code == 1
        assert "buyerIdNumber" in result.stdout
        assert ID_NUMBER not in result.output


def test_validate_official_ceb311_table(reference_dir: Path) -> None:
    sample = reference_dir / "ceb/samples/official-202205/CEB311Message.xml"
    result = run("validate", sample)
    assert result.exit_code == 1
    assert "Order[1]/OrderList[2]/totalPrice" in result.stdout
    assert "-301008" in result.stdout
    assert "130681136250023332" not in result.stdout  # the sample's buyer ID number


def test_validate_xsd_reports_duplicated_base_transfer(reference_dir: Path) -> None:
    xsd = reference_dir / "ceb/xsd/202205"
    sample = reference_dir / "ceb/samples/official-202205/CEB303Message.xml"
    result = run("validate", "--json", "--xsd", xsd, sample)
    assert result.exit_code == 1, result.output
    problems = json.loads(result.stdout)[0]["problems"]
    from_xsd = [p for p in problems if p["rule"] == "xsd"]
    assert len(from_xsd) == 1
    (p,) = from_xsd
    assert p["code"] == "0002" and p["severity"] == "error"
    assert p["path"].startswith("line ") and int(p["path"][5:]) > 1
    assert p["zh"].startswith("XSD 校验失败：") and p["en"].startswith("XSD validation failed: ")
    assert "BaseTransfer" in p["en"]
    table = run("validate", "--xsd", xsd, sample)
    assert table.exit_code == 1 and "XSD validation failed" in table.stdout


def test_validate_xsd_accepts_valid_and_hides_values(reference_dir: Path, tmp_path: Path) -> None:
    xsd = reference_dir / "ceb/xsd/202205"
    samples = reference_dir / "ceb/samples/official-202205"
    assert run("validate", "--xsd", xsd, samples / "CEB625Message.xml").exit_code == 0
    # libxml2 quotes a value that is not a valid decimal; the CLI must not pass it on.
    broken = tmp_path / "broken.xml"
    source = (samples / "CEB621Message.xml").read_bytes()
    assert b"<ceb:freight>" in source
    broken.write_bytes(source.replace(b"<ceb:freight>", b"<ceb:freight>SECRETVALUE", 1))
    result = run("validate", "--json", "--strict", "--xsd", xsd, broken)
    assert result.exit_code == 1
    xsd_problems = [p for p in json.loads(result.stdout)[0]["problems"] if p["rule"] == "xsd"]
    assert any("ceb:freight" in p["en"] for p in xsd_problems)
    assert "SECRETVALUE" not in result.stdout


def test_validate_xsd_folder_must_hold_schemas(tmp_path: Path, good: Path) -> None:
    result = run("validate", "--xsd", tmp_path, good)
    assert result.exit_code == 2
    assert "CBEC-0301" in result.stderr and "XSD" in result.stderr
    no_traceback(result)


# ----------------------------------------------------------------------------------------------- convert


def test_convert_both_ways(tmp_path: Path, good: Path) -> None:
    to_json = run("convert", "--to", "json", good)
    assert to_json.exit_code == 0, to_json.output
    doc = json.loads(to_json.stdout)
    assert doc["CEB312Message"]["guid"] == GUID
    assert doc["CEB312Message"]["OrderReturn"][0]["returnInfo"] == "新增申报成功"
    json_file = tmp_path / "m.json"
    json_file.write_text(to_json.stdout, "utf-8")
    out = tmp_path / "back.xml"
    to_xml = run("convert", "--to", "xml", json_file, "-o", out)
    assert to_xml.exit_code == 0, to_xml.output
    assert to_xml.stdout == ""
    assert ceb.parse(out) == ceb.parse(good)
    assert out.read_bytes() == ceb.render(ceb.parse(good))


def test_convert_keeps_decimal_digits(tmp_path: Path) -> None:
    msg = ceb.new_message("CEB621", guid=GUID)
    msg.add("Inventory").add("InventoryHead", freight=Decimal("13.89000"))
    path = tmp_path / "inv.xml"
    path.write_bytes(ceb.render(msg))
    result = run("convert", "--to", "json", path)
    assert '"freight": "13.89000"' in result.stdout


def test_convert_opens_envelopes(tmp_path: Path, good: Path) -> None:
    envelope = tmp_path / "env.xml"
    envelope.write_bytes(dxp.wrap(good.read_bytes(), sender_id=SENDER))
    result = run("convert", "--to", "json", envelope)
    assert result.exit_code == 0
    assert "CEB312Message" in json.loads(result.stdout)


def test_convert_rejects_unknown_format(good: Path) -> None:
    assert run("convert", "--to", "yaml", good).exit_code == 2


# --------------------------------------------------------------------------------------------------- dxp


def test_dxp_wrap_unwrap_round_trip(tmp_path: Path, good: Path) -> None:
    envelope = tmp_path / "env.xml"
    wrapped = run("dxp", "wrap", "--sender", SENDER, good, "-o", envelope)
    assert wrapped.exit_code == 0, wrapped.output
    parsed = dxp.unwrap(envelope)
    assert parsed.sender_id == SENDER
    assert parsed.msg_type == "CEB312Message"
    assert parsed.receiver_ids == (dxp.IMPORT_RECEIVER,)
    unwrapped = run("dxp", "unwrap", envelope)
    assert unwrapped.exit_code == 0
    assert unwrapped.stdout_bytes == good.read_bytes()


def test_dxp_wrap_receiver_and_json_input(tmp_path: Path, good: Path) -> None:
    source = tmp_path / "m.json"
    source.write_text(jsonform.dumps(ceb.parse(good)), "utf-8")
    result = run("dxp", "wrap", "--sender", SENDER, "--receiver", "DXPLGS0000000001", source)
    assert result.exit_code == 0, result.output
    envelope = dxp.unwrap(result.stdout_bytes)
    assert envelope.receiver_ids == ("DXPLGS0000000001",)
    assert ceb.parse(envelope.data) == ceb.parse(good)


def test_dxp_unwrap_refuses_plain_message(good: Path) -> None:
    result = run("dxp", "unwrap", good)
    assert result.exit_code == 2
    assert "DxpMsg" in result.stderr
    no_traceback(result)


# --------------------------------------------------------------------------------------------- catalogue


def test_catalogue_lists_42_types() -> None:
    result = run("catalogue", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert len(doc) == 42
    assert {t["code"] for t in doc} == set(MESSAGE_TYPES)
    ceb621 = next(t for t in doc if t["code"] == "CEB621")
    assert ceb621["receipt"] == "CEB622" and ceb621["direction"] == "import"
    table = run("catalogue")
    assert table.exit_code == 0
    for code in MESSAGE_TYPES:
        assert code in table.stdout
    assert "进口清单" in table.stdout


def test_catalogue_one_type_lists_fields() -> None:
    result = run("catalogue", "621", "--json")
    assert result.exit_code == 0
    rows = {row["path"]: row for row in json.loads(result.stdout)["items"]}
    label = ceb.message_spec("CEB621").root.children["Inventory"].node.children["InventoryHead"].node.fields
    freight = rows["Inventory/InventoryHead/freight"]
    assert freight["value_type"] == "decimal" and freight["zh"] == label["freight"].zh
    assert freight["type"] == label["freight"].length_text
    assert rows["Inventory/InventoryHead/appType"]["codes"]["1"][0] == "新增"
    assert rows["Inventory/InventoryList"]["occurs"].startswith("1..")
    assert "Signature" in rows
    table = run("catalogue", "CEB621")
    assert table.exit_code == 0
    assert "Inventory/InventoryHead/freight" in table.stdout and label["freight"].zh in table.stdout


def test_catalogue_unknown_type() -> None:
    result = run("catalogue", "CEB999")
    assert result.exit_code == 2
    assert "CEB999" in result.stderr and "未知" in result.stderr and "unknown" in result.stderr


# ------------------------------------------------------------------------------------------ sign/verify


def rsa_identity(folder: Path) -> tuple[Path, Path, int]:
    """An RSA key and a self-signed certificate made for this test, as PEM files."""
    from cbec.ceb.sign import self_signed_rsa

    serial = 0x5A17C0DE
    key_pem, cert_pem = self_signed_rsa(
        "cbec cli test", serial=serial, not_after=datetime.now(UTC) + timedelta(days=30)
    )
    key_path, cert_path = folder / "key.pem", folder / "cert.pem"
    key_path.write_bytes(key_pem)
    cert_path.write_bytes(cert_pem)
    return key_path, cert_path, serial


@pytest.fixture
def sign_module() -> Any:
    return pytest.importorskip("cbec.ceb.sign", reason="cbec.ceb.sign is not importable yet")


def test_sign_verify_round_trip(tmp_path: Path, sign_module: Any) -> None:
    key, cert, serial = rsa_identity(tmp_path)
    message = tmp_path / "order.xml"
    message.write_bytes(order())
    signed = tmp_path / "signed.xml"
    result = run("sign", "--key", key, "--cert", cert, "--alg", "rsa-sha1", message, "-o", signed)
    assert result.exit_code == 0, result.output
    assert ceb.parse(signed).signature is not None

    ok = run("verify", signed)
    assert ok.exit_code == 0, ok.output
    assert "签名有效" in ok.stdout and "signature valid" in ok.stdout
    assert "cbec cli test" in ok.stdout
    assert format(serial, "x").lower() in ok.stdout.lower()

    report = json.loads(run("verify", "--json", signed).stdout)
    assert report["valid"] is True and report["algorithm"] == "rsa-sha1"
    assert report["file"] == str(signed)

    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(signed.read_bytes().replace("奶粉".encode(), "牛奶".encode()))
    bad = run("verify", tampered)
    assert bad.exit_code == 1
    assert "签名无效" in bad.stdout and "signature invalid" in bad.stdout
    assert json.loads(run("verify", "--json", tampered).stdout)["valid"] is False

    # A signed message travels in an envelope; verify opens it.
    envelope = tmp_path / "env.xml"
    envelope.write_bytes(dxp.wrap(signed.read_bytes(), sender_id=SENDER))
    assert run("verify", envelope).exit_code == 0


def test_verify_unsigned_is_invalid(good: Path, sign_module: Any) -> None:
    result = run("verify", good)
    assert result.exit_code == 1
    assert "ds:Signature" in result.stdout


def test_sign_with_bad_key_file(tmp_path: Path, good: Path, sign_module: Any) -> None:
    _key, cert, _serial = rsa_identity(tmp_path)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key", "utf-8")
    result = run("sign", "--key", junk, "--cert", cert, good)
    assert result.exit_code == 2
    assert "错误 [" in result.stderr and "Error [" in result.stderr
    no_traceback(result)


# -------------------------------------------------------------------------------------------- user errors


@pytest.mark.parametrize(
    "command",
    [
        ("convert", "--to", "json"),
        ("dxp", "unwrap"),
        ("dxp", "wrap", "--sender", SENDER),
        ("verify",),
    ],
)
def test_missing_file_message(tmp_path: Path, command: tuple[str, ...]) -> None:
    missing = tmp_path / "nowhere.xml"
    result = run(*command, missing)
    assert result.exit_code == 2
    assert "文件不存在" in result.stderr and "file not found" in result.stderr
    assert "CBEC-0002" in result.stderr
    assert result.stdout == ""
    no_traceback(result)


def test_non_xml_file_message(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 not xml at all")
    result = run("convert", "--to", "json", path)
    assert result.exit_code == 2
    assert "错误 [0001]" in result.stderr and "Error [0001]" in result.stderr
    assert "XML" in result.stderr
    no_traceback(result)


def test_bad_json_and_unknown_message(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"CEB312Message": {"guid": ', "utf-8")
    result = run("convert", "--to", "xml", broken)
    assert result.exit_code == 2 and "CBEC-0201" in result.stderr and "JSON" in result.stderr
    unknown = tmp_path / "unknown.xml"
    unknown.write_bytes(b"<Invoice><total>1</total></Invoice>")
    result = run("convert", "--to", "json", unknown)
    assert result.exit_code == 2 and "Invoice" in result.stderr and "unknown message type" in result.stderr
    no_traceback(result)


# ---- example and demo ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code", ["CEB311", "411", "CEB511Message", "CEB513", "CEB621", "CEB623", "CEB625", "CEB622"]
)
def test_example_messages_are_valid(code: str, tmp_path: Path) -> None:
    out = tmp_path / "example.xml"
    result = runner.invoke(app, ["example", code, "-o", str(out)])
    assert result.exit_code == 0, result.output
    message, problems = ceb.parse_checked(out)
    assert message.code == ceb.message_type(code).code
    assert not ceb.has_errors(problems), [str(p) for p in problems]


def test_example_as_json_round_trips(tmp_path: Path) -> None:
    result = runner.invoke(app, ["example", "CEB311", "--json"])
    assert result.exit_code == 0, result.output
    assert jsonform.from_json(result.stdout).code == "CEB311"


def test_example_for_a_type_without_one() -> None:
    result = runner.invoke(app, ["example", "CEB792"])
    assert result.exit_code == 2
    assert "CBEC-0004" in result.output and "CEB311" in result.output


def test_demo_writes_valid_signed_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBEC_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("CBEC_DATABASE_URL", raising=False)
    result = runner.invoke(app, ["demo", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "demo").glob("*.xml"))
    assert files == [
        "CEB311_order.xml",
        "CEB312_receipt.xml",
        "CEB621_list.dxp.xml",
        "CEB621_list.signed.xml",
        "CEB622_receipt.xml",
    ]
    validated = runner.invoke(app, ["validate", *(str(tmp_path / "demo" / f) for f in files)])
    assert validated.exit_code == 0, validated.output
    verified = runner.invoke(app, ["verify", str(tmp_path / "demo" / "CEB621_list.signed.xml")])
    assert verified.exit_code == 0, verified.output
    receipt = ceb.parse(tmp_path / "demo" / "CEB622_receipt.xml")
    assert receipt.documents[0].returnStatus == "800"
    # the clearance round: the list waited for its companions, then was released with a tax bill
    outbox = sorted(
        p.name.split("_")[0] + "_" + p.name.split("_")[1]
        for p in (tmp_path / "demo" / "outbox").glob("*.xml")
    )
    assert outbox == ["CEB312_120", "CEB412_120", "CEB512_120", "CEB622_120", "CEB622_800", "CEB816_1"]
    assert (tmp_path / "var" / "cbec.db").exists()
