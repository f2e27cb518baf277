"""The JSON form: exact round trips (official samples and hand-built messages) and clear refusals."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cbec import ceb
from cbec.access import node_parties, parties
from cbec.ceb import jsonform
from cbec.ceb.errors import CebError, UnknownMessage
from cbec.ceb.jsonform import JsonFormError, UnknownJsonMessage, dumps, from_json, to_json
from cbec.ceb.model import ExtendMessage, Message
from strategies import messages

GUID = "4CDE1CFD-0000-4000-8000-000000000001"
SIGNATURE = (
    b'<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo/>'
    b"<ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>"
)
ID_NUMBER = "110101199003071234"


def inventory() -> Message:
    """A CEB621 with trailing-zero decimals, ints, an extension, a signature and an unknown element."""
    msg = ceb.new_message("CEB621", guid=GUID)
    inv = msg.add("Inventory")
    inv.add(
        "InventoryHead",
        guid=GUID,
        orderNo="订单-0001",
        freight=Decimal("13.89000"),
        insuredFee=Decimal("0"),
        packNo=3,
        buyerIdNumber=ID_NUMBER,
        grossWeight=Decimal("1.50"),
    )
    inv.add("InventoryList", gnum=1, itemName="奶粉", qty=Decimal("2"), price=Decimal("99.90"))
    inv.add("InventoryList", gnum=2, itemName="尿不湿", qty=Decimal("1"), price=Decimal("0.10"))
    inv.children["InventoryHead"][0].extra.append(("vendorNote", "kept <as> text & all"))
    msg.add("BaseTransfer", copCode="1105910159", copName="测试企业", dxpMode="DXP", dxpId="DXPENT0000000001")
    msg.extend = ExtendMessage("ext", "1.0", b'<x:ext xmlns:x="urn:example"><x:a>1</x:a></x:ext>')
    msg.signature = SIGNATURE
    return msg


def body(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["CEB621Message"]  # type: ignore[no-any-return]


def head(doc: dict[str, Any]) -> dict[str, Any]:
    return body(doc)["Inventory"][0]["InventoryHead"]  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------- round trips


def test_official_samples_round_trip(reference_dir: Path) -> None:
    samples = sorted((reference_dir / "ceb" / "samples").glob("*/*.xml"))
    assert len(samples) >= 39
    for sample in samples:
        original = ceb.parse(sample)
        text = dumps(original)
        again = from_json(text)
        assert again == original, sample.name
        # Equality of Decimal ignores trailing zeros; the rendered XML does not.
        assert ceb.render(again) == ceb.render(original), sample.name
        # The same problems are found either way (the JSON form always uses the canonical root name).
        expected = [p for p in ceb.check(original) if p.rule != "root_name"]
        assert ceb.check(again) == expected, sample.name


def test_hand_built_round_trip() -> None:
    msg = inventory()
    doc = to_json(msg)
    again = from_json(json.loads(json.dumps(doc)))
    assert again == msg
    assert ceb.render(again) == ceb.render(msg)
    assert again.signature == SIGNATURE
    assert again.extend == msg.extend


def test_json_form_agrees_with_xml() -> None:
    msg = inventory()
    # lxml re-serialises embedded XML (inherited namespace declarations), so compare without it.
    msg.signature = None
    msg.extend = None
    assert to_json(ceb.parse(ceb.render(msg))) == to_json(msg)


def test_shape_follows_xsd_order_and_types() -> None:
    doc = to_json(inventory())
    assert list(doc) == ["CEB621Message"]
    assert list(body(doc))[:2] == ["guid", "version"]
    assert list(body(doc))[2:] == ["Inventory", "BaseTransfer", "ExtendMessage", "Signature"]
    assert isinstance(body(doc)["Inventory"], list)
    assert isinstance(body(doc)["BaseTransfer"], dict)
    fields = list(head(doc))
    head_spec = ceb.message_spec("CEB621").root.children["Inventory"].node.children["InventoryHead"].node
    spec_order = [name for name in head_spec.fields if name in head(doc)]
    assert fields[:-1] == spec_order and fields[-1] == "_extra"
    assert head(doc)["packNo"] == 3
    assert body(doc)["Inventory"][0]["InventoryList"][0]["gnum"] == 1
    assert head(doc)["_extra"] == [["vendorNote", "kept <as> text & all"]]
    assert body(doc)["ExtendMessage"]["Message"].startswith("<x:ext")
    assert "_extra" not in body(doc)["BaseTransfer"]


def test_decimals_keep_their_digits() -> None:
    doc = to_json(inventory())
    assert head(doc)["freight"] == "13.89000"
    assert head(doc)["grossWeight"] == "1.50"
    assert body(doc)["Inventory"][0]["InventoryList"][0]["price"] == "99.90"
    text = dumps(inventory())
    assert '"freight": "13.89000"' in text
    again = from_json(text)
    freight = again.documents[0].child("InventoryHead").values["freight"]  # type: ignore[union-attr]
    assert isinstance(freight, Decimal) and format(freight, "f") == "13.89000"


def test_decimal_accepts_json_integer() -> None:
    doc = to_json(inventory())
    head(doc)["freight"] = 14
    freight = from_json(doc).documents[0].child("InventoryHead").values["freight"]  # type: ignore[union-attr]
    assert freight == Decimal(14) and isinstance(freight, Decimal)


def test_invalid_decimal_string_is_kept_for_check() -> None:
    doc = to_json(inventory())
    head(doc)["freight"] = "12,50"
    msg = from_json(doc)
    assert msg.documents[0].child("InventoryHead").values["freight"] == "12,50"  # type: ignore[union-attr]
    problems = [p for p in ceb.check(msg) if p.path == "Inventory[1]/InventoryHead/freight"]
    assert [p.rule for p in problems] == ["decimal"]


def test_single_child_repeated_by_mistake_survives() -> None:
    msg = inventory()
    msg.add("BaseTransfer", copCode="2", copName="B", dxpMode="DXP", dxpId="DXPENT0000000002")
    doc = to_json(msg)
    assert isinstance(body(doc)["BaseTransfer"], list) and len(body(doc)["BaseTransfer"]) == 2
    again = from_json(doc)
    assert again == msg
    assert any(p.rule == "max_occurs" and p.path == "BaseTransfer" for p in ceb.check(again))


def test_unknown_elements_are_reported_like_xml_input() -> None:
    msg = inventory()
    from_xml = ceb.parse(ceb.render(msg))
    from_text = from_json(dumps(msg))
    notes = [(p.path, p.rule, p.severity) for p in from_xml.parse_notes]
    assert notes == [("Inventory[1]/InventoryHead/vendorNote", "unknown_element", "error")]
    assert [(p.path, p.rule, p.severity) for p in from_text.parse_notes] == notes


def test_null_field_means_absent() -> None:
    doc = to_json(inventory())
    head(doc)["insuredFee"] = None
    assert "insuredFee" not in from_json(doc).documents[0].child("InventoryHead").values  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------- refusals


def refused(doc: Any) -> JsonFormError:
    with pytest.raises(JsonFormError) as info:
        from_json(doc)
    assert isinstance(info.value, CebError)
    assert info.value.code == "CBEC-0201"
    return info.value


def test_float_refused_with_path() -> None:
    doc = to_json(inventory())
    head(doc)["freight"] = 13.89
    err = refused(doc)
    assert err.path == "CEB621Message.Inventory[0].InventoryHead.freight"
    assert err.path in err.zh and err.path in err.en
    assert "字符串" in err.zh and "string" in err.en and "digits" in err.en


def test_float_refused_from_text() -> None:
    text = dumps(inventory()).replace('"13.89000"', "13.89")
    assert refused(text).path.endswith("InventoryHead.freight")


def test_unknown_field_refused_with_path() -> None:
    doc = to_json(inventory())
    body(doc)["Inventory"][0]["InventoryList"][1]["colour"] = "red"
    err = refused(doc)
    assert err.path == "CEB621Message.Inventory[0].InventoryList[1].colour"
    assert "colour" in err.en and "InventoryList" in err.zh


def test_unknown_node_refused() -> None:
    doc = to_json(inventory())
    body(doc)["Shipment"] = {}
    assert refused(doc).path == "CEB621Message.Shipment"


def test_unknown_message_refused() -> None:
    err = refused({"CEB999Message": {"guid": GUID, "version": "1.0"}})
    assert isinstance(err, UnknownJsonMessage) and isinstance(err, UnknownMessage)
    assert "CEB999Message" in err.en
    refused({"Inventory": {}})
    refused({"CEB621Message": {}, "CEB311Message": {}})
    refused([1, 2])


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("orderNo", 12345),  # text must be a string: a number would lose leading zeros
        ("packNo", 2.0),  # an integer field takes JSON integers only
        ("packNo", True),
        ("freight", False),
        ("freight", ["1"]),
    ],
)
def test_wrong_json_types_refused(where: str, value: Any) -> None:
    doc = to_json(inventory())
    head(doc)[where] = value
    err = refused(doc)
    assert err.path == f"CEB621Message.Inventory[0].InventoryHead.{where}"


def test_repeated_child_must_be_a_list() -> None:
    doc = to_json(inventory())
    body(doc)["Inventory"] = body(doc)["Inventory"][0]
    err = refused(doc)
    assert err.path == "CEB621Message.Inventory" and "list" in err.en


def test_personal_values_never_appear_in_errors() -> None:
    doc = to_json(inventory())
    head(doc)["buyerIdNumber"] = int(ID_NUMBER)
    err = refused(doc)
    assert ID_NUMBER not in str(err) and ID_NUMBER not in err.zh + err.en


def test_bad_json_text_refused() -> None:
    err = refused('{"CEB621Message": {"guid": }')
    assert "line 1" in err.en
    assert "JSON" in err.zh


def test_duplicate_keys_refused() -> None:
    err = refused('{"CEB621Message": {"guid": "a", "guid": "b"}}')
    assert "guid" in err.en


def test_extension_and_signature_checked() -> None:
    doc = to_json(inventory())
    body(doc)["Signature"] = "<Signature>not the dsig namespace</Signature>"
    assert refused(doc).path == "CEB621Message.Signature"
    doc = to_json(inventory())
    body(doc)["ExtendMessage"]["Message"] = "<unclosed>"
    assert refused(doc).path == "CEB621Message.ExtendMessage.Message"
    doc = to_json(inventory())
    body(doc)["ExtendMessage"]["extra"] = "x"
    assert refused(doc).path == "CEB621Message.ExtendMessage.extra"


def test_extra_names_must_be_xml_names() -> None:
    doc = to_json(inventory())
    head(doc)["_extra"] = [["bad name>", "x"]]
    assert refused(doc).path == "CEB621Message.Inventory[0].InventoryHead._extra[0]"


def test_missing_guid_is_a_problem_not_a_refusal() -> None:
    doc = to_json(inventory())
    del body(doc)["guid"]
    msg = from_json(doc)
    assert msg.guid == ""
    assert any(p.path == "@guid" and p.rule == "required" for p in ceb.check(msg))


def test_size_limit() -> None:
    with pytest.raises(JsonFormError):
        jsonform.loads("{}" + " " * 100, max_bytes=10)


# ------------------------------------------------------------------------------- stored documents read back

#: every message kind the engine stores as documents (`cbec.clearance.documents.KINDS`)
STORED_KINDS = ("CEB311", "CEB411", "CEB511", "CEB513", "CEB621", "CEB623", "CEB625", "CEB711")


@pytest.mark.parametrize("code", STORED_KINDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_stored_document_reads_back_as_the_node_it_was(code: str, data: st.DataObject) -> None:
    """The engine builds the documents it compares from their stored JSON form instead of parsing their
    archived messages again: that must give the very node parsing gave, its XML included."""
    message = data.draw(messages(code))
    for document in message.documents:
        stored = json.loads(json.dumps(jsonform.node_to_json(document)))
        again = jsonform.document_from_json(code, stored)
        assert again == document
        assert jsonform.node_to_json(again) == stored


@pytest.mark.parametrize("code", STORED_KINDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_documents_parties_are_those_of_its_json_form(code: str, data: st.DataObject) -> None:
    """`node_parties` (read off the node where its schema has party fields) finds what `parties` finds
    walking the whole JSON form: access and the party index depend on it."""
    message = data.draw(messages(code))
    for document in message.documents:
        assert node_parties(document) == parties(jsonform.node_to_json(document))


def test_a_stored_form_that_is_not_a_document_is_refused_with_its_path() -> None:
    with pytest.raises(JsonFormError) as refused:
        jsonform.document_from_json("CEB621", {"InventoryHead": {"freight": 1.5}})
    assert refused.value.path == "Inventory.InventoryHead.freight"
