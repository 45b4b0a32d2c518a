"""The landing sensor: a new file starts its source's ingest job; the same file never twice."""

import dagster as dg

from orchestration.ingest.sensors import landing_sensor
from tests.conftest import drop, extract_lines


def evaluate(zone, cursor=None):
    context = dg.build_sensor_context(cursor=cursor, resources={"landing": zone})
    result = landing_sensor(context)
    return (result if isinstance(result, list) else []), context.cursor


def test_new_files_start_the_ingest_job_of_their_source(home, zone):
    drop(home, "pms", "export_0301.csv", "\n".join(extract_lines(5)) + "\n")
    drop(home, "camera", "anomalies_0301.jsonl", '{"alert_id": "a1"}\n')
    drop(home, "camera", "notes.txt", "not a source file\n")
    requests, _ = evaluate(zone)
    assert sorted(r.job_name for r in requests) == ["ingest_anomaly_alerts", "ingest_pms_bookings"]
    assert all(r.run_key for r in requests)


def test_the_same_file_again_starts_nothing(home, zone):
    path = drop(home, "pms", "export_0301.csv", "\n".join(extract_lines(5)) + "\n")
    requests, cursor = evaluate(zone)
    assert len(requests) == 1
    assert evaluate(zone, cursor)[0] == []  # unchanged file: not even re-hashed

    zone.ingest(path)
    drop(home, "pms", "export_0301_again.csv", path.read_text())  # same content, new name
    assert evaluate(zone, cursor)[0] == []


def test_a_changed_file_is_picked_up_again(home, zone):
    path = drop(home, "pms", "export.csv", "\n".join(extract_lines(5)) + "\n")
    first, cursor = evaluate(zone)
    zone.ingest(path)
    path.write_text("\n".join(extract_lines(8)) + "\n")
    second, _ = evaluate(zone, cursor)
    assert len(second) == 1 and second[0].run_key != first[0].run_key
