"""Test documents drawn with PIL: passport data pages (TD3), ID cards (TD1) and invoices.

The MRZ lines come from ``mrz.generator`` (the check digits are the library's, not ours);
``tampered`` changes one digit of the document number after the lines are made, so its check
digit no longer matches, as a forged page would. The invoices are Vietnamese (VND, labels
with diacritics, dates day first) or English (USD, dates month first, as in the US). Every builder returns PNG bytes and the values it drew,
so a test compares what was read with what was printed.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from mrz.generator.td1 import TD1CodeGenerator
from mrz.generator.td3 import TD3CodeGenerator
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONTS = "/usr/share/fonts/truetype/dejavu/"
SANS, SANS_BOLD, MONO = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf"


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONTS + name, size)


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def yymmdd(day: date) -> str:
    return day.strftime("%y%m%d")


@dataclass
class Holder:
    surname: str = "NGUYEN"
    given_names: str = "VAN AN"
    document_number: str = "C1234567"
    nationality: str = "VNM"
    issuing_country: str = "VNM"
    birth_date: date = date(1988, 4, 12)
    sex: str = "M"
    expiry_date: date = date(2031, 9, 30)
    optional_data: str = ""


@dataclass
class RenderedMRZ:
    png: bytes
    holder: Holder
    lines: list[str]
    tampered: bool = False


def td3_lines(h: Holder) -> list[str]:
    code = TD3CodeGenerator("P", h.issuing_country, h.surname, h.given_names, h.document_number,
                            h.nationality, yymmdd(h.birth_date), h.sex, yymmdd(h.expiry_date),
                            h.optional_data)
    return str(code).splitlines()


def td1_lines(h: Holder) -> list[str]:
    code = TD1CodeGenerator("ID", h.issuing_country, h.document_number, yymmdd(h.birth_date), h.sex,
                            yymmdd(h.expiry_date), h.nationality, h.surname, h.given_names,
                            h.optional_data)
    return str(code).splitlines()


def tamper(lines: list[str], line: int, start: int) -> list[str]:
    """Change the first digit of the document number found at ``start`` (check digit kept)."""
    chars = list(lines[line])
    i = next(k for k in range(start, start + 9) if chars[k].isdigit())
    chars[i] = str((int(chars[i]) + 3) % 10)
    return [*lines[:line], "".join(chars), *lines[line + 1:]]


def _degrade(image: Image.Image, rng: random.Random, noise: float, blur: float,
             rotate: float) -> Image.Image:
    if rotate:
        image = image.rotate(rotate, resample=Image.BICUBIC, expand=True, fillcolor=(255, 255, 255))
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    if noise:
        pixels = np.asarray(image).astype(np.int16)
        gen = np.random.default_rng(rng.randrange(1 << 30))
        pixels = pixels + gen.normal(0, noise, pixels.shape).astype(np.int16)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return image


def _data_page(size: tuple[int, int], title: str, h: Holder, labels: list[tuple[str, str]],
               mrz: list[str], mrz_size: int, portrait: bytes | None = None) -> Image.Image:
    image = Image.new("RGB", size, (246, 243, 232))
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.text((40, 28), title, font=font(SANS_BOLD, 30), fill=(30, 50, 110))
    # a photo placeholder: a face-coloured oval on grey, like the portrait on a real page
    draw.rectangle((40, 90, 290, 400), fill=(200, 200, 205))
    draw.ellipse((95, 140, 235, 330), fill=(214, 178, 150))
    if portrait is not None:  # the holder's photo in its box, as printed on the page
        photo = Image.open(io.BytesIO(portrait)).convert("RGB")
        photo.thumbnail((250, 310))
        image.paste(photo, (40 + (250 - photo.width) // 2, 90 + (310 - photo.height) // 2))
    x, y = 330, 95
    for label, value in labels:
        draw.text((x, y), label, font=font(SANS, 17), fill=(90, 90, 110))
        draw.text((x, y + 20), value, font=font(SANS_BOLD, 24), fill=(10, 10, 10))
        y += 58
    mono = font(MONO, mrz_size)
    line_height = int(mrz_size * 1.45)
    top = height - 40 - line_height * len(mrz)
    draw.rectangle((0, top - 20, width, height), fill=(255, 255, 255))
    for i, line in enumerate(mrz):
        draw.text((40, top + i * line_height), line, font=mono, fill=(0, 0, 0))
    return image


def passport(holder: Holder | None = None, tampered: bool = False, noise: float = 0.0,
             blur: float = 0.0, rotate: float = 0.0, seed: int = 0,
             portrait: bytes | None = None) -> RenderedMRZ:
    h = holder or Holder()
    lines = td3_lines(h)
    if tampered:
        lines = tamper(lines, 1, 0)
    labels = [("Họ / Surname", h.surname), ("Chữ đệm và tên / Given names", h.given_names),
              ("Quốc tịch / Nationality", h.nationality),
              ("Ngày sinh / Date of birth", h.birth_date.strftime("%d/%m/%Y")),
              ("Giới tính / Sex", h.sex), ("Số hộ chiếu / Passport No", h.document_number),
              ("Có giá trị đến / Date of expiry", h.expiry_date.strftime("%d/%m/%Y"))]
    image = _data_page((1250, 880), "HỘ CHIẾU / PASSPORT", h, labels, lines, 40, portrait)
    image = _degrade(image, random.Random(seed), noise, blur, rotate)
    return RenderedMRZ(png(image), h, lines, tampered)


def id_card(holder: Holder | None = None, tampered: bool = False, noise: float = 0.0,
            blur: float = 0.0, rotate: float = 0.0, seed: int = 0) -> RenderedMRZ:
    h = holder or Holder(document_number="079088001", optional_data="")
    lines = td1_lines(h)
    if tampered:
        lines = tamper(lines, 0, 5)
    labels = [("Họ và tên / Full name", f"{h.surname} {h.given_names}"),
              ("Ngày sinh / Date of birth", h.birth_date.strftime("%d/%m/%Y")),
              ("Số / No", h.document_number)]
    image = _data_page((1000, 700), "CĂN CƯỚC / IDENTITY CARD", h, labels, lines, 40)
    image = _degrade(image, random.Random(seed), noise, blur, rotate)
    return RenderedMRZ(png(image), h, lines, tampered)


def blank(width: int = 900, height: int = 600) -> bytes:
    return png(Image.new("RGB", (width, height), (250, 250, 250)))


# --------------------------------------------------------------------------- invoices


@dataclass
class InvoiceLine:
    description: str
    quantity: int
    amount: float


@dataclass
class RenderedInvoice:
    png: bytes
    number: str
    date: date
    supplier: str
    currency: str
    lines: list[InvoiceLine]
    tax: float
    total: float
    language: str
    extra: dict = field(default_factory=dict)


def money(amount: float, currency: str) -> str:
    if currency == "VND":
        return f"{int(round(amount)):,}".replace(",", ".") + " ₫"
    if currency == "USD":
        return f"${amount:,.2f}"
    return f"{amount:,.2f} {currency}"


def invoice(language: str = "vi", number: str | None = None, day: date | None = None,
            supplier: str | None = None, lines: list[InvoiceLine] | None = None,
            vat_rate: float = 0.08, noise: float = 0.0, blur: float = 0.0, rotate: float = 0.0,
            seed: int = 0) -> RenderedInvoice:
    vi = language == "vi"
    currency = "VND" if vi else "USD"
    number = number or ("0001234" if vi else "INV-2024-0087")
    day = day or date(2024, 3, 15)
    supplier = supplier or ("Công ty TNHH Thực phẩm Sài Gòn Xanh" if vi
                            else "Blue Harbor Linen Supply Ltd")
    lines = lines or ([InvoiceLine("Cà phê hạt Arabica", 10, 1_500_000),
                       InvoiceLine("Nước suối đóng chai", 200, 1_200_000),
                       InvoiceLine("Khăn giấy ăn", 50, 350_000)] if vi else
                      [InvoiceLine("Bath towels", 40, 320.00), InvoiceLine("Bed sheets king", 20, 540.50),
                       InvoiceLine("Pillow cases", 60, 150.00)])
    subtotal = sum(line.amount for line in lines)
    tax = round(subtotal * vat_rate, 0 if vi else 2)
    total = round(subtotal + tax, 2)

    image = Image.new("RGB", (1240, 1000), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    big, normal, bold = font(SANS_BOLD, 34), font(SANS, 24), font(SANS_BOLD, 24)
    draw.text((60, 40), "HÓA ĐƠN GIÁ TRỊ GIA TĂNG" if vi else "INVOICE", font=big, fill=(0, 0, 0))
    head = ([("Đơn vị bán", supplier), ("Số hóa đơn", number), ("Ngày", day.strftime("%d/%m/%Y"))]
            if vi else [("Supplier", supplier), ("Invoice No", number), ("Date", day.strftime("%m/%d/%Y"))])
    y = 120
    for label, value in head:
        draw.text((60, y), f"{label}: {value}", font=normal, fill=(0, 0, 0))
        y += 44
    y += 30
    cols = (60, 620, 860) if vi else (60, 620, 860)
    headers = ("Tên hàng hóa", "Số lượng", "Thành tiền") if vi else ("Description", "Qty", "Amount")
    for x, text in zip(cols, headers):
        draw.text((x, y), text, font=bold, fill=(0, 0, 0))
    y += 50
    for line in lines:
        draw.text((cols[0], y), line.description, font=normal, fill=(0, 0, 0))
        draw.text((cols[1], y), str(line.quantity), font=normal, fill=(0, 0, 0))
        draw.text((cols[2], y), money(line.amount, currency), font=normal, fill=(0, 0, 0))
        y += 44
    y += 30
    rate = f"{vat_rate:.0%}"
    foot = ([("Cộng tiền hàng", subtotal), (f"Thuế GTGT ({rate})", tax), ("Tổng cộng", total)]
            if vi else [("Subtotal", subtotal), (f"VAT ({rate})", tax), ("Total", total)])
    for label, value in foot:
        draw.text((560, y), f"{label}:", font=bold, fill=(0, 0, 0))
        draw.text((cols[2], y), money(value, currency), font=bold, fill=(0, 0, 0))
        y += 48
    image = _degrade(image, random.Random(seed), noise, blur, rotate)
    return RenderedInvoice(png(image), number, day, supplier, currency, lines, tax, total,
                           "vie" if vi else "eng")
