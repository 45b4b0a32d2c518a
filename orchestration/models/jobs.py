"""The nightly retraining job and one retraining job per model (what
`POST /api/v1/ml/retrain/{model_name}` starts); their names come from the model catalogue."""

import dagster as dg

from ml.catalog import MODELS, RETRAIN_ALL_JOB
from orchestration.feature_store.assets import FEATURES
from orchestration.models.assets import MODELS_GROUP

NIGHTLY_RETRAINING_JOB = dg.define_asset_job(
    RETRAIN_ALL_JOB, selection=dg.AssetSelection.groups(FEATURES, MODELS_GROUP),
    description="Refresh the feature store and retrain every model; champions move only "
                "when a challenger beats them on the same held-out data.")

RETRAIN_JOBS = {
    name: dg.define_asset_job(
        spec.retrain_job, selection=dg.AssetSelection.assets([MODELS_GROUP, name]),
        description=f"Retrain the {name} model on the current marts; its champion moves only "
                    "if the challenger wins.")
    for name, spec in MODELS.items()
}
