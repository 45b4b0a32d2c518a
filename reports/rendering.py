"""A report dictionary (``reports/CONTRACT.md``) as a self-contained HTML page and a PDF.

``render_html`` fills ``templates/daily_flash.html.j2`` or ``templates/period_review.html.j2``
(both extend ``report_base.html.j2``; the CSS is inlined from ``report.css``, the charts from
``charts`` as inline SVG), in English or Vietnamese: the labels are ``LABELS``, one flat
dictionary per language with the same keys, and Babel writes the numbers for the language's
locale (``€1,234.50`` / ``1.234,50 €``; occupancy changes in percentage points). ``render_pdf``
prints that page with WeasyPrint on A4, with DejaVu Sans (shipped in matplotlib's data)
declared as the font, so Vietnamese needs no system font. ``page_png`` draws a PDF page with
pdfium, for the tests and the documentation. ``subject`` is the report's e-mail subject.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import jinja2
import matplotlib
import pypdfium2
from babel.dates import format_date, format_interval, format_skeleton, format_time
from babel.numbers import format_currency, format_decimal, format_percent
from markupsafe import Markup
from PIL import ImageFile

_STRICT_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES
from weasyprint import CSS, HTML  # noqa: E402
from weasyprint.text.fonts import FontConfiguration  # noqa: E402
from weasyprint.urls import URLFetcher  # noqa: E402

# Importing WeasyPrint makes Pillow load truncated images, for the whole process; the vision
# checks refuse them (a half-uploaded photo), and a report embeds no raster image.
ImageFile.LOAD_TRUNCATED_IMAGES = _STRICT_IMAGES

from reports import charts
from reports.report_store import GROUP, LANGUAGES

LOCALES = {"en": "en_US", "vi": "vi_VN"}
TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATES = {"daily": "daily_flash.html.j2", "weekly": "period_review.html.j2",
             "monthly": "period_review.html.j2"}
# What each report's key figures are compared with (keys of each KPI besides "actual").
COMPARISONS = {"daily": ("last_year", "forecast"), "weekly": ("last_year", "previous"),
               "monthly": ("last_year", "previous")}
# Rows a table keeps in the PDF (the HTML shows all the report has): the daily flash is one page.
PDF_ROWS = {"high_risk": 5, "anomalies": 5, "prices": 8}
DASH = "—"  # a figure that is not known
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT_FILES = {("normal", "normal"): "DejaVuSans.ttf", ("bold", "normal"): "DejaVuSans-Bold.ttf",
              ("normal", "italic"): "DejaVuSans-Oblique.ttf",
              ("bold", "italic"): "DejaVuSans-BoldOblique.ttf"}

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title_daily": "Daily flash", "title_weekly": "Weekly review",
        "title_monthly": "Monthly pack", "generated": "Generated", "group": "All properties",
        "no_data_daily": "No data for this property on this day.",
        "no_data_period": "No data for this property in this period.",
        "no_chart_data": "No data", "stale_title": "Data not up to date",
        "stale.bookings": "Bookings of {property} are current only up to {as_of}: "
                          "figures after that day are missing",
        "stale.prices": "Prices of {property} were generated on {as_of}, before the report "
                        "day: the suggestions may be out of date",
        "stale.forecast": "The forecast of {property} uses data only up to {as_of}",
        "stale.other": "Data ({what}) of {property} is current only up to {as_of}",
        "kpis": "Key figures", "rooms_sold": "Rooms sold", "occupancy": "Occupancy",
        "adr": "Average daily rate (ADR)", "revpar": "Revenue per available room (RevPAR)",
        "adr_short": "ADR", "revpar_short": "RevPAR", "room_revenue": "Room revenue", "vs_last_year": "vs last year",
        "vs_forecast": "vs forecast", "vs_previous": "vs previous period",
        "last_year": "Last year", "forecast": "Forecast", "points": "pp",
        "by_property": "By property", "property": "Property", "currency": "Currency",
        "pace": "Pace: the next {days} days", "on_the_books": "On the books",
        "rooms": "Rooms", "revenue": "Revenue", "pickup": "Pickup since yesterday",
        "capacity": "Capacity", "forecast_title": "Occupancy forecast",
        "interval": "{p} interval", "interval_plain": "Interval",
        "cancellations": "Cancellations", "cancelled_bookings": "Cancelled bookings",
        "room_nights": "Room nights", "lost_revenue": "Lost revenue",
        "high_risk": "High-risk arrivals",
        "high_risk_note": "{count} of {scored} arrivals in the next {days} days have a "
                          "cancellation probability of {threshold} or more",
        "booking": "Booking", "arrival": "Arrival", "nights": "Nights",
        "probability": "Cancellation probability",
        "prices": "Suggested prices for {date}", "prices_generated": "generated {when}",
        "room_type": "Room type", "current_price": "Current", "suggested_price": "Suggested",
        "change": "Change", "operations": "Operations", "housekeeping": "Housekeeping",
        "inspections": "Inspections", "rooms_cleaned": "Rooms cleaned",
        "pass_rate": "Pass rate", "cleaning_minutes": "Dirty to clean (mean min)",
        "attendance": "Attendance", "shifts": "Shifts", "late": "Late", "absent": "Absent",
        "anomalies": "Camera alerts", "alerts": "Alerts", "urgent": "Urgent",
        "detected_at": "Detected", "alert_type": "Type", "severity": "Severity",
        "camera": "Camera", "occupancy_by_day": "Occupancy by day",
        "revenue_by_segment": "Revenue by segment", "revenue_by_channel": "Revenue by channel",
        "segment": "Segment", "channel": "Channel", "bookings": "Bookings", "share": "Share",
        "booking_window": "Booking window", "lead_time": "Days booked before arrival",
        "cancellation_rate": "Cancellation rate", "guest_segments": "Guest segments",
        "guests": "Guests", "avg_value": "Average value", "punctuality": "Staff punctuality",
        "late_rate": "Late rate", "absent_rate": "Absent rate", "models": "Models",
        "model": "Model", "version": "Version", "metric": "Metric", "value": "Value",
        "baseline": "Baseline", "vs_baseline": "vs baseline", "trained_at": "Trained",
        "drift": "Drift", "psi": "PSI", "feature": "Feature", "requests": "Requests",
        "drift.stable": "stable", "drift.watch": "watch", "drift.drift": "drift",
        "drift.no traffic": "no traffic", "severity.critical": "critical",
        "severity.high": "high", "severity.medium": "medium", "severity.low": "low",
        "alert.fire": "fire", "alert.smoke": "smoke", "alert.flood": "flood",
        "alert.intrusion": "intrusion", "by_day": "Day by day", "date": "Date",
        "footer": "Figures from the Innsight data platform. — means not known.",
    },
    "vi": {
        "title_daily": "Báo cáo nhanh hằng ngày", "title_weekly": "Báo cáo tuần",
        "title_monthly": "Báo cáo tháng", "generated": "Lập lúc", "group": "Toàn chuỗi",
        "no_data_daily": "Không có dữ liệu của khách sạn này trong ngày.",
        "no_data_period": "Không có dữ liệu của khách sạn này trong kỳ này.",
        "no_chart_data": "Không có dữ liệu", "stale_title": "Dữ liệu chưa cập nhật",
        "stale.bookings": "Dữ liệu đặt phòng của {property} chỉ cập nhật đến {as_of}: "
                          "thiếu số liệu sau ngày đó",
        "stale.prices": "Bảng giá của {property} được tạo ngày {as_of}, trước ngày báo cáo: "
                        "giá đề xuất có thể đã cũ",
        "stale.forecast": "Dự báo của {property} chỉ dùng dữ liệu đến {as_of}",
        "stale.other": "Dữ liệu ({what}) của {property} chỉ cập nhật đến {as_of}",
        "kpis": "Chỉ số chính", "rooms_sold": "Phòng đã bán", "occupancy": "Công suất phòng",
        "adr": "Giá phòng bình quân (ADR)", "revpar": "Doanh thu trên mỗi phòng (RevPAR)",
        "adr_short": "ADR", "revpar_short": "RevPAR", "room_revenue": "Doanh thu phòng", "vs_last_year": "so với năm trước",
        "vs_forecast": "so với dự báo", "vs_previous": "so với kỳ trước",
        "last_year": "Năm trước", "forecast": "Dự báo", "points": "điểm %",
        "by_property": "Theo khách sạn", "property": "Khách sạn", "currency": "Tiền tệ",
        "pace": "Tiến độ đặt phòng: {days} ngày tới", "on_the_books": "Đã đặt",
        "rooms": "Phòng", "revenue": "Doanh thu", "pickup": "Tăng thêm từ hôm qua",
        "capacity": "Số phòng hiện có",
        "forecast_title": "Dự báo công suất phòng",
        "interval": "Khoảng dự báo {p}", "interval_plain": "Khoảng dự báo",
        "cancellations": "Huỷ phòng", "cancelled_bookings": "Đặt phòng đã huỷ",
        "room_nights": "Đêm phòng", "lost_revenue": "Doanh thu bị mất",
        "high_risk": "Khách đến có nguy cơ huỷ cao",
        "high_risk_note": "{count} trên {scored} lượt khách đến trong {days} ngày tới có "
                          "xác suất huỷ từ {threshold} trở lên",
        "booking": "Mã đặt phòng", "arrival": "Ngày đến", "nights": "Số đêm",
        "probability": "Xác suất huỷ",
        "prices": "Giá đề xuất cho ngày {date}", "prices_generated": "tạo lúc {when}",
        "room_type": "Loại phòng", "current_price": "Giá hiện tại",
        "suggested_price": "Giá đề xuất", "change": "Thay đổi", "operations": "Vận hành",
        "housekeeping": "Buồng phòng", "inspections": "Lượt kiểm tra",
        "rooms_cleaned": "Phòng đã dọn", "pass_rate": "Tỷ lệ đạt",
        "cleaning_minutes": "Từ bẩn đến sạch (phút TB)", "attendance": "Chuyên cần",
        "shifts": "Ca làm việc", "late": "Đi muộn", "absent": "Vắng mặt",
        "anomalies": "Cảnh báo camera", "alerts": "Cảnh báo", "urgent": "Khẩn cấp",
        "detected_at": "Phát hiện lúc", "alert_type": "Loại", "severity": "Mức độ",
        "camera": "Camera", "occupancy_by_day": "Công suất phòng theo ngày",
        "revenue_by_segment": "Doanh thu theo phân khúc thị trường",
        "revenue_by_channel": "Doanh thu theo kênh phân phối",
        "segment": "Phân khúc", "channel": "Kênh", "bookings": "Lượt đặt", "share": "Tỷ trọng",
        "booking_window": "Thời gian đặt trước", "lead_time": "Số ngày đặt trước ngày đến",
        "cancellation_rate": "Tỷ lệ huỷ", "guest_segments": "Phân khúc khách",
        "guests": "Số khách", "avg_value": "Giá trị trung bình",
        "punctuality": "Chuyên cần của nhân viên", "late_rate": "Tỷ lệ đi muộn",
        "absent_rate": "Tỷ lệ vắng mặt", "models": "Mô hình dự báo", "model": "Mô hình",
        "version": "Phiên bản", "metric": "Thước đo", "value": "Giá trị",
        "baseline": "Mốc so sánh", "vs_baseline": "so với mốc", "trained_at": "Huấn luyện",
        "drift": "Độ lệch dữ liệu", "psi": "PSI", "feature": "Đặc trưng",
        "requests": "Lượt gọi", "drift.stable": "ổn định", "drift.watch": "cần theo dõi",
        "drift.drift": "bị lệch", "drift.no traffic": "không có lượt gọi",
        "severity.critical": "nghiêm trọng", "severity.high": "cao",
        "severity.medium": "trung bình", "severity.low": "thấp", "alert.fire": "cháy",
        "alert.smoke": "khói", "alert.flood": "ngập nước", "alert.intrusion": "đột nhập",
        "by_day": "Chi tiết theo ngày", "date": "Ngày",
        "footer": "Số liệu từ nền tảng dữ liệu Innsight. — là chưa có số liệu.",
    },
}


def _locale(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; supported: {', '.join(LANGUAGES)}")
    return LOCALES[language]


def _day(value: str | date) -> date:
    """The day of an ISO date, or of an ISO timestamp in its own offset."""
    return value if isinstance(value, date) else datetime.fromisoformat(value).date()


class Numbers:
    """Babel's writing of a report's figures for one locale; None is written as a dash."""

    def __init__(self, locale: str, currency: str | None, labels: dict[str, str]):
        self.locale, self.currency, self.labels = locale, currency, labels

    def money(self, value, currency: str | None = None) -> str:
        currency = currency or self.currency
        if value is None or currency is None:
            return DASH
        return format_currency(value, currency, locale=self.locale)

    def percent(self, value, digits: int = 1) -> str:
        pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
        return DASH if value is None else format_percent(value, pattern, locale=self.locale)

    def count(self, value) -> str:
        return DASH if value is None else format_decimal(round(value), locale=self.locale)

    def decimal(self, value, pattern: str = "#,##0.0##") -> str:
        return DASH if value is None else format_decimal(value, pattern, locale=self.locale)

    def _signed(self, text: str, value: float, lower_is_better: bool) -> Markup:
        """A change, coloured by whether it is good news."""
        direction = (value > 0) - (value < 0)
        tone = {1: "good", -1: "bad", 0: "flat"}[-direction if lower_is_better else direction]
        return Markup('<span class="delta {}">{}</span>').format(tone, text)

    def change(self, actual, base, *, points: bool = False, lower_is_better: bool = False) -> Markup:
        """``actual`` against ``base``: a signed percentage, or percentage points when
        ``points`` (for rates); a dash when either is unknown."""
        if actual is None or base is None or (not points and base == 0):
            return Markup('<span class="delta none">{}</span>').format(DASH)
        if points:
            difference = (actual - base) * 100
            text = (f"{format_decimal(difference, '+#,##0.0;-#,##0.0', locale=self.locale)}"
                    f"\u00a0{self.labels['points']}")
            return self._signed(text, round(difference, 1), lower_is_better)
        relative = actual / base - 1
        text = format_percent(relative, "+#,##0.0%;-#,##0.0%", locale=self.locale)
        return self._signed(text, round(relative, 3), lower_is_better)

    def signed_count(self, value) -> Markup | str:
        """A change in a count (rooms picked up), with its sign."""
        if value is None:
            return DASH
        return self._signed(format_decimal(value, "+#,##0;-#,##0", locale=self.locale), value, False)

    def signed_money(self, value, currency: str | None = None) -> Markup | str:
        """A money change with its sign (Babel's patterns would drop the locale's layout)."""
        written = self.money(None if value is None else abs(value), currency)
        if value is None or written == DASH:
            return DASH
        return self._signed(("+" if value >= 0 else "-") + written, value, False)

    def signed_decimal(self, value, base, higher_is_better: bool = True) -> Markup | str:
        """A model's metric against its baseline, coloured by the metric's direction."""
        if value is None or base is None:
            return DASH
        difference = value - base
        text = format_decimal(difference, "+#,##0.0##;-#,##0.0##", locale=self.locale)
        return self._signed(text, difference, not higher_is_better)

    def date(self, value, form: str = "medium") -> str:
        return DASH if value is None else format_date(_day(value), form, locale=self.locale)

    def day(self, value) -> str:
        """A day of the month, short: ``12/1`` in English, ``1/12`` in Vietnamese."""
        return DASH if value is None else format_skeleton("Md", _day(value), locale=self.locale)

    def timestamp(self, value) -> str:
        """An ISO timestamp in its own offset: the date, the time and the offset."""
        if value is None:
            return DASH
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            return f"{self.date(moment.date())} {format_time(moment, 'short', locale=self.locale)}"
        clock = format_time(moment, "short", tzinfo=moment.tzinfo, locale=self.locale)
        offset = format_time(moment, "ZZZZ", tzinfo=moment.tzinfo, locale=self.locale)
        return f"{self.date(moment.date())} {clock} {offset}"

    def period(self, report: dict) -> str:
        """The report's period in words: the day, the week's days or the month."""
        start, end = _day(report["start"]), _day(report["end"])
        if report["kind"] == "daily":
            return format_date(start, "full", locale=self.locale)
        if report["kind"] == "monthly":
            return format_skeleton("yMMMM", start, locale=self.locale)
        days = format_interval(start, end, "yMMMd", locale=self.locale)
        return f"{report['period_label']} · {days}"


def _property_name(report: dict, language: str) -> str:
    prop = report["property"]
    return LABELS[language]["group"] if prop["code"] == GROUP else prop["name"]


def _stale_lines(report: dict, labels: dict[str, str], numbers: Numbers) -> list[str]:
    """One sentence per stale entry, the property by name where the report knows it."""
    names = {row["code"]: row["name"] for row in report.get("by_property") or []}
    names[report["property"]["code"]] = report["property"]["name"]
    lines = []
    for entry in report.get("stale") or []:
        sentence = labels.get(f"stale.{entry['what']}", labels["stale.other"])
        lines.append(sentence.format(property=names.get(entry["property"], entry["property"]),
                                     as_of=numbers.date(entry["as_of"]), what=entry["what"]))
    return lines


def _charts(report: dict, labels: dict[str, str], locale: str) -> dict[str, Markup | None]:
    """The report's charts as inline SVG (None: nothing to plot)."""
    if report["kind"] == "daily":
        wanted = {"pace": (charts.pace, report.get("pace") or {}),
                  "forecast": (charts.forecast, report.get("forecast"))}
    else:
        wanted = {"occupancy": (charts.occupancy, report.get("daily") or []),
                  "segments": (charts.segments, report.get("segments") or []),
                  "channels": (charts.channels, report.get("channels") or []),
                  "booking_window": (charts.booking_window, report.get("booking_window") or []),
                  "cancellations": (charts.cancellations, report.get("cancellation") or {}),
                  "punctuality": (charts.punctuality, report.get("punctuality") or {})}
    drawn = {name: chart(part, labels, locale) for name, (chart, part) in wanted.items()}
    # matplotlib's SVG, with every text drawn as paths: markup of our own making
    return {name: None if svg is None else Markup(svg) for name, svg in drawn.items()}


