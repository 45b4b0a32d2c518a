"""Vision jobs: rebuild the vision assets; maintain the LanceDB tables."""

from datetime import timedelta

import dagster as dg

from orchestration.vision.assets import VISION
from orchestration.vision.resources import VisionModels

KEEP_VERSIONS_FOR = timedelta(days=7)  # a running search may still read a recent version

VISION_JOB = dg.define_asset_job(
    "build_vision", selection=dg.AssetSelection.groups(VISION),
    description="The face gallery's calibration, the image index from the lake, the room probe.")


@dg.op(description="Compact every LanceDB table, fold new rows into its indexes, and delete "
                   f"versions older than {KEEP_VERSIONS_FOR.days} days.")
def maintain_vector_tables(context: dg.OpExecutionContext,
                           vision: dg.ResourceParam[VisionModels]) -> dict:
    import lancedb

    db = lancedb.connect(vision.vectors_root)
    report = {}
    for name in db.table_names():
        table = db.open_table(name)
        versions, fragments = len(table.list_versions()), table.stats()["fragment_stats"]["num_fragments"]
        table.optimize(cleanup_older_than=KEEP_VERSIONS_FOR)
        report[name] = {"rows": table.count_rows(), "versions_before": versions,
                        "versions_after": len(table.list_versions()),
                        "fragments_before": fragments,
                        "fragments_after": table.stats()["fragment_stats"]["num_fragments"]}
        context.log.info(f"{name}: {report[name]}")
    return report


@dg.job(description="LanceDB maintenance (compaction, index optimisation, cleanup of old "
                    "versions) of the vector store.")
def vector_maintenance():
    maintain_vector_tables()
