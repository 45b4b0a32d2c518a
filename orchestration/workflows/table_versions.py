"""What the sensors on tables the API writes share: a run when a table has a new version."""

import json

import dagster as dg

from lake.delta_tables import Lake
from lake.tables import Table


def on_new_versions(context: dg.SensorEvaluationContext, lake: Lake, tables: tuple[Table, ...],
                    nothing_new: str):
    """A RunRequest keyed by the tables' versions when one moved since the last tick; a skip
    otherwise. Just switched on, what is there now is where it starts from."""
    versions = {t.name: lake.version(t.name) for t in tables}
    if context.cursor is None:
        context.update_cursor(json.dumps(versions))
        return dg.SkipReason(f"watching from versions {versions}")
    if json.loads(context.cursor) == versions:
        return dg.SkipReason(nothing_new)
    context.update_cursor(json.dumps(versions))
    return dg.RunRequest(run_key=json.dumps(versions, sort_keys=True))