# StrictUndefined: a label missing from a language fails the rendering, not prints blank.
ENVIRONMENT = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                                 undefined=jinja2.StrictUndefined, trim_blocks=True,
                                 lstrip_blocks=True)


def subject(report: dict, language: str) -> str:
    """The report's e-mail subject: ``Daily flash — Hotel A — 2026-12-01``."""
    _locale(language)
    title = LABELS[language][f"title_{report['kind']}"]
    return f"{title} — {_property_name(report, language)} — {report['period_label']}"


def render_html(report: dict, language: str) -> str:
    """The report as one HTML document in ``language``: CSS and charts inline."""
    locale = _locale(language)
    labels = LABELS[language]
    numbers = Numbers(locale, report["property"].get("currency"), labels)
    template = ENVIRONMENT.get_template(TEMPLATES[report["kind"]])
    return template.render(
        r=report, t=labels, n=numbers, language=language, pdf_rows=PDF_ROWS, dash=DASH,
        group=report["property"]["code"] == GROUP, comparisons=COMPARISONS[report["kind"]],
        title=labels[f"title_{report['kind']}"], subject=subject(report, language),
        property_name=_property_name(report, language),
        stale_lines=_stale_lines(report, labels, numbers),
        charts=_charts(report, labels, locale),
        css=Markup((TEMPLATE_DIR / "report.css").read_text(encoding="utf-8")),
        term=lambda kind, value: labels.get(f"{kind}.{value}", value))


