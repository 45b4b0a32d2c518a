"""Rendering the general manager's reports, on the built platform (`make up` / `innsight build`).

    python bench/reports.py [--day YYYY-MM-DD] [--png docs/daily_flash.png]

For one day (default: the newest complete day of the data), the daily flash of every property and of
the group, in each report language: the time to gather the figures (SQL over the marts and
the champions' forecasts and risk scores), to render the HTML and to make the PDF, and each
PDF's size and pages. The floor, in the same process: WeasyPrint laying out the same HTML
with the charts removed (the least a PDF of that page costs). Writes the PNG of page 1 of the
group's flash (in the first report language) to ``--png``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import duckdb  # noqa: E402
import pypdfium2  # noqa: E402

from base.settings import Settings  # noqa: E402
from lake.delta_tables import Lake  # noqa: E402
from ml.registry import ModelRegistry  # noqa: E402
from orchestration.reports.assets import sources  # noqa: E402
from reports.periods import containing, parse  # noqa: E402
from reports.rendering import page_png, render_html, render_pdf  # noqa: E402
from reports.report_data import build, report_codes  # noqa: E402
from reports.report_store import GROUP  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--day", help="the report day (default: the newest complete day of the data)")
    ap.add_argument("--png", default="docs/daily_flash.png")
    args = ap.parse_args()
    settings = Settings()
    if not settings.marts_path.exists():
        sys.exit("no marts file: run `make up` (or `innsight build`) first")
    with duckdb.connect(str(settings.marts_path), read_only=True) as marts:
        newest = marts.execute("select max(as_of_date) from dim_hotel_as_of").fetchall()[0][0]
        # the newest complete day: the data's, at most yesterday (as the schedule renders)
        last = min(newest, date.today() - timedelta(days=1))
        period = parse("daily", args.day) if args.day else containing("daily", last)
        started = time.perf_counter()
        src = sources(marts, Lake.from_settings(settings), ModelRegistry.from_settings(settings),
                      period, settings.high_risk_threshold)
        load = time.perf_counter() - started
        rows, first_png = [], None
        for code in report_codes(src, period):
            t0 = time.perf_counter()
            report = build(src, period, code)
            figures = time.perf_counter() - t0
            for language in settings.report_languages:
                t1 = time.perf_counter()
                html = render_html(report, language)
                t2 = time.perf_counter()
                pdf = render_pdf(html)
                t3 = time.perf_counter()
                # the floor: the same page laid out without its charts
                render_pdf(re.sub(r"<svg.*?</svg>", "", html, flags=re.S))
                t4 = time.perf_counter()
                pages = len(pypdfium2.PdfDocument(pdf))
                rows.append((code, language, figures, t2 - t1, t3 - t2, t4 - t3, len(pdf), pages))
                if code == GROUP and first_png is None:
                    first_png = page_png(pdf, scale=1.5)
    print(f"daily flash of {period.key}: {len(rows)} reports "
          f"({len(rows) // len(settings.report_languages)} properties and the group x "
          f"{len(settings.report_languages)} languages); models and lake tables loaded in {load:.1f} s")
    print(f"{'report':<12}{'figures':>9}{'html':>8}{'pdf':>8}{'floor':>8}{'size':>10}{'pages':>7}")
    for code, language, data, html, pdf, floor, size, pages in rows:
        print(f"{code + '.' + language:<12}{data:>8.2f}s{html:>7.2f}s{pdf:>7.2f}s{floor:>7.2f}s"
              f"{size / 1024:>8.0f} KB{pages:>7}")
    total = sum(r[2] / len(settings.report_languages) + r[3] + r[4] for r in rows)
    floor = sum(r[5] for r in rows)
    print(f"all daily flashes: {total:.1f} s (+ {load:.1f} s loading the champions); "
          f"the floor (the same pages without charts, WeasyPrint only) {floor:.1f} s: "
          f"{total / floor:.1f}x; PDF median {statistics.median(r[6] for r in rows) / 1024:.0f} KB, "
          f"largest {max(r[6] for r in rows) / 1024:.0f} KB; one page each: "
          f"{all(r[7] == 1 for r in rows)}")
    out = Path(args.png)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(first_png)
    print(f"page 1 of the group's flash ({settings.report_languages[0]}) -> {out}")


if __name__ == "__main__":
    main()
