"""Reading documents with Tesseract: the machine-readable zone of passports and ID cards, and
supplier invoices.

``read_mrz(picture)`` finds the MRZ at the foot of a passport data page (TD3, 2 x 44) or an ID
card (TD1, 3 x 30), reads it character by character onto the fixed grid of the format and
hands the lines to the ``mrz`` package, whose checker computes every check digit. A document
whose check digits disagree comes back ``valid=False`` with the failing checks named: the
caller refuses it. No MRZ at all raises ``DocumentUnreadable`` saying what photo to take.

``read_invoice(picture)`` reads a Vietnamese or English invoice (``vie+eng``) and picks the
number, date, supplier, VAT, total, currency and item lines by their labels; each value
carries the mean Tesseract confidence of the words it came from, and a field that is not on
the page is null, never guessed.

``tesseract_status()`` says whether the binary and the languages are installed.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import date

import cv2
import numpy as np
import pytesseract
from mrz.base.functions import hash_is_ok
from mrz.checker.td1 import TD1CodeChecker
from mrz.checker.td3 import TD3CodeChecker

from vision.images import Picture

LANGUAGES = ("eng", "vie")
INSTALL = "apt-get install tesseract-ocr tesseract-ocr-vie"
MRZ_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
MRZ_CONFIG = f"--psm 6 -c tessedit_char_whitelist={MRZ_ALPHABET}"


class DocumentUnreadable(ValueError):
    """No document could be read from the picture; the message says what photo to send."""


class TesseractMissing(RuntimeError):
    """Tesseract or one of its languages is not installed; the message names the package."""


_READY: dict | None = None  # a working install is remembered; a missing one is asked again


def tesseract_status() -> dict:
    """{available, version, languages, reason}; never raises."""
    global _READY
    if _READY is not None:
        return dict(_READY)
    try:
        version = str(pytesseract.get_tesseract_version())
        languages = sorted(pytesseract.get_languages())
    except Exception as e:  # noqa: BLE001 - a missing or broken binary is a status, not a crash
        return {"available": False, "version": None, "languages": [],
                "reason": f"tesseract is not usable ({type(e).__name__}): {INSTALL}"}
    missing = [lang for lang in LANGUAGES if lang not in languages]
    reason = (f"tesseract has no {', '.join(missing)} language data: {INSTALL}" if missing else None)
    status = {"available": not missing, "version": version, "languages": languages, "reason": reason}
    if not missing:
        _READY = dict(status)
    return status


def _require_tesseract() -> None:
    status = tesseract_status()
    if not status["available"]:
        raise TesseractMissing(status["reason"])


# --------------------------------------------------------------------------- MRZ

# What each position of each line may hold: D digit (a check digit may also be '<' when its
# field is empty), A letter or filler, X either. OCR confuses O/0, I/1, S/5... and the format
# says which one a position can be.
LAYOUTS = {
    "TD3": ("AA" + "AAA" + "A" * 39,
            "XXXXXXXXX" + "D" + "AAA" + "DDDDDD" + "D" + "A" + "DDDDDD" + "D" + "X" * 14 + "D" + "D"),
    "TD1": ("AA" + "AAA" + "X" * 9 + "D" + "X" * 15,
            "DDDDDD" + "D" + "A" + "DDDDDD" + "D" + "AAA" + "X" * 11 + "D",
            "A" * 30),
}
TO_DIGIT = str.maketrans("OQDUIlLZSBG", "00001112586")
TO_LETTER = str.maketrans("0125864", "OIZSBGA")
CHECKS = {"document number hash": "document_number", "birth date hash": "birth_date",
          "expiry date hash": "expiry_date", "optional data hash": "optional_data",
          "final hash": "composite"}


@dataclass
class _Box:
    char: str
    left: int
    right: int
    bottom: int
    top: int

    @property
    def centre(self) -> float:
        return (self.left + self.right) / 2


def _box_lines(boxes: list[_Box]) -> list[list[_Box]]:
    """Split Tesseract's boxes (reading order) into lines: a line ends where x jumps back."""
    lines: list[list[_Box]] = []
    for box in boxes:
        if lines and box.centre > lines[-1][-1].left:
            lines[-1].append(box)
        else:
            lines.append([box])
    return lines


