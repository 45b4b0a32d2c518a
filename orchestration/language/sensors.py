"""The knowledge sensor: a changed document re-indexes the knowledge base."""

import dagster as dg

from orchestration.language.jobs import KNOWLEDGE_JOB
from orchestration.language.resources import Knowledge


@dg.sensor(job=KNOWLEDGE_JOB, minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Watches the knowledge folder: when its documents differ from those the "
                       "table was built from (or the embedder changed), re-indexes them.")
def knowledge_sensor(context: dg.SensorEvaluationContext, knowledge: dg.ResourceParam[Knowledge]):
    changed = knowledge.stale()
    if changed is None:
        return dg.SkipReason("the knowledge base is current")
    return dg.RunRequest(run_key=f"knowledge:{changed}")
