"""One asset per model: train on the published marts, log to MLflow, promote if better."""

import dagster as dg
import duckdb

from ml.catalog import MODELS, ModelSpec
from ml.registry import ModelRegistry
from orchestration.models.checks import check_specs, model_checks
from orchestration.models.metadata import model_metadata
from orchestration.models.resources import TrainingTimeline
from orchestration.warehouse import MARTS_FILE
from orchestration.warehouse.resources import Warehouse

MODELS_GROUP = "models"


def build_model_asset(spec: ModelSpec) -> dg.AssetsDefinition:
    key = [MODELS_GROUP, spec.name]

    @dg.asset(key=key, group_name=MODELS_GROUP, deps=[MARTS_FILE], kinds={"mlflow"},
              check_specs=check_specs(spec, key),
              description=f"{spec.description}\n\nTrained as of the `training` resource's day "
                          f"(default yesterday; set `as_of` in the run config for a backfill) and "
                          f"evaluated per property on its last months. Registered in MLflow; the "
                          f"`champion` alias moves only when this run beats the champion on the "
                          f"same held-out data.")
    def _model(context: dg.AssetExecutionContext, registry: dg.ResourceParam[ModelRegistry],
               warehouse: dg.ResourceParam[Warehouse], training: TrainingTimeline) -> dg.MaterializeResult:
        timeline = training.timeline()
        context.log.info(f"training {spec.name} as of {timeline.as_of}")
        with duckdb.connect(str(warehouse.marts_path), read_only=True) as marts:
            # the MLflow run links back to the Dagster run (and job) that trained it
            trained = registry.train_and_register(
                spec, marts, timeline, tags={"dagster_run_id": context.run_id,
                                             "dagster_job": context.job_name})
        metadata: dict = {}
        for candidate, registration in trained:
            context.log.info(f"{candidate.name} v{registration.version}: {registration.reason}"
                             f" -> {'promoted' if registration.promoted else 'kept champion'}")
            prefix = "" if len(trained) == 1 else f"{candidate.name}/"
            run = registration.run_id
            shown = model_metadata(candidate, registration, registry.ui_url(run),
                                   {name: registry.plot_url(run, name) for name in candidate.figures})
            metadata.update({f"{prefix}{k}": v for k, v in shown.items()})
        return dg.MaterializeResult(metadata=metadata, check_results=model_checks(
            spec, key, [c for c, _ in trained], timeline.as_of))

    return _model


MODEL_ASSETS = [build_model_asset(spec) for spec in MODELS.values()]
