"""`innsight` command line: generate, seed, build, evaluate, serve."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from base.settings import REPO_ROOT, get_settings


def cmd_generate(args: argparse.Namespace) -> None:
    from lake.synthetic import generate_chain

    started = time.perf_counter()
    counts = generate_chain(Path(args.out), bookings=args.bookings, seed=args.seed)
    for kind, n in counts.items():
        print(f"{kind:>24}: {n:,}")
    print(f"written to {args.out} in {time.perf_counter() - started:.1f} s")


def seed_landing() -> None:
    """Put the bundled real extract and a synthetic chain in landing/ (once)."""
    s = get_settings()
    pms = s.landing_dir / "pms"
    pms.mkdir(parents=True, exist_ok=True)
    extract = pms / s.bundled_extract.name
    if not extract.exists():
        shutil.copyfile(s.bundled_extract, extract)
        print(f"landing: copied the real extract to {extract}")
    if not any(pms.glob("bookings_chain*")):
        from lake.synthetic import generate_chain

        counts = generate_chain(s.landing_dir, bookings=s.synthetic_bookings, seed=s.synthetic_seed)
        print(f"landing: synthetic chain written ({counts.get('bookings', 0):,} bookings)")


def cmd_build(args: argparse.Namespace) -> None:
    """Build the platform from landing/: every asset of the graph, recorded in the instance."""
    from orchestration.instance import prepare_dagster_home

    prepare_dagster_home()
    if not args.no_seed:
        seed_landing()
    from dagster import DagsterInstance

    from orchestration.definitions import defs
    from orchestration.warehouse.resources import prepare_manifest

    prepare_manifest()
    started = time.perf_counter()
    with DagsterInstance.get() as instance:
        result = defs.resolve_job_def(args.job).execute_in_process(instance=instance)
    elapsed = time.perf_counter() - started
    failed_checks = [
        e.asset_check_evaluation_data.asset_check_key.to_user_string()
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and not e.asset_check_evaluation_data.passed
    ]
    print(f"build {'succeeded' if result.success else 'FAILED'} in {elapsed:.1f} s "
          f"(run {result.run_id}); marts: {get_settings().marts_path}")
    if failed_checks:
        print("checks not passing: " + ", ".join(failed_checks))
    if not result.success:
        sys.exit(1)


def cmd_evaluate(args: argparse.Namespace) -> None:
    """Train every model on the marts, log and promote in MLflow, print metrics vs baselines."""
    import logging
    import warnings

    import duckdb

    # The table is the output: MLflow's per-run chatter goes to its UI, not this terminal.
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="mlflow")

    from ml.catalog import MODELS, candidates
    from ml.registry import log_and_promote

    marts_path = get_settings().marts_path
    if not marts_path.exists():
        raise SystemExit(f"no marts file at {marts_path}: run `make up` (or `innsight build`) first")
    selected = args.models or list(MODELS)
    unknown = sorted(set(selected) - set(MODELS))
    if unknown:
        raise SystemExit(f"unknown model(s) {unknown}; choose from {sorted(MODELS)}")
    rows = []
    with duckdb.connect(str(marts_path), read_only=True) as marts:
        for name in selected:
            started = time.perf_counter()
            trained = candidates(MODELS[name].train(marts))
            seconds = time.perf_counter() - started
            for c in trained:
                registration = log_and_promote(c)
                for i, metric in enumerate(dict.fromkeys([c.primary, *c.metrics, *c.baseline])):
                    rows.append((c.name if i == 0 else "", metric + (" *" if metric == c.primary else ""),
                                 c.metrics.get(metric), c.baseline.get(metric),
                                 (f"v{registration.version} " + ("champion" if registration.promoted
                                                                else "not promoted")) if i == 0 else "",
                                 f"{seconds:.1f}" if i == 0 else ""))
    header = ("model", "metric (* decides promotion)", "model", "baseline", "registry", "train s")
    widths = [max(len(_fmt(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(_fmt(v).ljust(w) for v, w in zip(r, widths)))


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _wait_for(url: str, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args[0]} exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as e:  # up, but not healthy yet: keep what it says
            last = f"{e.code}: {e.read().decode(errors='replace')[:2000]}"
            time.sleep(1)
        except OSError:
            time.sleep(1)
    raise SystemExit(f"{url} was not healthy within {timeout:.0f} s (last answer {last})")


def _ensure_port_free(host: str, port: int, setting: str) -> None:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            raise SystemExit(f"port {port} on {host} is already in use (an earlier server still "
                             f"running?): stop it, or choose another port with {setting}=...")


def cmd_serve(args: argparse.Namespace) -> None:
    """Start the Dagster UI and the API; --check starts them, checks both answer, stops them."""
    from orchestration.instance import prepare_dagster_home

    s = get_settings()
    _ensure_port_free(s.api_host, s.dagster_port, "INNSIGHT_DAGSTER_PORT")
    _ensure_port_free(s.api_host, s.api_port, "INNSIGHT_API_PORT")
    prepare_dagster_home()
    # A process manager's SIGTERM stops the servers too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    servers = {
        "Dagster UI": (subprocess.Popen(
            [str(bin_dir / "dagster"), "dev", "-w", str(REPO_ROOT / "workspace.yaml"),
             "-h", s.api_host, "-p", str(s.dagster_port)],
            cwd=REPO_ROOT, env=env, start_new_session=True),
            f"http://{s.api_host}:{s.dagster_port}", "/server_info"),
        "API": (subprocess.Popen(
            [str(bin_dir / "uvicorn"), "serving.app:app", "--host", s.api_host,
             "--port", str(s.api_port)], cwd=REPO_ROOT, env=env, start_new_session=True),
            # 200 once every champion and the feature store are loaded (OpenAPI: /docs)
            f"http://{s.api_host}:{s.api_port}", "/api/v1/ml/health"),
    }
    try:
        for name, (proc, base, check) in servers.items():
            _wait_for(base + check, timeout=180, proc=proc)
            print(f"{name} is up: {base}")
        if args.check:
            print("serve --check: both servers answered; stopping them")
            return
        print("Ctrl-C stops both.")
        while all(proc.poll() is None for proc, *_ in servers.values()):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for proc, *_ in servers.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, *_ in servers.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def cmd_token(args: argparse.Namespace) -> None:
    """Print a signed API token (for local use, scripts and tests)."""
    from datetime import timedelta

    from serving.auth import issue_token

    try:
        print(issue_token(args.subject, args.role, ttl=timedelta(minutes=args.minutes),
                          rate_limit=args.rate_limit))
    except ValueError as e:
        raise SystemExit(str(e))


def cmd_api_key(args: argparse.Namespace) -> None:
    """Print a new service API key and the settings entry that enables it."""
    import json

    from serving.auth import new_api_key

    try:
        key, entry = new_api_key(args.name, args.role)
    except ValueError as e:
        raise SystemExit(str(e))
    if args.rate_limit:
        entry["rate_limit"] = args.rate_limit
    print(f"key (shown once; give it to {args.name}): {key}")
    print("add to INNSIGHT_API_KEYS (a JSON list) in the environment or innsight.env:")
    print(json.dumps(entry))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="innsight", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write a synthetic hotel chain as landing files")
    gen.add_argument("--bookings", type=int, default=20_000)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--out", default=str(get_settings().landing_dir))
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
    evaluate.set_defaults(func=cmd_evaluate)

    serve = sub.add_parser("serve", help="start the Dagster UI and the API")
    serve.add_argument("--check", action="store_true", help="start, check both answer, stop")
    serve.set_defaults(func=cmd_serve)

    from serving.auth import ROLES

    token = sub.add_parser("token", help="issue an API token (JWT) for local use")
    token.add_argument("--subject", default=os.environ.get("USER", "local"),
                       help="who the token is for (default: $USER)")
    token.add_argument("--role", action="append", required=True, choices=sorted(ROLES),
                       help="repeatable; the token gets the permissions of its roles")
    token.add_argument("--minutes", type=int, default=get_settings().token_ttl_minutes,
                       help="lifetime (default: INNSIGHT_TOKEN_TTL_MINUTES)")
    token.add_argument("--rate-limit", help='own rate limit, e.g. "100000/minute" (load tests)')
    token.set_defaults(func=cmd_token)

    key = sub.add_parser("api-key", help="make a service API key")
    key.add_argument("--name", required=True, help="the service, e.g. pms-sync")
    key.add_argument("--role", action="append", required=True, choices=sorted(ROLES))
    key.add_argument("--rate-limit", help='own rate limit, e.g. "6000/minute"')
    key.set_defaults(func=cmd_api_key)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
