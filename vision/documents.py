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
