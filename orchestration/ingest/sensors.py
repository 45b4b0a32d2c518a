"""The landing sensor: a new file in landing/ starts the ingest job of its source."""


import json
from pathlib import Path

import dagster as dg

from lake.ingest import LandingZone, file_sha256
from lake.sources import SOURCES
from orchestration.ingest.jobs import INGEST_JOBS, ingest_job_name


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    return f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}"


@dg.sensor(
    jobs=list(INGEST_JOBS.values()),
    minimum_interval_seconds=10,  # the API's events land in batches: ingested within a minute
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches landing/ (pms, attendance, camera). A file not ingested before "
                "(by content hash) starts the ingest job of its source; the same file "
                "dropped again starts nothing.",
)
def landing_sensor(context: dg.SensorEvaluationContext, landing: dg.ResourceParam[LandingZone]):
    # The cursor remembers file fingerprints already looked at, so big files are hashed once.
    known: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    requests = []
    for source_name, source in SOURCES.items():
        paths = landing.files(source)
        fresh = [p for p in paths if known.get(str(p)) != _fingerprint(p)]
        if not fresh:
            continue
        done = landing.seen_files(source_name)
        new = []
        for path in fresh:
            known[str(path)] = _fingerprint(path)
            sha = file_sha256(path)
            if sha not in done:
                new.append((path, sha))
        if new:
            requests.append(dg.RunRequest(
                run_key=f"{source_name}:" + ",".join(sha[:16] for _, sha in new),
                job_name=ingest_job_name(source_name),
                tags={"innsight/files": ",".join(p.name for p, _ in new)[:200]},
            ))
    context.update_cursor(json.dumps(known))
    if not requests:
        return dg.SkipReason("no new files in landing/")
    return requests
