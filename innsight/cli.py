"""`innsight` command line: generate, build, evaluate, serve, token, api-key.

The settings are read once, here (``Settings()``: INNSIGHT_* variables and innsight.env),
and handed to each command; below the command line only narrow objects are built from them.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from pydantic import ValidationError

from base.settings import REPO_ROOT, Settings
from innsight.progress import Console, Timer, count, duration, output_to_log


# -- generate / seed -------------------------------------------------------------------------

LANDING_FOLDERS = ("pms", "attendance", "camera")


def _chain_files(out: Path) -> dict[Path, int]:
    """The published chain files under out (the generator renames them into place when a
    kind is complete) and their sizes."""
    files = {}
    for folder in LANDING_FOLDERS:
        for path in (out / folder).glob("*_chain*"):
            try:
                files[path] = path.stat().st_size
            except FileNotFoundError:
                pass
    return files


def _phase(out: Path) -> str:
    published = {p.name.split("_chain")[0] for p in _chain_files(out)}
    if "rooms" not in published:
        return "calibrating on the real extract, rooms"
    if "guests" not in published:
        return "drawing bookings and guests"
    if "bookings" not in published:
        return "writing bookings and folio lines"
    return "staff, shifts, attendance and camera events"


def generate_with_progress(console: Console, out: Path, bookings: int, seed: int,
                           settings: Settings) -> dict[str, int]:
    """generate_chain with a line per landing file as it is published and a live line of
    the phase and elapsed time; returns the rows written per file kind. The chain ends on
    settings.synthetic_end (None: today), with bookings on the books after it."""
    from lake.synthetic import generate_chain

    out = Path(out)
    timer = Timer()
    before = {p: os.stat(p).st_mtime_ns for p in _chain_files(out)}
    reported: set[Path] = set()
    done = threading.Event()

    def report_new() -> None:
        for path, size in sorted(_chain_files(out).items()):
            if path in reported or before.get(path) == _mtime(path):
                continue
            reported.add(path)
            console.line(f"  {str(path.relative_to(out)):<34} {size / 1e6:>9.1f} MB {timer.seconds:>8.1f} s")

    def watch() -> None:
        while not done.wait(0.5):
            report_new()

    console.status(lambda: f"  generating {count(bookings)} bookings (seed {seed}): "
                           f"{_phase(out)} … {timer}")
    watcher = threading.Thread(target=watch, daemon=True, name="innsight-generate-watch")
    watcher.start()
    try:
        counts = generate_chain(out, bookings=bookings, seed=seed, end=settings.synthetic_end,
                                properties_file=settings.properties_file,
                                extract=settings.bundled_extract)
    finally:
        done.set()
        watcher.join()
        console.status(None)
    report_new()
    return counts


def _end_day(settings: Settings) -> str:
    return settings.synthetic_end.isoformat() if settings.synthetic_end else "today"


def _mtime(path: Path) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return None


def cmd_generate(args: argparse.Namespace, settings: Settings) -> None:
    out = Path(args.out) if args.out else settings.landing_dir
    console = Console()
    console.line(f"generating a synthetic chain of {count(args.bookings)} bookings "
                 f"(seed {args.seed}, ending {_end_day(settings)}) into {out}")
    timer = Timer()
    counts = generate_with_progress(console, out, args.bookings, args.seed, settings)
    seconds = timer.seconds
    for kind, n in counts.items():
        console.line(f"{kind:>24}: {n:,}")
    console.line(f"written to {out} in {duration(seconds)} "
                 f"({count(args.bookings / max(seconds, 1e-9))} bookings/s)")


def seed_landing(settings: Settings, console: Console) -> None:
    """Put the bundled real extract and a synthetic chain in landing/ (once)."""
    s = settings
    pms = s.landing_dir / "pms"
    pms.mkdir(parents=True, exist_ok=True)
    extract = pms / s.bundled_extract.name
    if extract.exists():
        console.line(f"seed     real extract already in landing: {_show(extract)}")
    else:
        shutil.copyfile(s.bundled_extract, extract)
        console.line(f"seed     real extract copied to {_show(extract)}")
    if any(pms.glob("bookings_chain*")):
        console.line("seed     synthetic chain already in landing, ending the day it was made "
                     "(`make clean`, then `make up`, for a chain ending today)")
        return
    timer = Timer()
    console.line(f"seed     synthetic chain: {count(s.synthetic_bookings)} bookings, seed {s.synthetic_seed}, "
                 f"ending {_end_day(s)}")
    counts = generate_with_progress(console, s.landing_dir, s.synthetic_bookings,
                                    s.synthetic_seed, s)
    console.line(f"seed     {len(counts)} kinds of file, {count(sum(counts.values()))} rows "
                 f"({count(counts.get('bookings', 0))} bookings) in {timer}")


# -- build -----------------------------------------------------------------------------------

def _show(path: Path | str) -> str:
    """A path as short as it can be said from here."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _fail(console: Console, what: str, timer: Timer, error: Exception, log_path: Path) -> NoReturn:
    """The traceback goes to the log; the person gets one line and where to read more."""
    traceback.print_exc()
    console.line(f"{what} FAILED after {timer}: {type(error).__name__}: "
                 f"{(str(error).strip().splitlines() or [''])[0]}")
    console.line(f"the traceback is in {_show(log_path)}")
    raise SystemExit(1)


