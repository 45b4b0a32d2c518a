"""Matches between guests' reported losses and the found items of the image index."""

from datetime import timedelta

import dagster as dg
import polars as pl

from lake.tables import GUEST_REQUESTS, LOST_FOUND_MATCHES
from orchestration.vision.resources import VisionModels
from orchestration.workflows.resources import WORKFLOWS, Operations
from operations.workflows import lost_found_notices

LOSS = "lost_item"  # the request router's type of a reported loss
OPEN_FOR = timedelta(days=30)  # a loss reported longer ago is no longer matched
TOP_K = 3


@dg.asset(
    key=["ops", "lost_found_matches"], group_name=WORKFLOWS, kinds={"lancedb", "delta", "email"},
    description="Each loss guests reported in the last 30 days (routed requests of type "
                "lost_item) searched by its text among the found items of the image index "
                "(lost_and_found, same hotel, CLIP): a match at or above "
                "INNSIGHT_LOST_FOUND_MIN_SIMILARITY is recorded in "
                f"`{LOST_FOUND_MATCHES.name}` (to_confirm) with a return notice to the front "
                "desk (lost-found:<match_id>). The guest is never told automatically.",
)
def lost_found_matches(context: dg.AssetExecutionContext, ops: dg.ResourceParam[Operations],
                       vision: dg.ResourceParam[VisionModels]) -> dg.MaterializeResult:
    lake, at = ops.lake, ops.now()
    lake.ensure(LOST_FOUND_MATCHES.name, LOST_FOUND_MATCHES.schema)
    lake.ensure(GUEST_REQUESTS.name, GUEST_REQUESTS.schema)
    losses = lake.read(GUEST_REQUESTS.name).filter(
        (pl.col("request_type") == LOSS) & (pl.col("received_at") >= at - OPEN_FOR))
    if losses.is_empty():
        return dg.MaterializeResult(metadata={"losses": 0, "matches": 0})
    index = vision.image_index()
    if index is None:
        reason = vision.clip().reason or "CLIP is not loaded"
        context.log.warning(f"lost and found not searched: {reason}")
        return dg.MaterializeResult(metadata={"losses": losses.height, "matches": 0,
                                              "not_searched": str(reason)})
    known = set(lake.read(LOST_FOUND_MATCHES.name, columns=["match_id"])["match_id"])
    rows = []
    for loss in losses.iter_rows(named=True):
        hits = index.search(text=loss["message"], top_k=TOP_K, category="lost_and_found",
                            hotel=loss["hotel"], threshold=ops.lost_found_min_similarity)
        for hit in hits:
            if (hit["vector_score"] or 0) < ops.lost_found_min_similarity:
                continue  # found by its words only: not alike enough to bother a person
            match_id = f"{loss['request_id']}:{hit['image_id']}"
            if match_id not in known:
                rows.append({"match_id": match_id, "request_id": loss["request_id"],
                             "guest_id": loss["guest_id"], "hotel": loss["hotel"],
                             "image_id": hit["image_id"], "similarity": hit["vector_score"],
                             "description": hit.get("description"), "status": "to_confirm",
                             "matched_at": at, "notice_id": f"lost-found:{match_id}"})
    matches = pl.DataFrame(rows, schema=LOST_FOUND_MATCHES.schema)
    counts = ops.send(lost_found_notices(matches, ops.hotels))
    lake.merge(LOST_FOUND_MATCHES.name, matches, list(LOST_FOUND_MATCHES.keys))
    context.log.info(f"{losses.height} open losses, {matches.height} new matches: {counts}")
    return dg.MaterializeResult(metadata={"losses": losses.height, "matches": matches.height,
                                          **counts})


