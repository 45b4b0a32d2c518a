"""The operations side of the platform for the workflows: outbox, sender, vault, tasks and
the settings the decisions need, built once by the code location from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from lake.contact_vault import ContactVault
from lake.delta_tables import Lake
from lake.properties import PropertyMaster
from operations.outbox import Outbox
from operations.senders import AddressBook, Postman
from operations.tasks import Roster, TaskBoard
from operations.workflows import Hotels

WORKFLOWS = "workflows"  # the Dagster group of every workflow's assets


@dataclass
class Operations:
    lake: Lake
    hotels: Hotels
    outbox: Outbox
    postman: Postman
    vault: ContactVault
    board: TaskBoard
    grace_minutes: int
    high_risk_threshold: float
    lost_found_min_similarity: float
    outbound_dir: Path
    dagster_url: str
    retention_days: dict[str, int]
    retention_delete: list[str]

    @classmethod
    def from_settings(cls, settings, lake: Lake) -> "Operations":
        properties = PropertyMaster.load(settings.properties_file)
        vault = ContactVault.from_settings(settings)
        addresses = AddressBook.from_settings(settings, vault)
        outbox = Outbox(settings.ops_database_url, addresses.channel)
        return cls(
            lake=lake, hotels=Hotels(properties), outbox=outbox,
            postman=Postman.from_settings(settings, outbox, addresses), vault=vault,
            board=TaskBoard(lake, Roster(lake), properties, dict(settings.task_due_minutes)),
            grace_minutes=settings.attendance_grace_minutes,
            high_risk_threshold=settings.high_risk_threshold,
            lost_found_min_similarity=settings.lost_found_min_similarity,
            outbound_dir=settings.outbound_dir, dagster_url=settings.dagster_url,
            retention_days=dict(settings.retention_days),
            retention_delete=list(settings.retention_delete))

    def send(self, messages: list) -> dict[str, int]:
        """Queue the messages in the outbox (each once, by its key): counts for the metadata."""
        stored = self.outbox.enqueue(messages)
        return {"messages_queued": sum(s.created for s in stored),
                "messages_already_queued": sum(not s.created for s in stored)}

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def run_url(self, run_id: str) -> str:
        return f"{self.dagster_url}/runs/{run_id}"
