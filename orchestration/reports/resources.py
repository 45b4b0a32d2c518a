"""What the report assets need besides the lake and the models: where reports are kept, who
subscribes to them, the languages they are rendered in and where the API serves them."""

from __future__ import annotations

from dataclasses import dataclass

from reports.report_store import ReportStore
from reports.subscriptions import Subscriptions

REPORTS = "reports"  # the Dagster group of the report assets


@dataclass
class Reporting:
    store: ReportStore
    subscriptions: Subscriptions
    languages: list[str]
    api_url: str
    high_risk_threshold: float

    @classmethod
    def from_settings(cls, settings) -> "Reporting":
        return cls(ReportStore(settings.lake_root),
                   Subscriptions.from_url(settings.ops_database_url),
                   list(settings.report_languages), settings.api_url,
                   settings.high_risk_threshold)

    def link(self, kind: str, period: str, prop: str, language: str, fmt: str) -> str:
        """The API's address of one rendered report."""
        return (f"{self.api_url}/api/v1/reports/{kind}/{period}"
                f"?property={prop}&language={language}&format={fmt}")