def _log_path(settings: Settings, name: str) -> Path:
    return settings.home / "logs" / f"{name}-{datetime.now():%Y%m%d-%H%M%S}.log"


def pointers(settings: Settings, run_id: str | None = None) -> list[str]:
    """What to open once the platform is built and served."""
    bin_dir = _show(Path(sys.executable).parent)
    marts = _show(settings.marts_path)
    dagster = settings.dagster_url + (f"/runs/{run_id}" if run_id else "")
    return [
        f"  Dagster UI   {dagster}",
        f"  API docs     http://{settings.api_host}:{settings.api_port}/docs",
        f"  MLflow UI    {mlflow_runs(settings)}",
        f"  marts file   {marts}   ({bin_dir}/duckdb -readonly {marts})",
        f"  API token    {bin_dir}/innsight token --role revenue_manager",
        *([f"  mail         http://127.0.0.1:{settings.mail_catcher_port}   (the workflows' "
           f"emails, kept in {_show(settings.mail_dir)})"] if settings.mail_catcher else []),
    ]


def mlflow_runs(settings: Settings) -> str:
    """The MLflow UI's page of the training runs (not its GenAI overview)."""
    from ml.registry import ModelRegistry

    return ModelRegistry.from_settings(settings).ui_url()


def cmd_build(args: argparse.Namespace, settings: Settings) -> None:
    """Build the platform from landing/: every asset of the job, as a Dagster run recorded
    in the instance (and the UI); a line per step here, the full log in a file."""
    log_path = _log_path(settings, "build")
    timer = Timer()
    with output_to_log(log_path) as console:
        console.line(f"innsight build: job {args.job}; full log: {_show(log_path)}")
        try:
            result, progress = _build(args, settings, console)
        except Exception as e:
            _fail(console, "build", timer, e, log_path)
        s = progress.summary
        checks = f"{s.checks} checks" + (f", {len(s.checks_failed)} not passing: "
                                         + ", ".join(s.checks_failed) if s.checks_failed else " passed")
        not_run = f" ({progress.not_run} not run: upstream failed)" if progress.not_run else ""
        console.line(f"build {'succeeded' if result.success else 'FAILED'} in {timer}: "
                     f"{s.steps_done} steps{not_run}, {s.assets} assets materialised, {checks}")
        for error in s.errors:
            console.line(f"  {error}")
        console.line(f"Dagster run {result.run_id} (in the instance at {_show(settings.dagster_home)}); "
                     f"full log: {_show(log_path)}")
        if result.success:
            console.line("Open (`innsight serve` starts the Dagster and MLflow UIs and the API):")
            for line in pointers(settings, result.run_id):
                console.line(line)
    if not result.success:
        raise SystemExit(1)


# The code location `innsight serve` starts; `innsight build` records its runs as its runs.
WORKSPACE = REPO_ROOT / "workspace.yaml"
BUILD_TAGS = {"innsight/trigger": "innsight build"}


def _build(args: argparse.Namespace, settings: Settings, console: Console):
    from orchestration.instance import prepare_dagster_home
    from orchestration.warehouse.resources import prepare_manifest

    prepare_dagster_home(settings)
    if not args.no_seed:
        seed_landing(settings, console)
    timer = Timer()
    console.status(lambda: f"dbt      parsing the project if it changed … {timer}")
    prepare_manifest(settings)
    console.status(lambda: f"dagster  loading the definitions … {timer}")
    from dagster import DagsterInstance
    from dagster._core.utils import make_new_run_id

    from innsight.run_progress import RunProgress
    from orchestration.definitions import build_definitions
    from orchestration.instance import execute_as_code_location_run

    defs = build_definitions(settings)
    job = defs.resolve_job_def(args.job)
    steps = len(job.graph.nodes)
    console.status(None)
    console.line(f"dagster  definitions loaded in {timer}; job {args.job}: {steps} steps")
    with DagsterInstance.get() as instance:
        run_id = make_new_run_id()
        progress = RunProgress(console, steps)
        instance.add_event_listener(run_id, progress)
        # A run of the code location (so it is on the UI's Overview timeline), tagged with
        # what started it.
        result = execute_as_code_location_run(job, instance, run_id, BUILD_TAGS, WORKSPACE)
        if result.success and args.job == "build_all":
            _render_latest_flash(defs, instance, console)
    return result, progress


