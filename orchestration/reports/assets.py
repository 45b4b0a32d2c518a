"""The daily flash, the weekly review and the monthly pack: one partitioned asset per kind.

A partition is a period (its first day). Materialising it renders the report of every
reporting property and of the group, in each language, to HTML and PDF in the lake's
storage (reports/<kind>/<period>/), and queues one email per subscriber through the outbox
(the HTML as the body, the PDF attached; keyed by report and subscriber, so a rerun sends
nothing twice). Any past period can be backfilled from the UI.
"""

import base64
import time
from datetime import date, timedelta

import dagster as dg
import duckdb

from lake.delta_tables import Lake
from lake.tables import ML_PREDICTIONS, PRICE_SCHEDULE
from ml.registry import ModelRegistry
from operations.outbox import Message
from orchestration.reports.resources import REPORTS, Reporting
from orchestration.warehouse.resources import Warehouse
from orchestration.workflows.resources import Operations
from reports.periods import KINDS, Period, parse
from reports.report_data import ReportSources, build, report_codes
from reports.report_store import GROUP
from reports.rendering import page_png, render_html, render_pdf, subject

# What each report reads, for the lineage in the UI.
MARTS = ("fct_daily_occupancy", "fct_pace", "fct_bookings", "fct_cancellations",
         "fct_daily_segment_mix", "fct_guest_value", "fct_room_inspections", "fct_attendance",
         "fct_anomaly_alerts", "dim_hotels", "dim_hotel_as_of")
DEPS = [*(dg.AssetKey(["marts", m]) for m in MARTS), dg.AssetKey(["pricing", "price_schedule"])]
FORECASTS = ("occupancy", "revenue")


def partitions(kind: str, start: date) -> dg.PartitionsDefinition:
    """Periods from ``start`` to the last one complete (yesterday, last week, last month)."""
    if kind == "daily":
        return dg.DailyPartitionsDefinition(start_date=start.isoformat())
    if kind == "weekly":  # weeks start on Monday
        monday = start - timedelta(days=start.weekday())
        return dg.WeeklyPartitionsDefinition(start_date=monday.isoformat(), day_offset=1)
    return dg.MonthlyPartitionsDefinition(start_date=start.replace(day=1).isoformat())


def sources(warehouse_marts: duckdb.DuckDBPyConnection, lake: Lake, registry: ModelRegistry,
            period: Period, threshold: float) -> ReportSources:
    """The marts, the lake's price schedule and the period's prediction log, the champions."""
    days = [period.start + timedelta(days=i) for i in range(period.days)]
    predictions = lake.read(ML_PREDICTIONS.name, columns=["model", "predicted_at", "inputs"],
                            filters=[("predicted_date", "in", days)])

    def champion(name: str):
        version = registry.champion_version(name)
        return registry.load_version(name, version) if version else None

    return ReportSources(
        warehouse_marts,
        price_schedule=lake.read(PRICE_SCHEDULE.name) if lake.exists(PRICE_SCHEDULE.name) else None,
        predictions=predictions if predictions.height else None,
        cancellation=champion("cancellation"),
        forecasts={t: m for t in FORECASTS if (m := champion(f"forecast_{t}")) is not None},
        models=[c for name in registry.champions() if (c := registry.champion_card(name))],
        high_risk_threshold=threshold)


def _preview(report: dict, png: bytes, link: str) -> str:
    """The group report's headline figures and page 1, as the materialisation shows them."""
    k = report["kpis"]
    def cell(v, fmt):
        return "—" if v is None else format(v, fmt)
    rows = "\n".join(
        f"| {name} | {cell(k[key]['actual'], fmt)} | {cell(k[key]['last_year'], fmt)} |"
        for name, key, fmt in (("Rooms sold", "rooms_sold", ",.0f"), ("Occupancy", "occupancy", ".1%"),
                               ("ADR", "adr", ",.2f"), ("RevPAR", "revpar", ",.2f")))
    banner = "".join(f"\n> **Stale:** {s['what']} of {s['property']} current only up to {s['as_of']}\n"
                     for s in report["stale"])
    image = base64.b64encode(png).decode()
    return (f"{banner}\n| | {report['period_label']} | last year |\n|---|---:|---:|\n{rows}\n\n"
            f"[Open the PDF]({link})\n\n![page 1](data:image/png;base64,{image})")