def _pitch(line: list[_Box]) -> float | None:
    """Character pitch of a monospace line: the median step between neighbouring narrow boxes."""
    widths = [b.right - b.left for b in line]
    if len(line) < 8:
        return None
    narrow = statistics.median(widths) * 1.6
    steps = [b.left - a.left for a, b in zip(line, line[1:])
             if a.right - a.left <= narrow and b.right - b.left <= narrow and b.left > a.left]
    return statistics.median(steps) if steps else None


def _grid(line: list[_Box], length: int, pitch: float, layout: str) -> str:
    """Place the boxes of a line on its ``length`` cells (LSTM merges runs of '<' into one wide
    box and sometimes reads one glyph twice; the grid undoes both), then fix by position."""
    narrow = [b for b in line if b.right - b.left <= 1.6 * pitch]
    origin = narrow[0].centre if narrow else line[0].left + pitch / 2
    # refine origin and pitch by least squares over the boxes' first assignment
    if len(narrow) >= 8:
        idx = np.array([round((b.centre - origin) / pitch) for b in narrow], float)
        xs = np.array([b.centre for b in narrow], float)
        if len(set(idx)) > 2:
            pitch, origin = np.polyfit(idx, xs, 1)
    # '<' is a short glyph: a full-height box read as '<' is fine, a short one read as K is not
    tall = float(np.percentile([b.bottom - b.top for b in line], 90))
    cells: list[list[str]] = [[] for _ in range(length)]
    for b in line:
        if b.bottom - b.top < 0.8 * tall:
            b = _Box("<", b.left, b.right, b.bottom, b.top)
        if b.right - b.left > 1.6 * pitch and b.char == "<":
            first = int(np.ceil((b.left - origin) / pitch - 0.2))
            last = int(np.floor((b.right - origin) / pitch + 0.2))
            for i in range(max(first, 0), min(last, length - 1) + 1):
                cells[i].append("<")
        else:
            i = int(round((b.centre - origin) / pitch))
            if 0 <= i < length:
                cells[i].append(b.char)
    out = []
    for kind, found in zip(layout, cells):
        if not found:
            out.append("<")  # an unread cell is filler; a check digit will catch a lost character
            continue
        if kind == "D":
            digits = [c for c in found if c.isdigit()]
            pick = digits[0] if digits else found[0]
            pick = pick if pick == "<" else pick.translate(TO_DIGIT)
        elif kind == "A":
            letters = [c for c in found if c.isalpha() or c == "<"]
            pick = (letters[0] if letters else found[0]).translate(TO_LETTER)
        else:
            digits = [c for c in found if c.isdigit()]
            pick = digits[0] if digits and len(found) > 1 else found[0]
        out.append(pick)
    # O and 0 in a letters-and-digits field: a digit among digits, a letter among letters
    for i, (kind, c) in enumerate(zip(layout, out)):
        if kind == "X" and c in LOOKALIKE:
            near = [out[j] for j in (i - 1, i + 1) if 0 <= j < length and layout[j] == "X"
                    and out[j] not in ("<", "O", "0")]
            if near and all(n.isdigit() for n in near):
                out[i] = "0"
            elif near and all(n.isalpha() for n in near):
                out[i] = "O"
    return "".join(out)


# (line, start, end, check digit position) of the fields that may hold letters and digits
AMBIGUOUS = {"TD3": ((1, 0, 9, 9), (1, 28, 42, 42)), "TD1": ((0, 5, 14, 14),)}
LOOKALIKE = {"O": "0", "0": "O"}


