"""Where a model request's CPU goes: the app called in this process as ASGI (no HTTP server,
no load generator on the other core), thread CPU per request of the model routes against
the bare liveness route, and for each model route the share of its parts.

`bench/api_load.py` measures what a caller sees; this one says which part of the server's
work to cut. On the settings of the environment (INNSIGHT_PROFILE=production with its
secrets for the production profile) on the built platform (`innsight build` first):

    .venv/bin/python bench/request_cpu.py [--requests 500] [--rounds 6]

The routes take turns in rounds of ``--requests`` each (this shared machine's speed drifts
within seconds); each line prints the median and the best round. The parts are the public
methods a route calls, timed in place: the online read, the model's prediction and the
prediction log's record; "framework and the rest" is what is left (routing, dependencies,
validation, serialisation, middlewares, the access log). The API's log lines go to
``INNSIGHT_HOME/bench-request-cpu.log``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.api_load import BASELINE, reference_loop_seconds, workloads  # noqa: E402


def _scope(request: bytes) -> tuple[dict, bytes]:
    """The ASGI scope and body of one of `api_load`'s raw HTTP/1.1 requests."""
    head, _, body = request.partition(b"\r\n\r\n")
    first, *lines = head.decode("latin-1").split("\r\n")
    method, target, _ = first.split(" ")
    path, _, query = target.partition("?")
    headers = [(name.strip().lower().encode(), value.strip().encode())
               for name, _, value in (line.partition(":") for line in lines)]
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "", "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000),
            "headers": headers}, body


async def _call(app, request: bytes) -> int:
    scope, body = _scope(request)
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects

    status = 0

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


class _Timed:
    """Thread CPU spent in some methods of some objects, by label (the objects' own
    attributes shadow their methods while it lasts)."""

    def __init__(self):
        self.spent: Counter = Counter()

    def wrap(self, obj, method: str, label: str) -> None:
        inner = getattr(obj, method)

        def timed(*args, **kwargs):
            start = time.thread_time_ns()
            try:
                return inner(*args, **kwargs)
            finally:
                self.spent[label] += time.thread_time_ns() - start

        setattr(obj, method, timed)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500, help="requests per route and round")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()

    from base.logging import LOGGERS
    from base.settings import Settings
    from serving.app import create_app
    from serving.core.auth import issue_token
    from serving.services.champions import CANCELLATION, CLV

    settings = Settings()
    token = issue_token("bench", ["admin"], settings=settings, rate_limit="10000000/minute")
    loads = workloads(settings, token, args.requests)  # the requests api_load sends
    app = create_app()
    lifespan_messages: asyncio.Queue = asyncio.Queue()
    lifespan_messages.put_nowait({"type": "lifespan.startup"})
    started: list[dict] = []

    async def lifespan_send(message):
        started.append(message)

    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"},
                                        "state": {}}, lifespan_messages.get, lifespan_send))
    while not started:
        await asyncio.sleep(0.05)
    if started[-1]["type"] != "lifespan.startup.complete":
        raise SystemExit(f"the app did not start: {started[-1]}")
    # its start set up logging: the API's log lines (one per request) go to a file, as
    # the server's do under api_load
    log_file = open(settings.home / "bench-request-cpu.log", "w")
    for logger in {logging.getLogger(name) for name in LOGGERS}:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr:
                handler.setStream(log_file)

    async def run(name: str) -> list[int]:
        return [await _call(app, request) for request in loads[name]]

    for name in loads:  # the first calls load caches: not measured
        statuses = await run(name)
        if set(statuses) != {200}:
            raise SystemExit(f"{name} answered {Counter(statuses)}: build the platform first")
    services = app.state.services
    timed = _Timed()
    timed.wrap(services.features, "record", "online read")
    for served in (CANCELLATION, CLV):
        timed.wrap(services.champions.get(served).model, "predict_one", "model")
    timed.wrap(services.predictions, "record", "prediction log")

    print(f"{settings.profile} profile, in process (ASGI, no HTTP); {args.rounds} rounds of "
          f"{args.requests} requests per route; reference loop sum(range(10**7)): "
          f"{reference_loop_seconds():.3f} s of CPU")
    per_round: dict[str, list[float]] = {name: [] for name in loads}
    parts: dict[str, Counter] = {name: Counter() for name in loads}
    for k in range(args.rounds):
        for name in (list(loads) if k % 2 == 0 else list(loads)[::-1]):
            timed.spent.clear()
            start = time.thread_time_ns()
            await run(name)
            per_round[name].append((time.thread_time_ns() - start) / args.requests / 1000)
            parts[name].update({label: ns / args.requests / 1000
                                for label, ns in timed.spent.items()})
    base = statistics.median(per_round[BASELINE])
    print(f"{'route':24} {'µs/request':>11} {'best round':>11} {'× liveness':>11}   parts (µs, mean)")
    for name, rounds in per_round.items():
        median = statistics.median(rounds)
        shares = {label: total / args.rounds for label, total in parts[name].items()}
        framework = median - sum(shares.values())
        text = ", ".join(f"{label} {v:.0f}" for label, v in shares.items())
        print(f"{name:24} {median:11.0f} {min(rounds):11.0f} {median / base:10.1f}x   "
              + (f"{text}, framework and the rest {framework:.0f}" if shares else ""))
    print(f"reference loop at the end: {reference_loop_seconds():.3f} s of CPU")
    lifespan_messages.put_nowait({"type": "lifespan.shutdown"})
    await lifespan  # the prediction log's last rows land


if __name__ == "__main__":
    asyncio.run(main())