def materialise(context: dg.AssetExecutionContext, kind: str, warehouse: Warehouse, lake: Lake,
                registry: ModelRegistry, reporting: Reporting, ops: Operations) -> dg.MaterializeResult:
    period = parse(kind, context.partition_key)
    started, messages, sizes, stale = time.perf_counter(), [], [], set()
    preview = None
    subscribers = reporting.subscriptions.list()
    # the report languages, and any a subscriber asked for
    languages = list(dict.fromkeys([*reporting.languages, *(s.language for s in subscribers)]))
    with duckdb.connect(str(warehouse.marts_path), read_only=True) as marts:
        src = sources(marts, lake, registry, period, reporting.high_risk_threshold)
        codes = report_codes(src, period)
        for code in codes:
            report = build(src, period, code)
            stale |= {f"{s['what']} of {s['property']}" for s in report["stale"]}
            for language in languages:
                html = render_html(report, language)
                pdf = render_pdf(html)
                reporting.store.write(kind, period, code, language, "html", html)
                stored_pdf = reporting.store.write(kind, period, code, language, "pdf", pdf)
                sizes.append(stored_pdf.size)
                if code == GROUP and language == reporting.languages[0]:
                    preview = _preview(report, page_png(pdf, scale=0.8),
                                       reporting.link(kind, period.key, code, language, "pdf"))
                for sub in subscribers:
                    if not sub.receives(kind, code) or sub.language != language:
                        continue
                    messages.append(Message(
                        key=f"report:{kind}:{period.key}:{code}:{sub.subscription_id}",
                        workflow=f"reports_{kind}", recipient=f"email:{sub.email}",
                        subject=subject(report, language), body=html, language=language,
                        payload={"html": True, "attachments": [{
                            "uri": reporting.store.uri_of(stored_pdf),
                            "filename": f"{kind}-{period.key}-{code}.{language}.pdf",
                            "content_type": "application/pdf"}]}))
    counts = ops.send(messages)
    seconds = time.perf_counter() - started
    context.log.info(f"{kind} {period.label}: {len(codes)} reports x {len(languages)} "
                     f"languages in {seconds:.1f} s; {counts}")
    first = reporting.languages[0]
    return dg.MaterializeResult(metadata={
        "period": period.label, "properties": ", ".join(codes),
        "reports": len(sizes), "pdf_kb_max": round(max(sizes, default=0) / 1024, 1),
        "render_seconds": round(seconds, 1),
        "stale_inputs": ", ".join(sorted(stale)) or "none",
        "group_pdf": dg.MetadataValue.url(reporting.link(kind, period.key, GROUP, first, "pdf")),
        "group_html": dg.MetadataValue.url(reporting.link(kind, period.key, GROUP, first, "html")),
        "stored_at": dg.MetadataValue.path(reporting.store.path(kind, period, GROUP, first, "pdf")),
        **counts,
        **({"preview": dg.MetadataValue.md(preview)} if preview else {})})


DESCRIPTIONS = {
    "daily": "The daily flash of the day before: rooms sold, occupancy, ADR and RevPAR against "
             "last year and the forecast, 30-day pace and pickup, cancellations and high-risk "
             "arrivals, the 14-day forecast, today's prices, housekeeping, attendance, alerts.",
    "weekly": "The weekly review (Monday to Sunday): trends against last year and the week "
              "before, revenue by segment and channel, booking window, cancellations, guest "
              "segments, punctuality and model health.",
    "monthly": "The monthly pack: the weekly review's trends over a calendar month.",
}


def report_asset(kind: str, start: date) -> dg.AssetsDefinition:
    @dg.asset(
        name=kind, key_prefix=["reports"], group_name=REPORTS, deps=DEPS,
        partitions_def=partitions(kind, start), kinds={"pdf", "html", "email"},
        description=DESCRIPTIONS[kind] + " Each property and the group, in each report "
                    "language, to reports/<kind>/<period>/ in the lake's storage; mailed to "
                    "the subscribers (/api/v1/reports/subscriptions) through the outbox.",
    )
    def _report(context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse],
                lake: dg.ResourceParam[Lake], registry: dg.ResourceParam[ModelRegistry],
                reporting: dg.ResourceParam[Reporting],
                ops: dg.ResourceParam[Operations]) -> dg.MaterializeResult:
        return materialise(context, kind, warehouse, lake, registry, reporting, ops)

    return _report


def report_assets(start: date) -> list[dg.AssetsDefinition]:
    return [report_asset(kind, start) for kind in KINDS]