def _repair(fmt: str, lines: list[str]) -> list[str]:
    """Where a letters-and-digits field fails its own check digit and holds O or 0 (one glyph
    to OCR), take the O/0 choice that the check digit confirms, if exactly one does. Only
    that swap is tried, so a changed digit still fails."""
    lines = list(lines)
    for row, start, end, check in AMBIGUOUS[fmt]:
        value, digit = lines[row][start:end], lines[row][check]
        spots = [i for i, c in enumerate(value) if c in LOOKALIKE]
        if hash_is_ok(value, digit) or not spots or len(spots) > 6:
            continue
        fits = []
        for mask in range(1, 1 << len(spots)):
            chars = list(value)
            for k, i in enumerate(spots):
                if mask >> k & 1:
                    chars[i] = LOOKALIKE[chars[i]]
            if hash_is_ok("".join(chars), digit):
                fits.append("".join(chars))
        if len(fits) == 1:
            line = lines[row]
            lines[row] = line[:start] + fits[0] + line[end:]
    return lines


def _mrz_candidates(gray: np.ndarray) -> list[tuple[str, list[str]]]:
    """Every TD3 / TD1 reading of the bottom-most run of MRZ-shaped lines in one image."""
    height = gray.shape[0]
    raw = pytesseract.image_to_boxes(gray, lang="eng", config=MRZ_CONFIG)
    boxes = []
    for row in raw.splitlines():
        parts = row.split(" ")
        if len(parts) >= 5 and parts[0] in MRZ_ALPHABET and parts[0]:
            left, bottom, right, top = map(int, parts[1:5])
            boxes.append(_Box(parts[0], left, right, height - bottom, height - top))
    shaped = []  # (format, line boxes, pitch) for lines as long as an MRZ line
    for line in _box_lines(boxes):
        pitch = _pitch(line)
        if not pitch:
            continue
        cells = (line[-1].right - line[0].left) / pitch
        fmt = "TD3" if 40 <= cells <= 47 else "TD1" if 26 <= cells <= 33 else None
        if fmt:
            shaped.append((fmt, line, pitch))
    found = []
    for fmt, rows in (("TD3", 2), ("TD1", 3)):
        lines = [(line, pitch) for f, line, pitch in shaped if f == fmt]
        if len(lines) >= rows:
            chosen = lines[-rows:]  # the MRZ is the foot of the page
            length = 44 if fmt == "TD3" else 30
            text = [_grid(line, length, pitch, layout)
                    for (line, pitch), layout in zip(chosen, LAYOUTS[fmt])]
            found.append((fmt, _repair(fmt, text)))
    return found


