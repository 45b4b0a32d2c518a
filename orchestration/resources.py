"""The platform's outside systems as Dagster resources, built once from the settings by the
code location: assets ask for them by name (``landing: dg.ResourceParam[LandingZone]``)."""

from __future__ import annotations

from base.settings import Settings
from features.store import FeatureStore
from lake.delta_tables import Lake
from lake.ingest import LandingZone
from ml.registry import ModelRegistry
from operations.event_bus import RabbitDrain
from orchestration.language.resources import Knowledge
from orchestration.models.resources import TrainingTimeline
from orchestration.reports.resources import Reporting
from orchestration.vision.resources import VisionModels
from orchestration.warehouse.resources import Warehouse, dbt_resource
from orchestration.workflows.resources import Operations


def platform_resources(settings: Settings) -> dict[str, object]:
    landing = LandingZone.from_settings(settings)
    return {
        "landing": landing,  # landing folder -> bronze (with the reference data)
        "lake": landing.lake,  # every Delta table of the lake
        "warehouse": Warehouse.from_settings(settings),  # dbt's build file, the marts file
        "dbt": dbt_resource(settings),
        "feature_store": FeatureStore.from_settings(settings),
        "registry": ModelRegistry.from_settings(settings),  # MLflow
        "training": TrainingTimeline.from_settings(settings),  # the as-of day models train on
        "vision": VisionModels.from_settings(settings, landing.lake),  # faces, CLIP (lazy)
        "knowledge": Knowledge.from_settings(settings),  # documents -> LanceDB
        "ops": Operations.from_settings(settings, landing.lake),  # outbox, sender, vault, tasks
        "reporting": Reporting.from_settings(settings),  # rendered reports, subscribers
        "event_bus": RabbitDrain.from_settings(settings),  # RabbitMQ events -> landing/
    }
