"""Requests and answers of /api/v1/reports: the general manager's reports (the daily flash,
the weekly review, the monthly pack) as the platform rendered them, and who receives them by
email (subscriptions, the seeds' report schedules)."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Annotated, Literal

from fastapi import Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from reports.periods import KINDS, containing
from reports.report_store import FORMATS, GROUP
from reports.report_store import LANGUAGES
from reports.subscriptions import EMAIL

ReportKind = Literal[KINDS]  # daily | weekly | monthly
Language = Literal[LANGUAGES]  # en | vi
ReportFormat = Literal[tuple(FORMATS)]  # pdf | html
PropertyCode = Annotated[str, Field(min_length=1, max_length=64, description=(
    f"A hotel's code in the property master, or `{GROUP}` for the group's report."))]
Email = Annotated[str, Field(min_length=3, max_length=320, pattern=EMAIL.pattern,
                             description="Where the reports are sent; one subscription per "
                                         "address (any case).")]
SubscriptionId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$",
                                     description="A subscription's id (32 hex digits).")]

# The examples' period: the last full week when the app started (no calendar day in code).
EXAMPLE_WEEK = containing("weekly", date.today()).previous()
_EXAMPLE_ID = "0123456789abcdef0123456789abcdef"


class Report(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "kind": "weekly", "period": EXAMPLE_WEEK.key, "period_label": EXAMPLE_WEEK.label,
        "property": GROUP, "language": "en", "format": "pdf", "size": 182_431,
        "url": f"/api/v1/reports/weekly/{EXAMPLE_WEEK.key}?property={GROUP}&language=en"
               "&format=pdf"}]})

    kind: ReportKind = Field(description="daily (the flash), weekly (the review) or monthly (the pack).")
    period: str = Field(description="The period's first day, YYYY-MM-DD (the Dagster partition "
                                    "that renders it).")
    period_label: str = Field(description="The period as people name it: YYYY-MM-DD for a day, "
                                          "YYYY-Www (ISO week) for a week, YYYY-MM for a month.")
    property: str = Field(description=f"The hotel's code, or `{GROUP}` for the group's report.")
    language: Language
    format: ReportFormat
    size: int = Field(description="Bytes.")
    url: str = Field(description="Where to fetch it (with the same credentials).")


class ReportList(BaseModel):
    reports: list[Report] = Field(description="Newest period first.")
    count: int


class SubscriptionRequest(BaseModel):
    """Who receives which reports. Sending it again for the same address replaces what that
    address receives (200); a new address is a new subscription (201)."""

    # no examples of its own: the route offers one that answers on any platform
    model_config = ConfigDict(extra="forbid")

    email: Email
    properties: list[PropertyCode] = Field(min_length=1, max_length=100, description=(
        f"Whose reports: hotel codes of the property master, and/or `{GROUP}` for the "
        "group's report (every hotel together)."))
    kinds: list[ReportKind] = Field(min_length=1, max_length=len(KINDS), description=(
        "Which reports: `daily` (the flash, each morning), `weekly` (the review, each Monday), "
        "`monthly` (the pack, early each month)."))
    language: Language = Field("en", description="The language the reports are written in.")


class Subscription(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "subscription_id": _EXAMPLE_ID, "email": "gm@example.com", "properties": [GROUP],
        "kinds": ["daily", "weekly", "monthly"], "language": "en",
        "created_at": datetime.combine(EXAMPLE_WEEK.start, time(9), timezone.utc).isoformat(),
        "created_by": "you"}]})

    subscription_id: str
    email: str = Field(description="In lower case.")
    properties: list[str] = Field(description=f"Hotel codes, and/or `{GROUP}`.")
    kinds: list[ReportKind] = Field(description="In the order daily, weekly, monthly.")
    language: Language
    created_at: AwareDatetime = Field(description="When the address first subscribed (an "
                                                  "update keeps it).")
    created_by: str = Field(description="Who subscribed it: the token's subject or the key's name.")


class SubscriptionList(BaseModel):
    subscriptions: list[Subscription] = Field(description="By email address.")
    count: int