def _variants(picture: Picture):
    """(kind, image) to read, cheapest first: the lower part of the page, then more of it, at a
    width where MRZ characters are about 30 px high, as grey and binarised (Otsu) at two
    sizes: they fail on different glyphs."""
    gray = cv2.cvtColor(picture.rgb, cv2.COLOR_RGB2GRAY)
    height = gray.shape[0]
    for top in (int(height * 0.55), int(height * 0.3), 0):
        region = gray[top:]
        scale = 1500 / region.shape[1]
        yield "grey", cv2.resize(region, None, fx=scale, fy=scale,
                                 interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        for kind, factor in (("binary", 1.0), ("binary-large", 1.4)):
            s = scale * factor
            resized = cv2.resize(region, None, fx=s, fy=s,
                                 interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
            smooth = cv2.GaussianBlur(resized, (3, 3), 0)
            _, binary = cv2.threshold(smooth, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
            yield kind, binary


def _iso(yymmdd: str, future: bool) -> str | None:
    """YYMMDD to ISO. A birth date is never in the future; an expiry date is this century."""
    try:
        yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
        year = 2000 + yy
        if not future and year > date.today().year:
            year -= 100
        return date(year, mm, dd).isoformat()
    except ValueError:
        return None


def _check(fmt: str, lines: list[str]) -> dict:
    checker_cls = TD3CodeChecker if fmt == "TD3" else TD1CodeChecker
    try:
        checker = checker_cls("\n".join(lines))
    except Exception as e:  # noqa: BLE001 - the mrz package raises its own errors on a bad shape
        return {"valid": False, "checks": {}, "problems": [f"MRZ not parseable: {e}"], "fields": None}
    report = dict(checker.report.fields)
    checks = {name: bool(report.get(key)) for key, name in CHECKS.items()
              if key in report}
    problems = [f"check digit of {name.replace('_', ' ')} does not match" for name, ok in checks.items()
                if not ok]
    problems += [f"{desc} is wrong" for desc, ok in checker.report.fields
                 if not ok and desc not in CHECKS]
    problems += list(checker.report.errors and [e for e in checker.report.errors
                                                if not e.startswith("false ")])
    f = checker.fields()
    birth, expiry = _iso(f.birth_date, future=False), _iso(f.expiry_date, future=True)
    fields = {
        "surname": f.surname.strip() or None,
        "given_names": f.name.strip() or None,
        "document_number": f.document_number.replace("<", "") or None,
        "nationality": f.nationality.replace("<", "") or None,
        "birth_date": birth,
        "sex": f.sex if f.sex in ("M", "F", "X") else None,
        "expiry_date": expiry,
        "issuing_country": f.country.replace("<", "") or None,
        "optional_data": (f.optional_data.replace("<", "")
                          + (getattr(f, "optional_data_2", "") or "").replace("<", "")) or None,
    }
    if birth is None:
        problems.append(f"birth date {f.birth_date!r} is not a date")
    if expiry is None:
        problems.append(f"expiry date {f.expiry_date!r} is not a date")
    valid = bool(checker) and all(checks.values()) and birth is not None and expiry is not None
    return {"valid": valid, "checks": checks, "problems": problems, "fields": fields}


def read_mrz(picture: Picture) -> dict:
    """The MRZ of a passport (TD3) or ID card (TD1), every check digit verified.

    Returns {document_type, format, valid, fields, checks, problems, mrz_lines}; ``valid`` is
    False when any check digit or field fails, with the failing checks in ``problems``.
    Raises DocumentUnreadable when the picture holds no MRZ.
    """
    _require_tesseract()
    best = None
    seen: dict[tuple, set[str]] = {}
    for kind, image in _variants(picture):
        for fmt, lines in _mrz_candidates(image):
            result = _check(fmt, lines)
            score = (result["valid"], sum(result["checks"].values()), -len(result["problems"]))
            if best is None or score > best[0]:
                best = (score, fmt, lines, result)
            seen.setdefault(tuple(lines), set()).add(kind)
        # all checks pass, or two different treatments of the image read the same lines:
        # the reading is the document's, more variants would not change it
        if best and (best[0][0] or len(seen.get(tuple(best[2]), ())) >= 2):
            break
    if best is None:
        raise DocumentUnreadable(
            "no machine-readable zone found: photograph the whole data page (passport) or the "
            "back of the ID card, flat, sharp and evenly lit, with the two or three lines of "
            "<<< characters at the bottom fully in the frame")
    _, fmt, lines, result = best
    if not result["valid"]:
        result["problems"].append("the MRZ does not verify: if the document is genuine, retake "
                                  "the photo flat and sharp; otherwise refuse it")
    return {"document_type": "passport" if fmt == "TD3" else "id_card", "format": fmt,
            "valid": result["valid"], "fields": result["fields"], "checks": result["checks"],
            "problems": result["problems"], "mrz_lines": lines}


# --------------------------------------------------------------------------- invoices

# Labels by field, written without diacritics: rows are matched on their folded text, so
# "Số hóa đơn", "SO HOA DON" and an OCR that lost a tone mark all match.
LABELS = {
    "invoice_number": r"(?:so hoa don|ma hoa don|invoice\s*(?:no|number|#|n°)|inv\.?\s*no|bill\s*no)",
    "date": r"(?:ngay lap|ngay hoa don|ngay|invoice date|date of issue|issue date|date)",
    "supplier": r"(?:don vi ban hang|don vi ban|nguoi ban|ben ban|nha cung cap|supplier|seller|vendor|"
                r"sold by|from)",
    "tax": r"(?:tien thue gtgt|thue gtgt|thue vat|tien thue|vat|tax|gst)",
    "total": r"(?:tong cong tien thanh toan|tong tien thanh toan|tong cong|tong thanh toan|"
             r"grand total|total amount|amount due|total due|total)",
}
NOT_TOTAL = re.compile(r"(?:sub\s*-?\s*total|cong tien hang|truoc thue|before tax|tong tien hang)")
TABLE_HEAD = re.compile(r"(?:ten hang|hang hoa|dien giai|noi dung|description|item|product|service)")
CURRENCIES = [  # (code, pattern on the raw text)
    ("VND", r"₫|\bVN[DĐ]\b|\bđồng\b|(?<=\d)\s?[đd]\b|\bđ\b"),
    ("USD", r"\$|\bUSD\b|\bUS\s?dollars?\b"),
    ("EUR", r"€|\bEUR\b"),
    ("GBP", r"£|\bGBP\b"),
    ("JPY", r"¥|\bJPY\b"),
    ("SGD", r"\bSGD\b|S\$"),
    ("THB", r"฿|\bTHB\b"),
]
AMOUNT = re.compile(r"(?<![\w.,])(?:[$€£¥]\s?)?(\d{1,3}(?:[.,]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)"
                    r"(?![\w%])(?:\s?(?:₫|đ|VND|VNĐ|USD|EUR))?")
DATE_NUMERIC = re.compile(r"\b(\d{1,4})\s?[/.\-]\s?(\d{1,2})\s?[/.\-]\s?(\d{2,4})\b")
DATE_VI = re.compile(r"ngay\s*(\d{1,2})\s*thang\s*(\d{1,2})\s*nam\s*(\d{4})")
MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
                                      "oct", "nov", "dec"), start=1)}
