"""A Dagster run as a person follows it: listens to the instance's events of one run (as
they are stored, so the run is recorded in the instance and the UI as always) and writes
one line per materialised asset and failed check, and a live line for the step running."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from dagster import DagsterEventType, EventLogEntry

from innsight.progress import Console, count, duration
from orchestration.models.metadata import PROMOTED


@dataclass
class RunSummary:
    steps_done: int = 0
    steps_failed: list[str] = field(default_factory=list)
    steps_skipped: list[str] = field(default_factory=list)
    assets: int = 0
    checks: int = 0
    checks_failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class RunProgress:
    """``instance.add_event_listener(run_id, RunProgress(console, steps))``."""

    def __init__(self, console: Console, total_steps: int):
        self.console, self.total = console, total_steps
        self.summary = RunSummary()
        self._running: dict[str, float] = {}  # step key -> start (perf_counter)
        self._assets_in_step: dict[str, int] = {}
        self._last_asset_at: dict[str, float] = {}
        # A step's first asset line waits: a step of one asset is said in one line.
        self._held: dict[str, tuple[str, float]] = {}

    def __call__(self, entry: EventLogEntry) -> None:
        event = entry.dagster_event
        if event is None:  # a step's own log message: in the log file and the UI
            return
        kind, step = event.event_type, event.step_key or ""
        now = time.perf_counter()
        s = self.summary
        if kind == DagsterEventType.STEP_START:
            self._running[step] = self._last_asset_at[step] = now
            self._assets_in_step[step] = 0
        elif kind == DagsterEventType.ASSET_MATERIALIZATION:
            s.assets += 1
            self._assets_in_step[step] = self._assets_in_step.get(step, 0) + 1
            materialization = event.step_materialization_data.materialization
            # dbt runs models in threads: its own duration of each model, else the time
            # since the step's previous asset
            took = _value(materialization.metadata.get("Execution Duration"))
            if not isinstance(took, float):
                took = now - self._last_asset_at.get(step, now)
            self._last_asset_at[step] = now
            text = (f"{materialization.asset_key.to_user_string():<42} "
                    f"{describe(materialization.metadata):<42}")
            if self._assets_in_step[step] == 1:
                self._held[step] = (text, took)
            else:
                if step in self._held:
                    self._say_held(step)
                self.console.line(f"        {text} {duration(took):>9}")
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            s.checks += 1
            check = event.asset_check_evaluation_data
            if not check.passed:
                name = check.asset_check_key.to_user_string()
                severity = getattr(check.severity, "value", str(check.severity))
                s.checks_failed.append(name)
                detail = check_detail(check.metadata)
                self.console.line(f"  ! check {name} did not pass ({severity.lower()})"
                                  + (f": {detail}" if detail else ""))
        elif kind == DagsterEventType.STEP_SUCCESS:
            s.steps_done += 1
            self._finish(step, "done", now)
        elif kind == DagsterEventType.STEP_FAILURE:
            s.steps_done += 1
            s.steps_failed.append(step)
            message = root_cause(event.step_failure_data.error)
            s.errors.append(f"{step}: {message}")
            self._finish(step, "FAILED", now)
            self.console.line(f"    {message}")
        elif kind == DagsterEventType.STEP_SKIPPED:
            s.steps_done += 1
            s.steps_skipped.append(step)
            self.console.line(f"[{s.steps_done:>2}/{self.total}] {step}: skipped (an upstream step failed)")
        elif kind == DagsterEventType.RUN_FAILURE:
            message = event.message or ""
            if message:
                s.errors.append(message.strip().splitlines()[0])
        self.console.status(self._status)

    def _finish(self, step: str, outcome: str, now: float) -> None:
        started = self._running.pop(step, now)
        assets = self._assets_in_step.pop(step, 0)
        self._last_asset_at.pop(step, None)
        head = f"[{self.summary.steps_done:>2}/{self.total}]"
        took = duration(now - started)
        if step in self._held and outcome == "done":  # one asset: one line
            self.console.line(f"{head} {self._held.pop(step)[0]} {took:>9}")
            return
        if step in self._held:
            self._say_held(step)
        what = f" ({assets} assets)" if assets > 1 else ""
        self.console.line(f"{head} {step} {outcome}{what} in {took}")

    @property
    def not_run(self) -> int:
        """Steps that never started (Dagster skips the steps below a failed one with a log
        message, not an event)."""
        return max(self.total - self.summary.steps_done - len(self._running), 0)

    def _say_held(self, step: str) -> None:
        text, took = self._held.pop(step)
        self.console.line(f"        {text} {duration(took):>9}")

    def _status(self) -> str:
        if not self._running:
            return ""
        step, started = next(iter(self._running.items()))
        assets = self._assets_in_step.get(step, 0)
        return (f"[{self.summary.steps_done + 1:>2}/{self.total}] {step}: running "
                f"{duration(time.perf_counter() - started)}"
                + (f", {assets} assets so far" if assets else "") + " …")


def root_cause(error) -> str:
    """The first line of the innermost error (Dagster wraps a step's own exception)."""
    if error is None:
        return "(no error recorded)"
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return (error.message.strip().splitlines() or ["(no message)"])[0]


def _value(metadata_value):
    return getattr(metadata_value, "value", metadata_value)


def describe(metadata: dict) -> str:
    """A materialisation's counts in a few words: rows, files, quarantined rows, tables,
    a model's registered version and its decisive metric next to the baseline."""
    values = {k: _value(v) for k, v in metadata.items()}
    parts = []
    if isinstance(values.get("dagster/row_count"), int):
        parts.append(f"{count(values['dagster/row_count'])} rows")
    files = values.get("files_ingested")
    if isinstance(files, int):
        parts.append("no new file" if files == 0 else f"{files} file{'s' if files != 1 else ''}")
    if values.get("rows_quarantined"):
        parts.append(f"{count(values['rows_quarantined'])} quarantined")
    if isinstance(values.get("tables"), dict):
        parts.append(f"{len(values['tables'])} tables")
    if isinstance(values.get("feature_views"), (dict, list)):
        parts.append(f"{len(values['feature_views'])} feature views")
    for key, version in values.items():  # models: "<name>/registered_version" when several
        if not key.endswith("registered_version"):
            continue
        prefix = key[: -len("registered_version")]
        promoted = PROMOTED in str(values.get(f"{prefix}promotion", ""))
        metric = next((k[len(prefix) + len("baseline_"):] for k in values
                       if k.startswith(f"{prefix}baseline_")), None)
        text = f"{prefix.rstrip('/') + ' ' if prefix else ''}v{version}"
        text += " champion" if promoted else " (champion kept)"
        if metric and isinstance(values.get(prefix + metric), float):
            text += (f", {metric} {values[prefix + metric]:.3f} vs "
                     f"{values[f'{prefix}baseline_{metric}']:.3f}")
        parts.append(text)
    return ", ".join(parts)


def check_detail(metadata: dict) -> str:
    values = {k: _value(v) for k, v in metadata.items()}
    picked = [f"{k} {v:,}" if isinstance(v, int) else f"{k} {v:.4g}" if isinstance(v, float)
              else f"{k} {v}" for k, v in values.items()
              if isinstance(v, (int, float, str)) and not isinstance(v, bool) and len(str(v)) < 60]
    return ", ".join(picked[:4])
