"""Document reading on documents the tests draw (tests/vision/documents_render.py) and read
with the real Tesseract: MRZ fields and check digits, a tampered MRZ refused, invoices."""

from __future__ import annotations

from datetime import date

import pytest

from tests.vision import documents_render as render
from vision.documents import DocumentUnreadable, read_invoice, read_mrz, tesseract_status
from vision.images import ImageLimits

pytestmark = pytest.mark.skipif(not tesseract_status()["available"],
                                reason=str(tesseract_status()["reason"]))


def picture(data: bytes):
    return ImageLimits().decode(data)


def test_tesseract_status_names_versions_and_languages():
    status = tesseract_status()
    assert status["available"] and status["reason"] is None
    assert {"eng", "vie"} <= set(status["languages"]) and status["version"]


def test_passport_mrz_read_with_every_field_and_check():
    holder = render.Holder(surname="TRAN", given_names="THI MAI", document_number="B7654321",
                           nationality="VNM", issuing_country="VNM", birth_date=date(1992, 11, 3),
                           sex="F", expiry_date=date(2030, 6, 14))
    doc = render.passport(holder)
    result = read_mrz(picture(doc.png))
    assert result["document_type"] == "passport" and result["format"] == "TD3"
    assert result["mrz_lines"] == doc.lines
    assert result["valid"] is True and result["problems"] == []
    assert result["checks"] == {"document_number": True, "birth_date": True, "expiry_date": True,
                                "optional_data": True, "composite": True}
    assert result["fields"] == {
        "surname": "TRAN", "given_names": "THI MAI", "document_number": "B7654321",
        "nationality": "VNM", "birth_date": "1992-11-03", "sex": "F", "expiry_date": "2030-06-14",
        "issuing_country": "VNM", "optional_data": None}


def test_tampered_passport_is_refused_with_the_failing_checks_named():
    doc = render.passport(tampered=True)
    result = read_mrz(picture(doc.png))
    assert result["mrz_lines"] == doc.lines  # read right: the document itself is wrong
    assert result["valid"] is False
    assert result["checks"]["document_number"] is False and result["checks"]["composite"] is False
    assert result["checks"]["birth_date"] is True and result["checks"]["expiry_date"] is True
    assert any("document number" in p for p in result["problems"])
    assert any("composite" in p for p in result["problems"])


def test_id_card_td1_read_and_verified():
    holder = render.Holder(surname="LE", given_names="MINH KHOA", document_number="001203004",
                           nationality="VNM", issuing_country="VNM", birth_date=date(2001, 2, 28),
                           sex="M", expiry_date=date(2041, 2, 28))
    doc = render.id_card(holder)
    result = read_mrz(picture(doc.png))
    assert result["document_type"] == "id_card" and result["format"] == "TD1"
    assert result["mrz_lines"] == doc.lines
    assert result["valid"] is True
    assert set(result["checks"]) == {"document_number", "birth_date", "expiry_date", "composite"}
    assert all(result["checks"].values())
    f = result["fields"]
    assert (f["surname"], f["given_names"], f["document_number"]) == ("LE", "MINH KHOA", "001203004")
    assert (f["birth_date"], f["expiry_date"], f["sex"]) == ("2001-02-28", "2041-02-28", "M")


def test_blank_image_has_no_mrz():
    with pytest.raises(DocumentUnreadable, match="no machine-readable zone"):
        read_mrz(picture(render.blank()))


@pytest.mark.parametrize("language", ["vi", "en"])
def test_invoice_fields_and_lines(language):
    doc = render.invoice(language)
    result = read_invoice(picture(doc.png))
    assert result["language"] == doc.language
    assert result["invoice_number"]["value"] == doc.number
    assert result["date"]["value"] == doc.date.isoformat()
    assert result["supplier"]["value"] == doc.supplier
    assert result["currency"]["value"] == doc.currency
    assert result["total"]["value"] == pytest.approx(doc.total)
    assert result["tax"]["value"] == pytest.approx(doc.tax)
    got = [(line["description"], line["quantity"], line["amount"]) for line in result["lines"]]
    assert got == [(line.description, line.quantity, pytest.approx(line.amount)) for line in doc.lines]
    for name in ("invoice_number", "date", "supplier", "total", "tax", "currency"):
        assert 0.5 < result[name]["confidence"] <= 1.0
    assert all(0.5 < line["confidence"] <= 1.0 for line in result["lines"])
    assert doc.number in result["text"]


def test_invoice_fields_not_on_the_page_are_null():
    result = read_invoice(picture(render.blank()))
    for name in ("invoice_number", "date", "supplier", "total", "tax", "currency"):
        assert result[name] == {"value": None, "confidence": 0.0}
    assert result["lines"] == []
