"""The attendance workflow's jobs: the lateness through dbt, then the notices; the no-show check."""

import dagster as dg

from orchestration.ingest.assets import BRONZE
from orchestration.warehouse import MARTS_FILE
from orchestration.workflows.attendance.assets import FCT_ATTENDANCE

ATTENDANCE_JOB = dg.define_asset_job(
    "attendance_workflow",
    selection=(dg.AssetSelection.assets(FCT_ATTENDANCE).upstream() - dg.AssetSelection.groups(BRONZE))
    | dg.AssetSelection.assets(MARTS_FILE, ["ops", "attendance_notices"]),
    description="New attendance events -> fct_attendance (dbt, the models it needs) -> the "
                "published marts -> a notice per late shift to the supervisor.")

NO_SHOW_JOB = dg.define_asset_job(
    "attendance_no_shows", selection=dg.AssetSelection.assets(["ops", "no_shows"]),
    description="Shifts started past the grace period with no check-in -> the supervisor.")