DATE_EN = re.compile(r"\b(?:(\d{1,2})\s+([a-z]{3})[a-z]*\.?,?\s+(\d{4})|([a-z]{3})[a-z]*\.?\s+(\d{1,2}),?\s+(\d{4}))\b")


def _fold(text: str) -> str:
    """Lower case without diacritics (đ -> d), one character per character of the input, so
    a match in the folded text is at the same offsets in the original."""
    import unicodedata
    out = []
    for ch in text:
        if ch in "đĐ":
            out.append("d")
            continue
        base = unicodedata.normalize("NFD", ch)[0]
        out.append(base.lower() if len(base.lower()) == 1 else ch)
    return "".join(out)


@dataclass
class _Row:
    words: list[tuple[str, float, int]]  # text, confidence 0..1, left

    @property
    def text(self) -> str:
        return " ".join(w for w, _, _ in self.words)

    @property
    def folded(self) -> str:
        return _fold(self.text)

    def confidence(self, start: int, end: int) -> float:
        """Mean confidence of the words overlapping text[start:end]."""
        confs, pos = [], 0
        for word, conf, _ in self.words:
            if pos < end and pos + len(word) > start:
                confs.append(conf)
            pos += len(word) + 1
        return round(float(np.mean(confs)), 3) if confs else 0.0


