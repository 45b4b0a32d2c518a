"""The reports rendered: figures written by Babel per language, changes signed and coloured,
the stale-data banner and the no-data block, every label in both languages, the daily flash
on one A4 page, and PDF pages that pdfium draws and whose text (Vietnamese included) it reads."""

from __future__ import annotations

import copy
import io
import re
from datetime import date, timedelta

import pypdfium2
import pypdfium2.raw as pdfium_c
import pytest
from babel.dates import format_date
from babel.numbers import format_currency
from PIL import Image

from reports import charts
from reports.rendering import LABELS, page_png, render_html, render_pdf, subject
from reports.report_store import LANGUAGES

GENERATED = "2026-12-02T06:30:00+00:00"


def _days(start: str, count: int) -> list[str]:
    first = date.fromisoformat(start)
    return [(first + timedelta(days=i)).isoformat() for i in range(count)]


def _kpis(comparison: str) -> dict:
    figures = {"rooms_sold": (96, 90, 94), "occupancy": (0.8, 0.75, 0.82),
               "adr": (123.45, 115.0, 120.0), "revpar": (98.76, 86.25, 98.4),
               "room_revenue": (11851.2, 10350.0, 11280.0)}
    return {key: {"actual": a, "last_year": ly, comparison: other}
            for key, (a, ly, other) in figures.items()}


def daily_report() -> dict:
    """A single hotel's flash, every section filled, long tables longer than the PDF keeps."""
    pace_days = _days("2026-12-02", 30)
    return {
        "kind": "daily", "period": "2026-12-01", "period_label": "2026-12-01",
        "start": "2026-12-01", "end": "2026-12-01",
        "property": {"code": "HA", "name": "Hotel A", "currency": "EUR"},
        "generated_at": GENERATED, "has_data": True, "stale": [],
        "last_year_date": "2025-12-02", "kpis": _kpis("forecast"), "by_property": [],
        "pace": {"window_days": 30, "from": pace_days[0], "to": pace_days[-1],
                 "rooms": 812, "rooms_last_year": 790, "revenue": 99000.0,
                 "revenue_last_year": 95000.0, "pickup_rooms": 12, "pickup_revenue": 1500.0,
                 "by_day": [{"date": d, "rooms": 60 - i, "rooms_last_year": 55 - i, "capacity": 120}
                            for i, d in enumerate(pace_days)]},
        "cancellations": {"count": 3, "room_nights": 7, "lost_revenue": 900.0},
        "high_risk": {"threshold": 0.6, "days": 7, "count": 10, "scored": 40, "arrivals": [
            {"booking_id": f"B{1000 + i}", "property": "HA", "arrival_date": pace_days[i % 7],
             "nights": 2 + i % 3, "probability": 0.95 - i * 0.03, "revenue": 250.0 + i}
            for i in range(10)]},
        "forecast": {"target": "occupancy", "interval": 0.8, "days": [
            {"date": d, "value": 0.7 + i / 100, "lower": 0.6 + i / 100, "upper": 0.8 + i / 100}
            for i, d in enumerate(pace_days[:14])]},
        "prices": {"date": "2026-12-02", "generated_at": "2026-12-01T22:00:00+00:00", "rows": [
            {"property": "HA", "room_type": f"Type {i}", "current_price": 100.0 + i * 10,
             "suggested_price": 100.0 + i * 10 + (-1) ** i * 7, "change": (-1) ** i * 7.0,
             "currency": "EUR"} for i in range(12)]},
        "housekeeping": {"inspections": 40, "rooms_cleaned": 35, "pass_rate": 0.9,
                         "mean_cleaning_minutes": 31.5},
        "attendance": {"shifts": 60, "late": 4, "absent": 1},
        "anomalies": {"count": 8, "urgent": 1, "rows": [
            {"detected_at": f"2026-12-01T0{i}:15:00+00:00", "property": "HA",
             "alert_type": "smoke" if i else "fire", "severity": "critical" if i == 0 else "low",
             "camera_id": f"CAM-{i}"} for i in range(8)]},
    }


