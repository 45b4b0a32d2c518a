"""One asset per model: train on the published marts, log to MLflow, promote if better."""

import dagster as dg
import duckdb

from base.settings import get_settings
from ml.catalog import MODELS, ModelSpec, candidates
from ml.registry import log_and_promote
from orchestration.models.metadata import model_metadata
from orchestration.warehouse import MARTS_FILE

MODELS_GROUP = "models"


def build_model_asset(name: str, spec: ModelSpec) -> dg.AssetsDefinition:
    @dg.asset(key=[MODELS_GROUP, name], group_name=MODELS_GROUP, deps=[MARTS_FILE], kinds={"mlflow"},
              description=f"{spec.description}\n\nRegistered in MLflow; the `champion` alias moves "
                          f"only when this run beats the champion on the same held-out data.")
    def _model(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        with duckdb.connect(str(get_settings().marts_path), read_only=True) as marts:
            trained = candidates(spec.train(marts))
        metadata: dict = {}
        for candidate in trained:
            registration = log_and_promote(candidate)
            context.log.info(f"{candidate.name} v{registration.version}: {registration.reason}"
                             f" -> {'promoted' if registration.promoted else 'kept champion'}")
            prefix = "" if len(trained) == 1 else f"{candidate.name}/"
            metadata.update({f"{prefix}{k}": v
                             for k, v in model_metadata(candidate, registration).items()})
        return dg.MaterializeResult(metadata=metadata)

    return _model


MODEL_ASSETS = [build_model_asset(name, spec) for name, spec in MODELS.items()]