def _render_latest_flash(defs, instance, console: Console) -> None:
    """The daily flash of the newest complete day, so the UI and the API have a report to
    show after the first build (a partition run of the reports_daily job)."""
    from dagster._core.utils import make_new_run_id

    from orchestration.instance import execute_as_code_location_run

    job = defs.resolve_job_def("reports_daily")
    day = job.partitions_def.get_last_partition_key()
    timer = Timer()
    console.status(lambda: f"reports  the daily flash of {day} … {timer}")
    result = execute_as_code_location_run(job, instance, make_new_run_id(),
                                          {**BUILD_TAGS, "dagster/partition": day}, WORKSPACE)
    console.status(None)
    console.line(f"reports  daily flash of {day} {'rendered' if result.success else 'FAILED'} "
                 f"in {timer} (asset reports/daily, partition {day})")


# -- evaluate --------------------------------------------------------------------------------

def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> None:
    """Train every model on the marts, log and promote in MLflow, print metrics vs baselines."""
    from ml.catalog import MODELS

    marts_path = settings.marts_path
    if not marts_path.exists():
        raise SystemExit(f"no marts file at {marts_path}: run `make up` (or `innsight build`) first")
    selected = args.models or list(MODELS)
    unknown = sorted(set(selected) - set(MODELS))
    if unknown:
        raise SystemExit(f"unknown model(s) {unknown}; choose from {sorted(MODELS)}")
    from ml.timeline import Timeline

    try:
        timeline = Timeline.of(args.as_of or settings.as_of,
                               args.evaluation_months or settings.evaluation_months,
                               settings.min_history_days)
    except ValueError as e:
        raise SystemExit(f"--as-of / --evaluation-months: {e}") from None
    log_path = _log_path(settings, "evaluate")
    rows, properties, failed = [], [], []
    total = Timer()
    with output_to_log(log_path) as console:
        import duckdb

        from ml.registry import ModelRegistry

        registry = ModelRegistry.from_settings(settings)
        console.line(f"training {len(selected)} model(s) on {_show(marts_path)} as of {timeline.as_of} "
                     f"(each property held out on its last {timeline.evaluation_months} month(s)); "
                     f"MLflow: {settings.mlflow_uri}; full log: {_show(log_path)}")
        with duckdb.connect(str(marts_path), read_only=True) as marts:
            for i, name in enumerate(selected, start=1):
                timer = Timer()
                console.status(lambda: f"[{i}/{len(selected)}] {name}: training … {timer}")
                try:
                    trained = registry.train_and_register(MODELS[name], marts, timeline)
                except Exception as e:  # the others still train (e.g. no guest ids on that day)
                    traceback.print_exc()
                    reason = (str(e).strip().splitlines() or [""])[0]
                    console.line(f"[{i}/{len(selected)}] {name}: FAILED after {timer}: "
                                 f"{type(e).__name__}: {reason}")
                    failed.append(f"{name} ({reason})")
                    continue
                seconds = timer.seconds
                for c, registration in trained:
                    properties += _property_rows(c)
                    console.line(f"[{i}/{len(selected)}] {c.name}: {c.primary} "
                                 f"{_fmt(c.metrics.get(c.primary))} (baseline "
                                 f"{_fmt(c.baseline.get(c.primary))}), v{registration.version} "
                                 f"{'champion' if registration.promoted else 'not promoted'}, "
                                 f"{duration(seconds)}")
                    for j, metric in enumerate(dict.fromkeys([c.primary, *c.metrics, *c.baseline])):
                        first = j == 0
                        rows.append((c.name if first else "",
                                     metric + (" *" if metric == c.primary else ""),
                                     c.metrics.get(metric), c.baseline.get(metric),
                                     (f"v{registration.version} " + ("champion" if registration.promoted
                                                                    else "not promoted")) if first else "",
                                     f"{seconds:.1f}" if first else ""))
        console.status(None)
    print()
    _print_table(("model", "metric (* decides promotion)", "model", "baseline", "registry", "train s"), rows)
    if properties:
        print("\nper property (held out on its own last months; the group row pools them):")
        _print_table(("model", "property", "rows", "metric", "model", "baseline", "note"), properties)
    print(f"\n{len(selected)} model(s) in {total}; runs and plots: {registry.ui_url()} "
          f"(`innsight serve` starts the MLflow UI)")
    if failed:
        raise SystemExit(f"not trained: {'; '.join(failed)}; tracebacks in {_show(log_path)}")