def group_daily_report() -> dict:
    """The group's flash over properties in two currencies: no money at group level."""
    report = daily_report()
    report["property"] = {"code": "group", "name": "Group", "currency": None}
    for kpi in ("adr", "revpar", "room_revenue"):
        report["kpis"][kpi] = {"actual": None, "last_year": None, "forecast": None}
    report["by_property"] = [
        {"code": "HA", "name": "Hotel A", "currency": "EUR", "rooms_sold": 50, "occupancy": 0.8,
         "adr": 123.45, "revpar": 98.76, "room_revenue": 6172.5, "occupancy_last_year": 0.75},
        {"code": "HB", "name": "Hotel B", "currency": "VND", "rooms_sold": 46, "occupancy": 0.7,
         "adr": 2500000.0, "revpar": 1750000.0, "room_revenue": 115000000.0,
         "occupancy_last_year": 0.74}]
    report["pace"].update(revenue=None, revenue_last_year=None, pickup_revenue=None)
    report["cancellations"]["lost_revenue"] = None
    return report


def period_report(kind: str) -> dict:
    start, days = ("2026-11-23", 7) if kind == "weekly" else ("2026-11-01", 30)
    dates = _days(start, days)
    return {
        "kind": kind, "period": start, "period_label": "2026-W48" if kind == "weekly" else "2026-11",
        "start": dates[0], "end": dates[-1],
        "property": {"code": "HA", "name": "Hotel A", "currency": "EUR"},
        "generated_at": GENERATED, "has_data": True, "stale": [], "kpis": _kpis("previous"),
        "by_property": [],
        "daily": [{"date": d, "occupancy": 0.6 + (i % 7) / 30, "occupancy_last_year": 0.62,
                   "revpar": 70.0 + i, "room_revenue": 8000.0 + 10 * i} for i, d in enumerate(dates)],
        "segments": [{"segment": s, "room_revenue": r, "rooms_sold": n, "share": sh}
                     for s, r, n, sh in (("Online TA", 40000.0, 300, 0.5), ("Corporate", 24000.0, 200, 0.3),
                                         ("Groups", 16000.0, 150, 0.2))],
        "channels": [{"channel": c, "room_revenue": r, "bookings": n, "share": sh}
                     for c, r, n, sh in (("TA/TO", 56000.0, 210, 0.7), ("Direct", 24000.0, 90, 0.3))],
        "booking_window": [{"bucket": b, "bookings": n, "share": n / 300}
                           for b, n in (("0-7", 60), ("8-30", 90), ("31-90", 100), ("91+", 50))],
        "cancellation": {"rate": 0.25, "rate_last_year": 0.2, "bookings": 300, "cancellations": 75,
                         "daily": [{"date": d, "rate": 0.2 + (i % 3) / 20} for i, d in enumerate(dates)]},
        "guest_segments": [{"segment": "Repeat", "guests": 40, "revenue": 12000.0, "avg_value": 300.0},
                           {"segment": "New", "guests": 200, "revenue": 50000.0, "avg_value": 250.0}],
        "punctuality": {"shifts": 420, "late": 21, "absent": 4, "late_rate": 0.05, "absent_rate": 0.0095,
                        "daily": [{"date": d, "late_rate": 0.05, "absent_rate": 0.01} for d in dates]},
        "models": [{"model": "cancellation", "version": 3, "metric": "roc_auc", "value": 0.87,
                    "baseline": 0.85, "higher_is_better": True, "trained_at": "2026-11-20T02:00:00+00:00",
                    "drift": {"status": "watch", "psi": 0.14, "feature": "lead_time", "requests": 5200}},
                   {"model": "occupancy_forecast", "version": 2, "metric": "mape", "value": 0.09,
                    "baseline": 0.08, "higher_is_better": False, "trained_at": "2026-11-18T02:00:00+00:00",
                    "drift": {"status": "no traffic", "psi": None, "feature": None, "requests": 0}}],
    }


def _text(html: str) -> str:
    """The page's visible text, one space between words, the inline SVG left out."""
    body = re.sub(r"<svg.*?</svg>|<style>.*?</style>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", body).replace("\u00a0", " ").split())


def _pdf_pages(pdf: bytes) -> int:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