def _rows(picture: Picture) -> list[_Row]:
    image = picture.rgb
    width = image.shape[1]
    scale = 1500 / width if width < 1000 else 2500 / width if width > 2500 else 1.0
    if scale != 1.0:
        image = cv2.resize(image, None, fx=scale, fy=scale,
                           interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    data = pytesseract.image_to_data(image, lang="vie+eng", config="--psm 6",
                                     output_type=pytesseract.Output.DICT)
    groups: dict[tuple, list[int]] = {}
    for i, text in enumerate(data["text"]):
        if text.strip() and float(data["conf"][i]) >= 0:
            groups.setdefault((data["block_num"][i], data["par_num"][i], data["line_num"][i]), []).append(i)
    # lines of one visual row that Tesseract put in separate blocks (table columns) are merged
    spans = []
    for idx in groups.values():
        top = min(data["top"][i] for i in idx)
        bottom = max(data["top"][i] + data["height"][i] for i in idx)
        spans.append([top, bottom, idx])
    spans.sort(key=lambda s: (s[0] + s[1]) / 2)
    merged: list[list] = []
    for top, bottom, idx in spans:
        if merged:
            last = merged[-1]
            overlap = min(bottom, last[1]) - max(top, last[0])
            if overlap > 0.5 * min(bottom - top, last[1] - last[0]):
                last[0], last[1], last[2] = min(top, last[0]), max(bottom, last[1]), last[2] + idx
                continue
        merged.append([top, bottom, list(idx)])
    rows = []
    for _, _, idx in merged:
        idx.sort(key=lambda i: data["left"][i])
        rows.append(_Row([(data["text"][i], float(data["conf"][i]) / 100, data["left"][i]) for i in idx]))
    return rows


def _amount(token: str) -> float | None:
    """'1.500.000' -> 1500000, '1,500,000' -> 1500000, '120.50' -> 120.5, '1.010,50' -> 1010.5."""
    digits = re.sub(r"[^\d.,]", "", token.replace(" ", ""))
    if not digits:
        return None
    last = max(digits.rfind("."), digits.rfind(","))
    if last >= 0 and len(digits) - last - 1 in (1, 2):  # decimals after the last separator
        whole, frac = digits[:last], digits[last + 1:]
    else:
        whole, frac = digits, ""
    whole = re.sub(r"[.,]", "", whole)
    try:
        return float(f"{whole or 0}.{frac or 0}")
    except ValueError:
        return None


def _last_amount(row: _Row, start: int = 0):
    """(value, confidence) of the last amount in the row after ``start``; None if none."""
    text = row.text
    found = [m for m in AMOUNT.finditer(text, start)]
    if not found:
        return None
    m = found[-1]
    value = _amount(m.group(1))
    return None if value is None else (value, row.confidence(*m.span(1)))


def _parse_date(text: str, prefer_month_first: bool) -> str | None:
    folded = _fold(text)
    m = DATE_VI.search(folded)
    candidates = []
    if m:
        candidates.append((int(m.group(3)), int(m.group(2)), int(m.group(1))))
    for m in DATE_NUMERIC.finditer(folded):
        a, b, c = m.groups()
        if len(a) == 4:
            candidates.append((int(a), int(b), int(c)))
        else:
            year = int(c) + (2000 if len(c) == 2 else 0)
            orders = [(year, int(a), int(b)), (year, int(b), int(a))]
            candidates += orders if prefer_month_first else orders[::-1]
    for m in DATE_EN.finditer(folded):
        d1, mon1, y1, mon2, d2, y2 = m.groups()
        mon, day, year = (mon1, d1, y1) if mon1 else (mon2, d2, y2)
        if mon in MONTHS:
            candidates.append((int(year), MONTHS[mon], int(day)))
    for year, month, day in candidates:
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            continue
    return None


def _field(value=None, confidence: float = 0.0) -> dict:
    return {"value": value, "confidence": confidence if value is not None else 0.0}


def _label_match(row: _Row, field: str):
    m = re.search(rf"(?:^|[^a-z]){LABELS[field]}(?![a-z])", row.folded)
    return m


def read_invoice(picture: Picture) -> dict:
    """Invoice number, date, supplier, tax, total, currency and item lines of an invoice.

    Returns {invoice_number, date, supplier, total, currency, tax: {value, confidence}, lines:
    [{description, quantity, amount, confidence}], text, language}; a field not found is
    {value: None, confidence: 0}.
    """
    _require_tesseract()
    rows = _rows(picture)
    text = "\n".join(r.text for r in rows)
    folded_all = _fold(text)
    vi_hits = len(re.findall(r"hoa don|tong cong|thue gtgt|don vi|so luong|thanh tien|ngay", folded_all))
    diacritics = sum(1 for ch in text if ch in "ăâđêôơưĂÂĐÊÔƠƯ" or ord(ch) in range(0x1EA0, 0x1EFA))
    language = "vie" if vi_hits >= 2 or diacritics > 10 else "eng"

    votes = {code: len(re.findall(pattern, text)) for code, pattern in CURRENCIES}
    code, count = max(votes.items(), key=lambda kv: kv[1])
    currency = _field(code, 1.0) if count else _field()
    if count:  # the confidence of the words that carry the currency marks
        confs = [r.confidence(*m.span()) for r in rows
                 for m in re.finditer(dict(CURRENCIES)[code], r.text)]
        currency = _field(code, round(float(np.mean(confs)), 3) if confs else 0.0)

    out = {name: _field() for name in ("invoice_number", "date", "supplier", "total", "tax")}
    out["currency"] = currency
    totals_row = None
    for i, row in enumerate(rows):
        folded = row.folded
        if out["invoice_number"]["value"] is None and (m := _label_match(row, "invoice_number")):
            v = re.search(r"[:#.]?\s*([A-Za-z0-9][A-Za-z0-9\-/]*\d[A-Za-z0-9\-/]*)", row.text[m.end():])
            if v:
                s, e = m.end() + v.start(1), m.end() + v.end(1)
                out["invoice_number"] = _field(v.group(1), row.confidence(s, e))
        if out["date"]["value"] is None and (m := _label_match(row, "date")):
            iso = _parse_date(row.text[m.start():], prefer_month_first=code == "USD")
            if iso:
                out["date"] = _field(iso, row.confidence(m.end(), len(row.text)))
        if out["supplier"]["value"] is None and (m := _label_match(row, "supplier")):
            value = row.text[m.end():].lstrip(" :.-").strip()
            if value:
                out["supplier"] = _field(value, row.confidence(len(row.text) - len(value), len(row.text)))
        if (m := _label_match(row, "tax")) and not NOT_TOTAL.search(folded):
            found = _last_amount(row, m.end())
            if found and out["tax"]["value"] is None:
                out["tax"] = _field(*found)
        if (m := _label_match(row, "total")) and not NOT_TOTAL.search(folded) \
                and not _label_match(row, "tax"):
            found = _last_amount(row, m.end())
            if found:  # the last total on the page is the one to pay
                out["total"] = _field(*found)
                totals_row = i
    out["lines"] = _item_lines(rows)
    out["text"] = text
    out["language"] = language
    return out


def _item_lines(rows: list[_Row]) -> list[dict]:
    """Rows between the table header and the first totals row that end in an amount."""
    start = next((i for i, r in enumerate(rows) if TABLE_HEAD.search(r.folded)
                  and not _label_match(r, "supplier")), None)
    if start is None:
        return []
    lines = []
    for row in rows[start + 1:]:
        folded = row.folded
        if NOT_TOTAL.search(folded) or _label_match(row, "total") or _label_match(row, "tax"):
            break
        amounts = list(AMOUNT.finditer(row.text))
        if not amounts:
            continue
        first = amounts[0].start()
        description = row.text[:first].strip(" .:-|")
        if not description or not re.search(r"[^\W\d]", description):
            continue
        amount = _amount(amounts[-1].group(1))
        quantity = None
        if len(amounts) >= 2:
            q = _amount(amounts[0].group(1))
            quantity = int(q) if q is not None and float(q).is_integer() else q
        confidence = row.confidence(0, len(row.text))
        lines.append({"description": description, "quantity": quantity, "amount": amount,
                      "confidence": confidence})
    return lines