def _property_rows(c) -> list[tuple]:
    """One line per property of a candidate's evaluation: its deciding metric vs baseline, or
    why it was not evaluated on its own."""
    import pandas as pd

    if c.by_property is None:
        return []
    out = []
    for r in c.by_property.to_dict("records"):
        evaluated = bool(r.get("evaluated"))
        note = f"not evaluated: {r.get('reason')}"
        if evaluated:  # the calibration error, where the model reports one
            ece, base = r.get("ece"), r.get("baseline_ece")
            note = ("" if ece is None or pd.isna(ece)
                    else f"ece {float(ece):.3f} (baseline {float(base if base is not None else 'nan'):.3f})")
        out.append((c.name, r["hotel"], r.get("rows"), c.primary if evaluated else "",
                    r.get(c.primary) if evaluated else None,
                    r.get(f"baseline_{c.primary}") if evaluated else None, note))
    return out


def _print_table(header: tuple, rows: list[tuple]) -> None:
    widths = [max(len(_fmt(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(_fmt(v).ljust(w) for v, w in zip(r, widths)).rstrip())


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


# -- serve -----------------------------------------------------------------------------------

def _wait_for(url: str, timeout: float, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{Path(proc.args[0]).name} exited with {proc.returncode} before "
                             f"{url} answered; its log: {_show(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as e:  # up, but not healthy yet: keep what it says
            last = f"{e.code}: {e.read().decode(errors='replace')[:2000]}"
            time.sleep(1)
        except OSError:
            time.sleep(1)
    raise SystemExit(f"{url} was not healthy within {timeout:.0f} s (last answer {last}); "
                     f"its log: {_show(log)}")


def _ensure_port_free(host: str, port: int, setting: str) -> None:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            raise SystemExit(f"port {port} on {host} is already in use (an earlier server still "
                             f"running?): stop it, or choose another port with {setting}=...")


def api_environment(settings: Settings) -> dict[str, str]:
    """What the API's processes need in their environment beyond ours: several workers
    share their metrics (a scrape reaches one of them and must count them all)."""
    from serving.core.observability import shared_metrics_env

    if settings.serving_workers > 1:
        return shared_metrics_env(settings.home / "serving" / "metrics")
    return {}


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    """Start the Dagster UI, the API and the MLflow UI; --check starts them, checks each
    answers, stops them."""
    from orchestration.instance import prepare_dagster_home
    from orchestration.warehouse.resources import prepare_manifest

    s = settings
    _ensure_port_free(s.api_host, s.dagster_port, "INNSIGHT_DAGSTER_PORT")
    _ensure_port_free(s.api_host, s.api_port, "INNSIGHT_API_PORT")
    _ensure_port_free(s.api_host, s.mlflow_port, "INNSIGHT_MLFLOW_PORT")
    if s.llm_provider == "local":
        _ensure_port_free(s.api_host, s.llm_port, "INNSIGHT_LLM_PORT")
    if s.mail_catcher:
        _ensure_port_free("127.0.0.1", 8025, "INNSIGHT_SMTP_URL")
        _ensure_port_free("127.0.0.1", s.mail_catcher_port, "INNSIGHT_MAIL_CATCHER_PORT")
    prepare_dagster_home(s)
    prepare_manifest(s)  # the code location loads the dbt models from it
    # A process manager's SIGTERM stops the servers too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    console = Console()
    timer = Timer()
    servers: dict[str, tuple[subprocess.Popen, str, str, Path]] = {}

    def start(name: str, command: list[str], base: str, check: str, log_name: str,
              extra_env: dict[str, str] | None = None) -> None:
        log = _log_path(s, log_name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            proc = subprocess.Popen(command, cwd=REPO_ROOT, env={**env, **(extra_env or {})},
                                    start_new_session=True,
                                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        servers[name] = (proc, base, check, log)

    try:
        start("Dagster UI", [str(bin_dir / "dagster"), "dev", "-w", str(WORKSPACE),
                             "-h", s.api_host, "-p", str(s.dagster_port)],
              s.dagster_url, "/server_info", "dagster")
        if s.llm_provider == "local":
            # the bundled SmolLM2 on llama.cpp, OpenAI-compatible; stopped with the rest
            start("Local LLM", [sys.executable, "-m", "language.llm", "--host", s.api_host,
                                "--port", str(s.llm_port)],
                  f"http://{s.api_host}:{s.llm_port}", "/health", "llm")
        if s.mail_catcher:
            # the workflows' emails, kept under var/mail (INNSIGHT_SMTP_URL for a real relay)
            start("Mail catcher", [sys.executable, "-m", "operations.mail_catcher",
                                   "--smtp-port", "8025", "--http-port", str(s.mail_catcher_port),
                                   "--dir", str(s.mail_dir)],
                  f"http://127.0.0.1:{s.mail_catcher_port}", "/health", "mail")
        # 200 once every champion and the feature store are loaded
        start("API", [str(bin_dir / "uvicorn"), "--factory", "serving.app:create_app",
                      "--host", s.api_host, "--port", str(s.api_port),
                      "--workers", str(s.serving_workers)],
              f"http://{s.api_host}:{s.api_port}", "/api/v1/ml/health", "api",
              api_environment(s))
        # one worker: the UI of one team's runs, not a tracking server under load
        start("MLflow UI", [str(bin_dir / "mlflow"), "ui", "--backend-store-uri", s.mlflow_uri,
                            "-h", s.api_host, "-p", str(s.mlflow_port), "-w", "1"],
              s.mlflow_url, "/health", "mlflow")
        for name, (proc, base, check, log) in servers.items():
            console.status(lambda: f"starting the servers ({', '.join(servers)}) … {timer}")
            _wait_for(base + check, timeout=180, proc=proc, log=log)
            console.line(f"{name} is up in {timer}: {base}  (log: {_show(log)})")
        console.status(None)
        if args.check:
            console.line(f"serve --check: all {len(servers)} servers answered; stopping them")
            return
        console.line("Open:")
        for line in pointers(s):
            console.line(line)
        console.line("Ctrl-C stops them.")
        while all(proc.poll() is None for proc, *_ in servers.values()):
            time.sleep(1)
        for name, (proc, _, _, log) in servers.items():
            if proc.poll() is not None:
                console.line(f"{name} exited with {proc.returncode}; its log: {_show(log)}")
    except KeyboardInterrupt:
        pass
    finally:
        console.close()
        for proc, *_ in servers.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, *_ in servers.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


# -- token / api-key -------------------------------------------------------------------------

def cmd_token(args: argparse.Namespace, settings: Settings) -> None:
    """Print a signed API token (for local use, scripts and tests)."""
    from datetime import timedelta

    from serving.core.auth import issue_token

    minutes = args.minutes if args.minutes is not None else settings.token_ttl_minutes
    try:
        print(issue_token(args.subject, args.role, settings=settings,
                          ttl=timedelta(minutes=minutes), rate_limit=args.rate_limit))
    except ValueError as e:
        raise SystemExit(str(e))


def cmd_api_key(args: argparse.Namespace, settings: Settings) -> None:
    """Print a new service API key and the settings entry that enables it."""
    import json

    from serving.core.auth import new_api_key

    try:
        key, entry = new_api_key(args.name, args.role)
    except ValueError as e:
        raise SystemExit(str(e))
    if args.rate_limit:
        entry["rate_limit"] = args.rate_limit
    print(f"key (shown once; give it to {args.name}): {key}")
    print("add to INNSIGHT_API_KEYS (a JSON list) in the environment or innsight.env:")
    print(json.dumps(entry))


# -- main ------------------------------------------------------------------------------------

def settings_problem(error: ValidationError) -> str:
    """One paragraph naming what to set, for a person (no traceback)."""
    problems = []
    for e in error.errors():
        message = str(e.get("msg", "")).removeprefix("Value error, ")
        field = ".".join(str(p) for p in e.get("loc", ()) if p != "__root__")
        problems.append(f"INNSIGHT_{field.upper()}: {message}" if field else message)
    return ("innsight: the settings are not valid: " + "; ".join(problems)
            + ". Settings come from INNSIGHT_* environment variables or an innsight.env file "
              "in the working directory; set the ones named and run the command again.")


def parser() -> argparse.ArgumentParser:
    from serving.core.auth import ROLES

    p = argparse.ArgumentParser(prog="innsight", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write a synthetic hotel chain as landing files")
    gen.add_argument("--bookings", type=int, default=20_000)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--out", help="folder (default: the landing folder, INNSIGHT_HOME/landing)")
    gen.set_defaults(func=cmd_generate)

    build = sub.add_parser("build", help="build the platform from landing/ (seeds it first)")
    build.add_argument("--no-seed", action="store_true",
                       help="do not copy the bundled extract and synthetic chain to landing/")
    build.add_argument("--job", default="build_all", choices=["build_all", "build_lakehouse"],
                       help="build_lakehouse stops at the marts file; build_all also trains "
                            "the models and prices (default)")
    build.set_defaults(func=cmd_build)

    evaluate = sub.add_parser("evaluate", help="train every model, print metrics vs baselines")
    evaluate.add_argument("models", nargs="*", help="model names (default: all)")
    evaluate.add_argument("--as-of", metavar="YYYY-MM-DD",
                          help="train as the platform would have on that day: nothing dated after "
                               "it is read (default: INNSIGHT_AS_OF, else yesterday)")
    evaluate.add_argument("--evaluation-months", type=int, metavar="N",
                          help="months of each property's held-out period (default: "
                               "INNSIGHT_EVALUATION_MONTHS)")
    evaluate.set_defaults(func=cmd_evaluate)

    serve = sub.add_parser("serve", help="start the Dagster UI, the API, the MLflow UI and the local LLM")
    serve.add_argument("--check", action="store_true", help="start, check each answers, stop")
    serve.set_defaults(func=cmd_serve)

    token = sub.add_parser("token", help="issue an API token (JWT) for local use")
    token.add_argument("--subject", default=os.environ.get("USER", "local"),
                       help="who the token is for (default: $USER)")
    token.add_argument("--role", action="append", required=True, choices=sorted(ROLES),
                       help="repeatable; the token gets the permissions of its roles")
    token.add_argument("--minutes", type=int, help="lifetime (default: INNSIGHT_TOKEN_TTL_MINUTES)")
    token.add_argument("--rate-limit", help='own rate limit, e.g. "100000/minute" (load tests)')
    token.set_defaults(func=cmd_token)

    key = sub.add_parser("api-key", help="make a service API key")
    key.add_argument("--name", required=True, help="the service, e.g. pms-sync")
    key.add_argument("--role", action="append", required=True, choices=sorted(ROLES))
    key.add_argument("--rate-limit", help='own rate limit, e.g. "6000/minute"')
    key.set_defaults(func=cmd_api_key)
    return p


def end_process(code: int | str | None) -> NoReturn:
    """Exit after the exit handlers, without the interpreter's module teardown.

    In a process that has built the Dagster definitions, Python's teardown leaves duckdb's
    module-level objects (its 27 type constants, its connection type) unfreed, and duckdb's
    bindings (nanobind) then print a screen of `nanobind: leaked ...` lines at every exit.
    duckdb does not export nanobind's own switch (`set_leak_warnings`), so the command ends
    the process itself: the atexit handlers run, logging and the streams are flushed,
    every file was closed by its `with` block; only the teardown is skipped.
    """
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


# Set in this process before anything loads the libraries they tune, and in every process
# it starts (Dagster, the API); a value already in the environment wins.
PROCESS_ENV = {
    # MLflow imports litellm, which fetches a model-cost map from the internet at import
    # and retries forever without one (`mlflow ui` never answers offline): its bundled copy.
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    # polars and delta-rs each bundle jemalloc, set to hand freed pages back after 0.5 s.
    # An ingest frees and takes again tens of MB per batch, so those pages went back and
    # were faulted in again: 3-6 s of system time in a 10M-row load. Five seconds keeps
    # them for the next batches (18.5 s instead of 20-21 s; peak +40 MB).
    "_RJEM_MALLOC_CONF": "dirty_decay_ms:5000,muzzy_decay_ms:0",
}


def main(argv: list[str] | None = None) -> None:
    for name, value in PROCESS_ENV.items():
        os.environ.setdefault(name, value)
    args = parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as e:
        raise SystemExit(settings_problem(e)) from None
    try:
        args.func(args, settings)
        code: int | str | None = 0
    except SystemExit as e:
        code = e.code
    if "_duckdb" in sys.modules and argv is None:  # the `innsight` process itself
        end_process(code)
    if code:
        raise SystemExit(code)


if __name__ == "__main__":
    main()
