"""Error spikes in the platform's logs, each service against its own baseline.

``LogMonitor.analyze`` takes the log records a caller sends (the API's monitoring route) and
finds, per service, whether its errors (levels error, critical, fatal) in the last
``window_minutes`` stand out from its own error rate before the window. The baseline comes
from this request's older records and from what the monitor kept of earlier calls (in memory,
``history_minutes`` back). "Now" is the newest timestamp in the logs, not the wall clock, so
replayed logs are judged as they happened. A record sent twice (overlapping batches, a retry)
counts once: each (service, time, level, message) counts as many times as the most any one
call carried it.

At most one issue per service:

- ``error_spike``: at least ``min_errors`` errors in the window and a window rate at least
  ``spike_ratio`` times the baseline rate;
- ``new_error``: at least ``min_errors`` errors in the window of a service with no errors
  before them (or seen for less than ``min_history_minutes``: no baseline to compare with),
  or, with no spike, at least ``min_errors`` errors of a kind its history never had.

Severity, with n the window's errors, m = ``min_errors``, r the ratio to the baseline and
s = ``spike_ratio``:

- critical: the window rate is at least ``critical_rate`` per minute, or r >= 10·s with n >= 5·m;
- high: n >= 5·m, or r >= 2·s with n >= 2·m;
- medium: n >= 2·m;
- low: otherwise;

a new error has no ratio (only the counts and the rate apply), and a critical or fatal record in
the window makes it at least high. Messages are grouped by signature (numbers, ids, hex,
UUIDs, IP addresses replaced) to name the most common one; the recommended action comes
from a small table of message patterns, then of services, then a generic look at the log.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

ERROR_LEVELS = frozenset({"error", "critical", "fatal"})
SEVERE_LEVELS = frozenset({"critical", "fatal"})
SEVERITIES = ("low", "medium", "high", "critical")

# What varies between two occurrences of the same error, replaced in order.
VOLATILE = (
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<uuid>"),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "<hex>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", re.I), "<hex>"),  # hashes, ids
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "<ip>"),
    (re.compile(r"\d+(?:[.,]\d+)*"), "<n>"),
)
# The upstream a timeout names: a URL's host, else the first name after "to"/"from"/"host="
# that is not a verb or an article ("failed to connect to redis:6379" names redis:6379).
URL = re.compile(r"https?://([^/\s:'\"]+(?::\d+)?)")
NAMED = re.compile(r"\b(?:to|from|upstream|host)\s*[=:]?\s*['\"]?([A-Za-z][\w.-]*(?::\d+)?)", re.I)
NOT_A_HOST = frozenset({"connect", "reach", "send", "receive", "read", "write", "fetch", "load",
                        "get", "call", "open", "establish", "the", "a", "an", "server", "host",
                        "service", "upstream", "remote"})
# (pattern on the message, action); the first that matches wins. {service}, {upstream}.
# Camera words come before timeouts: "recognition failed: camera connection refused" is the
# camera, not an upstream service.
MESSAGE_ACTIONS = (
    (re.compile(r"out of memory|MemoryError|\bOOM\b|cannot allocate memory", re.I),
     "Check {service}'s memory use: restart it, then look for a leak or an oversized batch "
     "and lower the batch size or give it more memory"),
    (re.compile(r"no space left|disk (is )?full|ENOSPC|disk quota", re.I),
     "Free disk space on {service}'s host (old logs, temporary files, model artefacts) and "
     "check the volume's size"),
    (re.compile(r"database|psycopg|postgres|duckdb|sqlite|deadlock|could not obtain lock|"
                r"lock wait", re.I),
     "Check the database {service} uses: a lock held by a long transaction or a second writer "
     "(DuckDB allows one), the connection pool, and the last migration"),
    (re.compile(r"model (is )?not loaded|no (champion|model)|\b503\b|service unavailable", re.I),
     "Check that {service}'s model is loaded (its /health page) and that the model registry "
     "or its files are reachable; reload it"),
    (re.compile(r"camera|recogni[sz]|\bfaces?\b|rtsp|frame", re.I),
     "Check camera connectivity and lighting conditions"),
    (re.compile(r"timed? ?out|timeout|connection (refused|reset)|ECONNREFUSED|unreachable", re.I),
     "Check the upstream {upstream} that {service} calls: is it up, reachable and answering "
     "in time?"),
)
SERVICE_ACTIONS = (
    (re.compile(r"\b(cv|vision|camera|face)", re.I), "Check camera connectivity and lighting conditions"),
)
GENERIC_ACTION = "Read {service}'s log around {first} for the cause of '{signature}'"


def upstream_of(message: str) -> str | None:
    """The service a timeout or refused connection names, if it names one."""
    if url := URL.search(message):
        return url.group(1)
    return next((m.group(1) for m in NAMED.finditer(message)
                 if m.group(1).lower() not in NOT_A_HOST), None)


@lru_cache(maxsize=8192)  # the same few messages recur thousands of times per analysis
def signature(message: str) -> str:
    """The message with what varies between occurrences (numbers, ids, hex, UUIDs, IPs)
    replaced: "Track 1234 lost on cam 3" and "Track 87 lost on cam 1" share one."""
    for pattern, token in VOLATILE:
        message = pattern.sub(token, message)
    return " ".join(message.split())[:200]


@dataclass(frozen=True)
class LogRecord:
    """One log line as the caller sends it; ``timestamp`` carries its time zone."""

    service: str
    level: str
    message: str
    timestamp: datetime

    def __post_init__(self) -> None:
        if not self.service or not self.service.strip():
            raise ValueError("a log record needs its service")
        if self.timestamp.tzinfo is None or self.timestamp.utcoffset() is None:
            raise ValueError(f"timestamp {self.timestamp.isoformat()} has no time zone "
                             "(write it with Z or an offset, e.g. +07:00)")

    @property
    def is_error(self) -> bool:
        return self.level.strip().lower() in ERROR_LEVELS

    @classmethod
    def from_dict(cls, record: Mapping) -> LogRecord:
        """From JSON: {service, level, message, timestamp (ISO 8601 with Z or an offset)}."""
        timestamp = record["timestamp"]
        if isinstance(timestamp, str):
            timestamp = datetime.fromisoformat(timestamp.strip())
        return cls(str(record["service"]).strip(), str(record.get("level", "info")),
                   str(record.get("message", "")), timestamp)


@dataclass(frozen=True)
class Issue:
    """An anomaly of one service. Rates are errors per minute; ``baseline_rate`` is None
    when the service had no history to compare with."""

    type: str  # "error_spike" | "new_error"
    service: str
    severity: str  # one of SEVERITIES
    description: str
    recommended_action: str
    observed_rate: float
    baseline_rate: float | None
    window_minutes: float
    count: int
    sample_message: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Service:
    """What the monitor keeps of one service between calls."""

    first_seen: datetime
    errors: Counter = field(default_factory=Counter)  # (timestamp, level, message) -> count
    baseline_rate: float | None = None
    window_rate: float = 0.0
    window_errors: int = 0
    as_of: datetime | None = None
    analysed_at: datetime | None = None
    issues: list[Issue] = field(default_factory=list)


def _num(x: float) -> str:
    """2.4, 0.2, 0.033, 12, 130: two significant digits below 10, whole numbers above."""
    return f"{x:.0f}" if x >= 10 else f"{x:.2g}"


def _span(minutes: float) -> str:
    if minutes < 120:
        return f"{_num(minutes)} min"
    return f"{_num(minutes / 60)} h"


class LogMonitor:
    """Error spikes per service against its own baseline; thread-safe (one lock around the
    state), so one instance serves concurrent API requests."""

    def __init__(self, window_minutes: float = 5, min_errors: int = 3, spike_ratio: float = 3.0,
                 history_minutes: float = 24 * 60, min_history_minutes: float | None = None,
                 critical_rate: float = 10.0, max_errors_kept: int = 20_000):
        if window_minutes <= 0 or history_minutes <= window_minutes:
            raise ValueError("window_minutes must be positive and shorter than history_minutes")
        if min_errors < 1 or spike_ratio <= 1 or critical_rate <= 0 or max_errors_kept < 1:
            raise ValueError("min_errors >= 1, spike_ratio > 1, critical_rate > 0, max_errors_kept >= 1")
        self.window_minutes = window_minutes
        self.min_errors = min_errors
        self.spike_ratio = spike_ratio
        self.history_minutes = history_minutes
        # Shorter than a window of history before the window says nothing about a rate.
        self.min_history_minutes = window_minutes if min_history_minutes is None else min_history_minutes
        self.critical_rate = critical_rate
        self.max_errors_kept = max_errors_kept  # per service: memory stays bounded in a flood
        self._lock = threading.Lock()
        self._services: dict[str, _Service] = {}
        self._latest: datetime | None = None
        self._last_analysis: dict | None = None

    def analyze(self, logs: Iterable[LogRecord], now: datetime | None = None) -> list[Issue]:
        """The issues as of ``now`` (default: the newest timestamp in ``logs``, else the
        newest the monitor has seen), most severe first; the logs are remembered."""
        logs = list(logs)
        if now is not None and (now.tzinfo is None or now.utcoffset() is None):
            raise ValueError("now needs a time zone")
        with self._lock:
            self._remember(logs)
            now = now or max((r.timestamp for r in logs), default=self._latest)
            issues = []
            if now is not None:
                analysed_at = datetime.now(timezone.utc)
                for name, service in self._services.items():
                    self._forget(service, now)
                    issue = self._assess(name, service, now)
                    service.issues = [issue] if issue else []
                    service.as_of, service.analysed_at = now, analysed_at
                    issues += service.issues
                self._last_analysis = {"as_of": now.isoformat(), "analysed_at": analysed_at.isoformat(),
                                       "records": len(logs), "issues": len(issues)}
            return sorted(issues, key=lambda i: (-SEVERITIES.index(i.severity), -i.count, i.service))

    def status(self) -> dict:
        """Per service: baseline and last window rates, when last analysed, open issues;
        overall "degraded" while an issue of medium severity or worse is open, else "ok"."""
        with self._lock:
            services = {
                name: {"baseline_rate": s.baseline_rate, "last_window_rate": s.window_rate,
                       "last_window_errors": s.window_errors,
                       "as_of": s.as_of.isoformat() if s.as_of else None,
                       "analysed_at": s.analysed_at.isoformat() if s.analysed_at else None,
                       "open_issues": [i.as_dict() for i in s.issues]}
                for name, s in sorted(self._services.items())}
            open_issues = [i for s in self._services.values() for i in s.issues]
            degraded = any(SEVERITIES.index(i.severity) >= SEVERITIES.index("medium") for i in open_issues)
            return {"status": "degraded" if degraded else "ok", "last_analysis": self._last_analysis,
                    "open_issues": len(open_issues), "services": services,
                    "settings": {"window_minutes": self.window_minutes, "min_errors": self.min_errors,
                                 "spike_ratio": self.spike_ratio, "history_minutes": self.history_minutes}}

    # -- state ---------------------------------------------------------------------------

    def _remember(self, logs: list[LogRecord]) -> None:
        batch: dict[str, Counter] = {}
        for record in logs:
            service = self._services.get(record.service)
            if service is None:
                service = self._services[record.service] = _Service(first_seen=record.timestamp)
            service.first_seen = min(service.first_seen, record.timestamp)
            errors = batch.setdefault(record.service, Counter())
            if record.is_error:
                errors[(record.timestamp, record.level.strip().lower(), record.message)] += 1
            if self._latest is None or record.timestamp > self._latest:
                self._latest = record.timestamp
        for name, errors in batch.items():
            kept = self._services[name].errors
            for key, count in errors.items():
                kept[key] = max(kept[key], count)  # a record sent again is not a new error

    def _forget(self, service: _Service, now: datetime) -> None:
        horizon = now - timedelta(minutes=self.history_minutes)
        for key in [k for k in service.errors if k[0] < horizon]:
            del service.errors[key]
        if len(service.errors) > self.max_errors_kept:
            for key in sorted(service.errors)[:len(service.errors) - self.max_errors_kept]:
                del service.errors[key]
            # what is left is all the history there is: the baseline's span starts there
            service.first_seen = max(service.first_seen, min(service.errors)[0])

    # -- assessment ----------------------------------------------------------------------

    def _assess(self, name: str, service: _Service, now: datetime) -> Issue | None:
        start = now - timedelta(minutes=self.window_minutes)
        horizon = now - timedelta(minutes=self.history_minutes)
        window = Counter()  # (timestamp, level, message) -> count, inside the window
        before: Counter = Counter()  # signature -> count, before the window
        for (timestamp, level, message), count in service.errors.items():
            if start < timestamp <= now:
                window[(timestamp, level, message)] += count
            elif horizon <= timestamp <= start:
                before[signature(message)] += count
        observed = (start - max(service.first_seen, horizon)).total_seconds() / 60
        count = sum(window.values())
        rate = count / self.window_minutes
        baseline = sum(before.values()) / observed if observed >= self.min_history_minutes else None
        service.baseline_rate = None if baseline is None else round(baseline, 4)
        service.window_rate, service.window_errors = round(rate, 4), count
        if count < self.min_errors:
            return None

        kinds = Counter()
        samples: dict[str, tuple[datetime, str]] = {}
        for (timestamp, _, message), n in window.items():
            kind = signature(message)
            kinds[kind] += n
            samples[kind] = max(samples.get(kind, (timestamp, message)), (timestamp, message))
        severe = any(level in SEVERE_LEVELS for _, level, _ in window)
        head = f"{name}: {count} errors in the last {_num(self.window_minutes)} min ({_num(rate)}/min)"
        (top, top_count), = kinds.most_common(1)
        most_common = f"most common: '{top}' ×{top_count}"

        if baseline is None or baseline == 0:
            kind, ratio = "new_error", None
            history = ("and no earlier logs to compare with" if baseline is None
                       else f"after none in the previous {_span(observed)}")
            description = f"{head} {history}; {most_common}"
        elif rate >= self.spike_ratio * baseline:
            kind, ratio = "error_spike", rate / baseline
            description = (f"{head} against its baseline of {_num(baseline)}/min "
                           f"({_num(ratio)}×); {most_common}")
        else:
            new = Counter({k: n for k, n in kinds.items() if k not in before})
            if sum(new.values()) < self.min_errors:
                return None
            kind, ratio = "new_error", None
            (top, top_count), = new.most_common(1)
            # the issue is the new kind: its count and rate, the service's total beside them
            count, total_rate = sum(new.values()), rate
            rate = count / self.window_minutes
            description = (f"{name}: a new error, '{top}' ×{top_count} in the last "
                           f"{_num(self.window_minutes)} min, never seen in the previous "
                           f"{_span(observed)} (all errors: {_num(total_rate)}/min against its "
                           f"baseline of {_num(baseline)}/min)")
        sample = samples[top][1]
        return Issue(kind, name, self._severity(count, rate, ratio, severe), description,
                     self._action(name, sample, top, min(t for t, _, m in window if signature(m) == top)),
                     round(rate, 4), None if baseline is None else round(baseline, 4),
                     self.window_minutes, count, sample)

    def _severity(self, count: int, rate: float, ratio: float | None, severe: bool) -> str:
        m, s = self.min_errors, self.spike_ratio
        if rate >= self.critical_rate or (ratio is not None and ratio >= 10 * s and count >= 5 * m):
            level = "critical"
        elif count >= 5 * m or (ratio is not None and ratio >= 2 * s and count >= 2 * m):
            level = "high"
        elif count >= 2 * m:
            level = "medium"
        else:
            level = "low"
        if severe and SEVERITIES.index(level) < SEVERITIES.index("high"):
            level = "high"
        return level

    @staticmethod
    def _action(service: str, message: str, kind: str, first: datetime) -> str:
        for pattern, action in MESSAGE_ACTIONS:
            if pattern.search(message):
                named = upstream_of(message)
                return action.format(service=service,
                                     upstream=f"'{named}'" if named else "service")
        for pattern, action in SERVICE_ACTIONS:
            if pattern.search(service):
                return action.format(service=service)
        return GENERIC_ACTION.format(service=service, first=first.isoformat(), signature=kind)