class _FontsOnly(URLFetcher):
    """Fetches the bundled fonts and nothing else: a report's PDF needs no other resource."""

    def fetch(self, url, headers=None):
        if not url.startswith(FONT_DIR.as_uri() + "/"):
            raise ValueError(f"reports fetch only their fonts, not {url}")
        return super().fetch(url, headers)


def _font_faces() -> str:
    return "\n".join(
        f'@font-face {{ font-family: "DejaVu Sans"; font-weight: {weight}; font-style: {style};'
        f' src: url("{(FONT_DIR / name).as_uri()}"); }}'
        for (weight, style), name in FONT_FILES.items())


def render_pdf(html: str) -> bytes:
    """The HTML printed as a PDF on A4 (the page size and margins are the CSS's)."""
    fonts, fetcher = FontConfiguration(), _FontsOnly()
    faces = CSS(string=_font_faces(), font_config=fonts, url_fetcher=fetcher)
    return HTML(string=html, url_fetcher=fetcher).write_pdf(stylesheets=[faces],
                                                            font_config=fonts)


def page_png(pdf: bytes, page: int = 0, scale: float = 2.0) -> bytes:
    """Page ``page`` (from 0) of the PDF drawn as a PNG, ``scale`` pixels per point."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        if not 0 <= page < len(document):
            raise IndexError(f"page {page} of a PDF of {len(document)} pages")
        image = document[page].render(scale=scale).to_pil()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()
    finally:
        document.close()
