"""Document reading accuracy and latency: ``vision.documents`` against bare Tesseract.

Renders a set of documents with ``tests/vision/documents_render.py`` (varied names, numbers
and dates; a share with noise, blur and a rotation of about a degree): passports (TD3), ID
cards (TD1), passports with one document-number digit changed (their check digits fail),
and Vietnamese (VND) and English (USD) invoices. For each it reports

* MRZ: the share read right (a genuine document valid with its exact lines, a tampered one
  refused), field accuracy, and latency per document;
* invoices: accuracy of number, date, supplier, total, tax, currency and item lines;

and, on the same images in the same run, the floor: bare ``pytesseract.image_to_string``
(``eng`` for the MRZ, lines with '<' handed to the same ``mrz`` checker; ``vie+eng`` for the
invoices, a field counted when its printed text appears verbatim in the OCR text).

    OMP_WAIT_POLICY=passive .venv/bin/python bench/ocr_documents.py [--documents 32] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pytesseract  # noqa: E402
from mrz.checker.td1 import TD1CodeChecker  # noqa: E402
from mrz.checker.td3 import TD3CodeChecker  # noqa: E402

from tests.vision import documents_render as render  # noqa: E402
from vision.documents import DocumentUnreadable, read_invoice, read_mrz  # noqa: E402
from vision.images import ImageLimits  # noqa: E402

SURNAMES = ["NGUYEN", "TRAN", "LE", "PHAM", "HOANG", "VO", "DANG", "BUI", "SMITH", "MUELLER",
            "TANAKA", "GARCIA"]
GIVEN = ["VAN AN", "THI MAI", "MINH KHOA", "QUOC BAO", "THU HA", "JOHN", "ANNA MARIA", "KENJI",
         "LUCIA", "DUC THANH"]
COUNTRIES = ["VNM", "USA", "ITA", "JPN", "ESP", "FRA", "GBR", "AUS"]
SUPPLIERS_VI = ["Công ty TNHH Thực phẩm Sài Gòn Xanh", "Công ty Cổ phần Dệt may Hà Nội",
                "Công ty TNHH Nước giải khát Đà Nẵng", "Hợp tác xã Rau sạch Đà Lạt"]
SUPPLIERS_EN = ["Blue Harbor Linen Supply Ltd", "Pacific Coffee Traders Inc",
                "Northwind Cleaning Products", "Golden Gate Amenities LLC"]
ITEMS_VI = ["Cà phê hạt Arabica", "Nước suối đóng chai", "Khăn giấy ăn", "Dầu gội đầu",
            "Xà phòng cục", "Trà xanh túi lọc", "Gạo thơm ST25"]
ITEMS_EN = ["Bath towels", "Bed sheets king", "Pillow cases", "Coffee beans", "Shampoo bottles",
            "Hand soap", "Green tea bags"]


def degradation(rng: random.Random) -> dict:
    if rng.random() < 0.5:
        return {}
    return {"noise": rng.choice([4.0, 8.0, 12.0]), "blur": rng.choice([0.0, 0.6, 1.0]),
            "rotate": rng.choice([-1.0, -0.5, 0.5, 1.0]), "seed": rng.randrange(1000)}


def holder(rng: random.Random, td1: bool) -> render.Holder:
    birth = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
    expiry = date(2026, 1, 1) + timedelta(days=rng.randrange(365 * 12))
    number = ("".join(rng.choice("0123456789") for _ in range(9)) if td1 else
              rng.choice("BCKN") + "".join(rng.choice("0123456789") for _ in range(7)))
    country = rng.choice(COUNTRIES)
    return render.Holder(rng.choice(SURNAMES), rng.choice(GIVEN), number, country, country,
                         birth, rng.choice("MF"), expiry)


def expected_fields(h: render.Holder) -> dict:
    return {"surname": h.surname, "given_names": h.given_names, "document_number": h.document_number,
            "nationality": h.nationality, "birth_date": h.birth_date.isoformat(), "sex": h.sex,
            "expiry_date": h.expiry_date.isoformat(), "issuing_country": h.issuing_country}


def bare_mrz(image) -> tuple[list[str], bool]:
    text = pytesseract.image_to_string(image, lang="eng")
    lines = [ln.replace(" ", "") for ln in text.splitlines() if "<" in ln and len(ln.replace(" ", "")) >= 25]
    for rows, length, checker in ((2, 44, TD3CodeChecker), (3, 30, TD1CodeChecker)):
        if len(lines) >= rows and all(len(ln) == length for ln in lines[-rows:]):
            try:
                return lines[-rows:], bool(checker("\n".join(lines[-rows:])))
            except Exception:  # noqa: BLE001 - an unparseable reading is a miss
                return lines[-rows:], False
    return lines, False


def run_mrz(docs: list[tuple[str, render.RenderedMRZ]]) -> None:
    ok = fields_right = fields_total = base_ok = 0
    ours, bare = [], []
    misses = []
    for kind, doc in docs:
        pic = ImageLimits().decode(doc.png)
        t = time.perf_counter()
        try:
            result = read_mrz(pic)
        except DocumentUnreadable:
            result = None
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        base_lines, base_valid = bare_mrz(pic.pil)
        bare.append(time.perf_counter() - t)
        if doc.tampered:
            right = result is not None and not result["valid"]
            base_ok += not base_valid
        else:
            right = result is not None and result["valid"] and result["mrz_lines"] == doc.lines
            base_ok += base_valid and base_lines == doc.lines
            want = expected_fields(doc.holder)
            got = result["fields"] if result else {}
            fields_right += sum(got.get(k) == v for k, v in want.items())
            fields_total += len(want)
        ok += right
        if not right:
            misses.append((kind, doc.lines, result and result["mrz_lines"]))
    n = len(docs)
    print(f"MRZ  {n} documents ({sum(d.tampered for _, d in docs)} tampered)")
    print(f"  read right (genuine valid with exact lines, tampered refused): {ok}/{n} = {ok / n:.0%}"
          f"   floor (bare image_to_string + mrz checker): {base_ok}/{n} = {base_ok / n:.0%}")
    print(f"  field accuracy on genuine documents: {fields_right}/{fields_total} = "
          f"{fields_right / max(fields_total, 1):.1%}")
    print(f"  latency per document: p50 {statistics.median(ours):.2f} s, max {max(ours):.2f} s"
          f"   floor p50 {statistics.median(bare):.2f} s")
    for kind, want, got in misses:
        print(f"  miss {kind}: printed {want} read {got}")


def run_invoices(docs: list[render.RenderedInvoice]) -> None:
    names = ("invoice_number", "date", "supplier", "total", "tax", "currency", "lines")
    right = dict.fromkeys(names, 0)
    base_right = dict.fromkeys(names[:3], 0)
    ours, bare = [], []
    for doc in docs:
        pic = ImageLimits().decode(doc.png)
        t = time.perf_counter()
        r = read_invoice(pic)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        text = pytesseract.image_to_string(pic.pil, lang="vie+eng")
        bare.append(time.perf_counter() - t)
        want = {"invoice_number": doc.number, "date": doc.date.isoformat(), "supplier": doc.supplier,
                "total": doc.total, "tax": doc.tax, "currency": doc.currency}
        for k, v in want.items():
            got = r[k]["value"]
            right[k] += (abs(got - v) < 0.005) if isinstance(v, float) and got is not None else got == v
        got_lines = [(ln["description"], ln["quantity"], ln["amount"]) for ln in r["lines"]]
        right["lines"] += got_lines == [(ln.description, ln.quantity, float(ln.amount)) for ln in doc.lines]
        base_right["invoice_number"] += doc.number in text
        base_right["date"] += doc.date.strftime("%d/%m/%Y" if doc.currency == "VND" else "%m/%d/%Y") in text
        base_right["supplier"] += doc.supplier in text
    n = len(docs)
    print(f"Invoices  {n} documents ({sum(d.currency == 'VND' for d in docs)} VND, "
          f"{sum(d.currency == 'USD' for d in docs)} USD)")
    print("  field accuracy: " + ", ".join(f"{k} {v}/{n}" for k, v in right.items()))
    total = sum(right.values())
    print(f"  all fields: {total}/{n * len(names)} = {total / (n * len(names)):.1%}"
          f"   floor (printed text found verbatim in bare OCR, number/date/supplier): "
          + ", ".join(f"{k} {v}/{n}" for k, v in base_right.items()))
    print(f"  latency per document: p50 {statistics.median(ours):.2f} s, max {max(ours):.2f} s"
          f"   floor (bare image_to_string) p50 {statistics.median(bare):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=32, help="MRZ documents; invoices are a third")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    mrz_docs = []
    for i in range(args.documents):
        kind = ("passport", "id_card", "passport", "tampered")[i % 4]
        h = holder(rng, td1=kind == "id_card")
        build = render.id_card if kind == "id_card" else render.passport
        mrz_docs.append((kind, build(h, tampered=kind == "tampered", **degradation(rng))))
    invoices = []
    for i in range(max(2, args.documents // 3)):
        vi = i % 2 == 0
        items = rng.sample(ITEMS_VI if vi else ITEMS_EN, rng.randint(2, 4))
        lines = [render.InvoiceLine(d, rng.randint(1, 200),
                                    rng.randrange(50, 5000) * 1000 if vi else rng.randrange(1000, 90000) / 100)
                 for d in items]
        number = (f"{rng.randrange(10**7):07d}" if vi else f"INV-{rng.randrange(10**4):04d}")
        day = date(2024, 1, 1) + timedelta(days=rng.randrange(700))
        supplier = rng.choice(SUPPLIERS_VI if vi else SUPPLIERS_EN)
        invoices.append(render.invoice("vi" if vi else "en", number, day, supplier, lines,
                                       **degradation(rng)))
    run_mrz(mrz_docs)
    run_invoices(invoices)


if __name__ == "__main__":
    main()
