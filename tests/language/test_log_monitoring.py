"""Log monitoring: a service's errors are judged against its own earlier rate, remembered
across calls; a spike, a brand-new burst and a new kind of error are told apart; steady
errors and info logs raise nothing; the actions, the severity and the status follow."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from language.log_monitoring import LogMonitor, LogRecord, signature, upstream_of

T0 = datetime(2025, 1, 17, 6, 0, tzinfo=timezone.utc)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def steady(service: str, message: str, every: float, until: float, start: float = 0,
           level: str = "error") -> list[LogRecord]:
    """One record every ``every`` minutes from ``start`` to before ``until``."""
    out, t = [], start
    while t < until:
        out.append(LogRecord(service, level, message, at(t)))
        t += every
    return out


def burst(service: str, message: str, count: int, start: float, level: str = "error") -> list[LogRecord]:
    """``count`` records 20 seconds apart from minute ``start``."""
    return [LogRecord(service, level, message.format(i=i), at(start + i / 3)) for i in range(count)]


def test_a_spike_over_a_steady_low_rate_is_one_high_issue_for_that_service_only():
    logs = (steady("cv", "Recognition failed", every=10, until=120)
            + steady("api", "Upstream returned 500", every=2, until=125)  # steady at its baseline
            + steady("pms", "sync ok", every=1, until=125, level="info")
            + burst("cv", "Recognition failed for track {i}", 12, start=120.5))
    issues = LogMonitor().analyze(logs)
    assert len(issues) == 1
    (issue,) = issues
    assert (issue.type, issue.service, issue.severity) == ("error_spike", "cv", "high")
    assert issue.count == 12 and issue.observed_rate == pytest.approx(12 / 5)
    assert issue.baseline_rate == pytest.approx(12 / 120.5, rel=0.05)
    assert issue.description.startswith("cv: 12 errors in the last 5 min (2.4/min) against its "
                                        "baseline of 0.1/min (24×)")
    assert "most common: 'Recognition failed for track <n>' ×12" in issue.description
    assert issue.recommended_action == "Check camera connectivity and lighting conditions"
    assert issue.sample_message.startswith("Recognition failed for track ")


def test_errors_steady_at_the_baseline_or_below_the_minimum_raise_nothing():
    monitor = LogMonitor()
    assert monitor.analyze(steady("api", "Upstream returned 500", every=0.5, until=180)) == []
    # two errors on a clean service are under min_errors
    assert monitor.analyze(steady("pos", "ok", every=5, until=60, level="info")
                           + burst("pos", "Card reader error", 2, start=58)) == []


def test_info_and_warning_logs_do_not_count():
    logs = (steady("cv", "Recognition failed", every=10, until=120)
            + burst("cv", "Frame {i} processed", 40, start=120.5, level="INFO")
            + burst("cv", "Low light on camera {i}", 40, start=120.5, level="warning"))
    monitor = LogMonitor()
    assert monitor.analyze(logs) == []
    assert monitor.status()["services"]["cv"]["last_window_errors"] == 0


def test_a_brand_new_burst_is_a_new_error():
    logs = (steady("pms", "sync ok", every=1, until=60, level="info")
            + burst("pms", "Failed to connect to pms-gateway:8080 (timed out)", 8, start=57,
                    level="Error"))
    (issue,) = LogMonitor().analyze(logs)
    assert (issue.type, issue.service, issue.count, issue.baseline_rate) == ("new_error", "pms", 8, 0.0)
    assert issue.severity == "medium"  # 8 errors: at least twice min_errors, under five times
    assert "after none in the previous 54 min" in issue.description
    assert issue.recommended_action.startswith("Check the upstream 'pms-gateway:8080' that pms calls")
    # a service never seen before has no baseline at all
    (fresh,) = LogMonitor().analyze(burst("ocr", "Tesseract crashed: code {i}", 5, start=0))
    assert fresh.type == "new_error" and fresh.baseline_rate is None
    assert "no earlier logs to compare with" in fresh.description
    assert "most common: 'Tesseract crashed: code <n>' ×5" in fresh.description


def test_a_new_kind_of_error_over_a_steady_rate_is_named():
    logs = (steady("cv", "Recognition failed", every=1, until=125)
            + burst("cv", "CUDA out of memory (tried to allocate {i}0 MiB)", 4, start=121, level="CRITICAL"))
    (issue,) = LogMonitor().analyze(logs)
    assert (issue.type, issue.count) == ("new_error", 4)
    assert issue.severity == "high"  # critical records in the window
    assert "a new error, 'CUDA out of memory (tried to allocate <n> MiB)' ×4" in issue.description
    assert issue.recommended_action.startswith("Check cv's memory use")


def test_the_baseline_is_remembered_across_calls_and_a_resent_batch_counts_once():
    history = steady("cv", "Recognition failed", every=10, until=120)
    spike = burst("cv", "Recognition failed", 12, start=120.5)
    monitor = LogMonitor()
    assert monitor.analyze(history) == []
    assert monitor.analyze(history) == []  # sent again: not twice the baseline
    (issue,) = monitor.analyze(spike)  # only the window now: the baseline comes from memory
    assert issue.type == "error_spike" and issue.baseline_rate == pytest.approx(12 / 120.5, rel=0.05)
    # without memory the same window is a burst with nothing to compare with
    (alone,) = LogMonitor().analyze(spike)
    assert alone.type == "new_error" and alone.baseline_rate is None
    # memory is bounded: a day later the old history has gone
    later = burst("cv", "Recognition failed", 12, start=24 * 60 + 200)
    (after,) = monitor.analyze(later)
    assert after.type == "new_error"


def test_now_defaults_to_the_logs_not_the_wall_clock_and_can_be_given():
    logs = (steady("cv", "Recognition failed", every=10, until=120)
            + burst("cv", "Recognition failed", 12, start=120.5))
    monitor = LogMonitor()
    assert [i.type for i in monitor.analyze(logs)] == ["error_spike"]
    # an hour later nothing is in the window any more
    assert monitor.analyze([], now=at(185)) == []
    with pytest.raises(ValueError, match="time zone"):
        LogRecord("cv", "error", "x", datetime(2025, 1, 17, 8, 30))


@pytest.mark.parametrize("service, message, action", [
    ("cv", "Recognition failed", "Check camera connectivity and lighting conditions"),
    ("frontdesk", "Face recognition timeout on gate", "Check camera connectivity"),
    ("api", "Failed to connect to redis:6379: connection refused", "Check the upstream 'redis:6379' that api"),
    ("api", "Read timed out", "Check the upstream service that api calls"),
    ("vision", "unexpected token", "Check camera connectivity and lighting conditions"),
    ("api", "psycopg.OperationalError: could not obtain lock on relation", "Check the database api uses"),
    ("etl", "OSError: [Errno 28] No space left on device", "Free disk space on etl's host"),
    ("api", "HTTP 503: model not loaded (cancellation)", "Check that api's model is loaded"),
    ("api", "Request to http://feature-store:6566/online timed out", "Check the upstream 'feature-store:6566'"),
    ("billing", "KeyError: 'folio_id'", "Read billing's log around"),
])
def test_recommended_actions(service, message, action):
    (issue,) = LogMonitor().analyze(burst(service, message, 3, start=0))
    assert issue.recommended_action.startswith(action), issue.recommended_action


def test_signatures_and_upstreams():
    assert signature("Track 1234 lost on cam 3") == signature("Track 87 lost on cam 1")
    assert (signature("job 123e4567-e89b-12d3-a456-426614174000 at 0x7f3a failed on 10.0.0.5:5432 "
                      "(hash 5f1c2a9be0)")
            == "job <uuid> at <hex> failed on <ip> (hash <hex>)")
    assert upstream_of("Failed to connect to db.internal: timeout") == "db.internal"
    assert upstream_of("Request to the server timed out") is None


def test_status_reflects_the_last_analysis():
    monitor = LogMonitor()
    assert monitor.status()["status"] == "ok" and monitor.status()["services"] == {}
    logs = (steady("cv", "Recognition failed", every=10, until=120)
            + steady("api", "Upstream returned 500", every=2, until=125)
            + burst("cv", "Recognition failed", 12, start=120.5))
    monitor.analyze(logs)
    status = monitor.status()
    assert status["status"] == "degraded" and status["open_issues"] == 1
    assert status["last_analysis"]["as_of"] == at(120.5 + 11 / 3).isoformat()
    cv, api = status["services"]["cv"], status["services"]["api"]
    assert cv["last_window_rate"] == pytest.approx(2.4) and cv["open_issues"][0]["type"] == "error_spike"
    assert api["open_issues"] == [] and api["baseline_rate"] == pytest.approx(0.5, rel=0.05)
    # the next analysis, with the spike gone from the window, closes the issue
    monitor.analyze([LogRecord("api", "info", "ok", at(200))])
    status = monitor.status()
    assert status["status"] == "ok" and status["open_issues"] == 0
    assert status["services"]["cv"]["as_of"] == at(200).isoformat()


def test_concurrent_calls_with_the_same_logs_count_them_once():
    history = steady("cv", "Recognition failed", every=10, until=120)
    spike = burst("cv", "Recognition failed", 12, start=120.5)
    monitor, errors = LogMonitor(), []

    def send():
        try:
            monitor.analyze(history + spike)
        except Exception as e:  # collected: a thread's exception would otherwise be lost
            errors.append(e)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    (issue,) = monitor.analyze(history + spike)
    assert issue.count == 12 and issue.baseline_rate == pytest.approx(12 / 120.5, rel=0.05)


def test_records_from_json():
    record = LogRecord.from_dict({"service": "cv", "level": "error", "message": "Recognition failed",
                                  "timestamp": "2025-01-17T08:30:00Z"})
    assert record.timestamp == datetime(2025, 1, 17, 8, 30, tzinfo=timezone.utc) and record.is_error
    with pytest.raises(ValueError, match="time zone"):
        LogRecord.from_dict({"service": "cv", "level": "error", "message": "x",
                             "timestamp": "2025-01-17T08:30:00"})
