"""One job per report kind: a run renders and mails one period (a partition)."""

import dagster as dg

from reports.periods import KINDS

REPORT_JOBS = {kind: dg.define_asset_job(
    f"reports_{kind}", selection=dg.AssetSelection.assets(["reports", kind]),
    description=f"The {kind} reports of one period: rendered, stored and mailed.")
    for kind in KINDS}