def _pdf_text_and_drawings(pdf: bytes, page: int = 0) -> tuple[str, int]:
    """A page's text, and how many path or image objects it draws (forms opened)."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        drawn = document[page]
        text = drawn.get_textpage().get_text_bounded()
        kinds = (pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_IMAGE)
        return text, sum(1 for _ in drawn.get_objects(filter=kinds, max_depth=5))
    finally:
        document.close()


@pytest.fixture(scope="module")
def daily_pdfs() -> dict[str, bytes]:
    return {language: render_pdf(render_html(daily_report(), language)) for language in LANGUAGES}


def test_every_label_in_every_language():
    assert LABELS["en"].keys() == LABELS["vi"].keys()
    assert all(value.strip() for labels in LABELS.values() for value in labels.values())


def test_an_unknown_language_names_the_known_ones():
    with pytest.raises(ValueError, match="en, vi"):
        render_html(daily_report(), "fr")
    with pytest.raises(ValueError, match="en, vi"):
        subject(daily_report(), "fr")


def test_subject_names_report_property_and_period():
    assert subject(daily_report(), "en") == "Daily flash — Hotel A — 2026-12-01"
    assert subject(daily_report(), "vi") == "Báo cáo nhanh hằng ngày — Hotel A — 2026-12-01"
    assert subject(period_report("weekly"), "en") == "Weekly review — Hotel A — 2026-W48"
    assert subject(group_daily_report(), "vi").startswith("Báo cáo nhanh hằng ngày — Toàn chuỗi")


@pytest.mark.parametrize("language, locale", [("en", "en_US"), ("vi", "vi_VN")])
def test_daily_figures_are_written_for_the_locale(language, locale):
    html = render_html(daily_report(), language)
    text = _text(html)
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html and "<svg" in html
    for amount in (123.45, 98.76, 99000.0, 900.0):
        assert format_currency(amount, "EUR", locale=locale).replace("\u00a0", " ") in text
    assert {"en": "80.0%", "vi": "80,0%"}[language] in text
    # occupancy 80% against 75% last year: +5 points; ADR 123.45 against 115: +7.3%
    assert {"en": "+5.0 pp", "vi": "+5,0 điểm %"}[language] in text
    assert {"en": "+7.3%", "vi": "+7,3%"}[language] in text
    assert {"en": "-2.0 pp", "vi": "-2,0 điểm %"}[language] in text  # against the forecast
    assert '<span class="delta good">+' in html and '<span class="delta bad">-' in html
    assert format_date(date(2026, 12, 1), "full", locale=locale) in text
    assert LABELS[language]["stale_title"] not in text


def test_group_report_shows_each_property_in_its_currency():
    for language, locale in (("en", "en_US"), ("vi", "vi_VN")):
        text = _text(render_html(group_daily_report(), language))
        assert format_currency(2500000, "VND", locale=locale).replace("\u00a0", " ") in text
        assert format_currency(123.45, "EUR", locale=locale).replace("\u00a0", " ") in text
        assert "Hotel B" in text and LABELS[language]["by_property"] in text
    text = _text(render_html(group_daily_report(), "en"))
    assert "Average daily rate (ADR) —" in text  # the group's ADR over two currencies is not known
    assert "B1000 HA" in text  # the group's tables say which property


def test_stale_banner_only_when_something_is_stale():
    report = daily_report()
    report["stale"] = [{"property": "HA", "what": "bookings", "as_of": "2026-11-28"},
                       {"property": "HA", "what": "forecast", "as_of": "2026-11-20"}]
    english, vietnamese = _text(render_html(report, "en")), _text(render_html(report, "vi"))
    assert ("Bookings of Hotel A are current only up to Nov 28, 2026: figures after that day "
            "are missing") in english
    assert "The forecast of Hotel A uses data only up to Nov 20, 2026" in english
    assert "Dữ liệu đặt phòng của Hotel A chỉ cập nhật đến 28 thg 11, 2026" in vietnamese
    assert 'class="stale"' in render_html(report, "en")
    assert 'class="stale"' not in render_html(daily_report(), "en")


def test_no_data_says_so_and_keeps_the_sections_that_have_data():
    report = daily_report()
    report["has_data"] = False
    report["pace"]["by_day"] = []
    report["forecast"] = None
    text = _text(render_html(report, "en"))
    assert "No data for this property on this day." in text
    assert "Average daily rate (ADR)" not in text  # no empty tiles
    assert text.count("No data") >= 3  # both charts say there is nothing to plot
    assert "smoke" in text and "CAM-1" in text  # the anomalies still show
    weekly = period_report("monthly")
    weekly["has_data"] = False
    assert "Không có dữ liệu của khách sạn này trong kỳ này." in _text(render_html(weekly, "vi"))


@pytest.mark.parametrize("report", [daily_report(), period_report("weekly")], ids=["daily", "weekly"])
def test_no_english_section_title_in_the_vietnamese_page(report):
    text = _text(render_html(report, "vi"))
    english, vietnamese = LABELS["en"], LABELS["vi"]
    titles = ("kpis", "by_property", "cancellations", "high_risk", "operations", "housekeeping",
              "attendance", "anomalies", "occupancy_by_day", "revenue_by_segment",
              "revenue_by_channel", "booking_window", "cancellation_rate", "guest_segments",
              "punctuality", "models", "forecast_title", "rooms_sold", "occupancy", "room_revenue")
    for key in titles:
        if english[key] != vietnamese[key]:
            assert english[key] not in text, key
    assert "Công suất phòng" in text and "Giá phòng bình quân (ADR)" in text


def test_period_reports_compare_with_the_previous_period():
    for kind in ("weekly", "monthly"):
        text = _text(render_html(period_report(kind), "en"))
        assert "vs previous period" in text and "vs forecast" not in text
        assert "Online TA" in text and "TA/TO" in text and "watch" in text
        # the cancellation rate rose 5 points: bad news, in red
        assert '<span class="delta bad">+5.0' in render_html(period_report(kind), "en")
    assert "2026-W48" in _text(render_html(period_report("weekly"), "en"))
    assert "tháng 11 năm 2026" in _text(render_html(period_report("monthly"), "vi")).lower()


def test_daily_flash_is_one_a4_page_with_its_figures_and_charts(daily_pdfs):
    for language, pdf in daily_pdfs.items():
        assert pdf.startswith(b"%PDF") and _pdf_pages(pdf) == 1, language
        document = pypdfium2.PdfDocument(pdf)
        width, height = document[0].get_size()
        document.close()
        assert (round(width), round(height)) == (595, 842)  # A4 in points
        text, drawings = _pdf_text_and_drawings(pdf)
        assert drawings > 50  # the charts' bars, lines and glyph outlines
        assert "B1004" in text and "B1005" not in text  # five high-risk rows on paper
    english, _ = _pdf_text_and_drawings(daily_pdfs["en"])
    vietnamese, _ = _pdf_text_and_drawings(daily_pdfs["vi"])
    assert "Occupancy" in english and "Rooms sold" in english
    # the embedded font has the Vietnamese glyphs: the text reads back with its diacritics
    assert "Công suất phòng" in vietnamese and "Phòng đã bán" in vietnamese


def test_group_daily_flash_is_one_page():
    # Vietnamese, the longer labels, with the table of properties and their column
    assert _pdf_pages(render_pdf(render_html(group_daily_report(), "vi"))) == 1


@pytest.mark.parametrize("kind", ["weekly", "monthly"])
def test_period_reports_print_on_a_few_pages(kind):
    pdf = render_pdf(render_html(period_report(kind), "vi"))
    assert 1 <= _pdf_pages(pdf) <= 4
    text, drawings = _pdf_text_and_drawings(pdf)
    assert "Doanh thu theo phân khúc thị trường" in text and drawings > 50


def test_page_png_draws_the_page(daily_pdfs):
    png = page_png(daily_pdfs["vi"], scale=1.0)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png)).convert("L")
    assert abs(image.width - 595) <= 1 and abs(image.height - 842) <= 1  # A4, a pixel a point
    inked = sum(count for value, count in enumerate(image.histogram()) if value < 250)
    assert inked / (image.width * image.height) > 0.02
    with pytest.raises(IndexError):
        page_png(daily_pdfs["vi"], page=1)


def test_charts_return_none_with_nothing_to_plot():
    labels = LABELS["en"]
    assert charts.pace({"by_day": []}, labels, "en_US") is None
    assert charts.forecast(None, labels, "en_US") is None
    assert charts.occupancy([], labels, "en_US") is None
    assert charts.segments([{"segment": "Direct", "share": None}], labels, "en_US") is None
    assert charts.cancellations({"daily": [{"date": "2026-11-01", "rate": None}]}, labels,
                                "en_US") is None
    assert charts.punctuality({"daily": []}, labels, "en_US") is None


def test_charts_are_standalone_svg_with_unique_ids():
    report = period_report("monthly")
    html = render_html(report, "en")
    assert html.count("<svg") == 6 and "<?xml" not in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    # the same report draws the same charts (reproducible files)
    assert render_html(copy.deepcopy(report), "en") == html


def test_rendering_leaves_pillow_refusing_truncated_images():
    """WeasyPrint turns on Pillow's loading of truncated images when imported; the process
    that renders reports (the Dagster code location, the served platform's tests) also
    checks uploaded photos, which must still refuse half a JPEG."""
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
