"""The training timeline as a Dagster resource: its values come from the settings, and a run
may set another as-of day in its config to retrain as the platform would have on that day
(Launchpad: ``resources: {training: {config: {as_of: "YYYY-MM-DD"}}}``)."""

from __future__ import annotations

from typing import Optional

import dagster as dg
from pydantic import Field

from ml.timeline import Timeline


class TrainingTimeline(dg.ConfigurableResource):
    as_of: Optional[str] = Field(
        default=None, description="Last day the models read, YYYY-MM-DD (empty: yesterday).")
    evaluation_months: int = Field(
        default=3, description="Months of each property's held-out period, before the as-of day.")
    min_history_days: int = Field(
        default=90, description="History a property needs before them to be evaluated alone.")

    @classmethod
    def from_settings(cls, settings) -> "TrainingTimeline":
        return cls(as_of=settings.as_of.isoformat() if settings.as_of else None,
                   evaluation_months=settings.evaluation_months,
                   min_history_days=settings.min_history_days)

    def timeline(self) -> Timeline:
        return Timeline.of(self.as_of, self.evaluation_months, self.min_history_days)
