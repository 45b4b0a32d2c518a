"""Screenshots of what people open first, taken offline on a built platform; fails on a blank page.

    make screenshots        # after `make build` (or `make up`)

Starts `innsight serve` (the Dagster UI, the API and the MLflow UI) on free ports, opens
the API's /docs, one model's Dagster asset page and its champion's MLflow run in headless
Chromium (Debian's `chromium` package), and writes PNGs to docs/screenshots/. A page fails
when its rendered DOM lacks the text it must show or its picture is (almost) one colour:
what a page that loads its scripts from a CDN looks like with no internet.
"""

from __future__ import annotations

import argparse
import base64
import functools
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from websockets.sync.client import connect

REPO_ROOT = Path(__file__).resolve().parents[1]
OUT = REPO_ROOT / "docs" / "screenshots"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@dataclass
class Page:
    name: str  # the PNG's stem
    url: str
    must_show: tuple[str, ...]  # texts the rendered page holds when it works
    height: int = 1000  # of the window, in pixels (1440 wide)
    wait_s: int = 90  # how long its scripts get to show it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"`innsight serve` exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(2)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def browser() -> str:
    for name in BROWSERS:
        if path := shutil.which(name):
            return path
    raise SystemExit("no headless browser: `apt-get install chromium` (Debian) and rerun")


class Chromium:
    """Headless Chromium driven over the DevTools protocol: real time to load, not a guess."""

    def __init__(self, binary: str):
        self.profile = tempfile.TemporaryDirectory()  # a fresh profile: nothing cached
        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--no-first-run", "--remote-debugging-port=0", f"--user-data-dir={self.profile.name}",
             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in self.proc.stderr:  # "DevTools listening on ws://127.0.0.1:PORT/devtools/..."
            if "DevTools listening on" in line:
                self.http = "http://" + line.split("ws://", 1)[1].split("/", 1)[0]
                break
        else:
            raise SystemExit(f"{binary} exited with {self.proc.wait()} before it listened")
        # keep reading its log, or Chromium blocks once the pipe is full
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()
        self.ids = itertools.count(1)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.profile.cleanup()

    def shoot(self, page: Page, png: Path) -> tuple[str, list[str]]:
        """Open the page, wait until it shows every text it must (or time runs out), save
        its picture; (the page's text, the texts still missing)."""
        request = urllib.request.Request(f"{self.http}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(request) as answer:
            target = json.load(answer)
        with connect(target["webSocketDebuggerUrl"], max_size=None) as ws:
            call = functools.partial(self._call, ws)
            call("Emulation.setDeviceMetricsOverride",
                 width=1440, height=page.height, deviceScaleFactor=1, mobile=False)
            call("Page.navigate", url=page.url)
            deadline = time.monotonic() + page.wait_s
            while True:
                text = call("Runtime.evaluate", expression="document.body ? document.body.innerText : ''",
                            returnByValue=True)["result"].get("value", "")
                missing = [t for t in page.must_show if t not in text]
                if not missing or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            while time.monotonic() < deadline and not call(  # images (plots) loaded too
                    "Runtime.evaluate", expression="Array.from(document.images).every(i => i.complete)",
                    returnByValue=True)["result"].get("value", True):
                time.sleep(0.5)
            time.sleep(2)  # let the last requests paint (charts, tables)
            png.write_bytes(base64.b64decode(call("Page.captureScreenshot", format="png")["data"]))
        return text, missing

    def _call(self, ws, method: str, **params) -> dict:
        id_ = next(self.ids)
        ws.send(json.dumps({"id": id_, "method": method, "params": params}))
        while True:  # events arrive between answers; skip them
            message = json.loads(ws.recv(timeout=60))
            if message.get("id") == id_:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]


def blank(png: Path) -> float:
    """The share of pixels that differ from the most common colour (0 = a blank page)."""
    image = Image.open(png).convert("RGB").resize((360, 250))
    counts = image.getcolors(360 * 250)
    return 1 - max(counts)[0] / (360 * 250)


def check(browser: Chromium, page: Page) -> list[str]:
    """The problems with one page (none: it shows what it must)."""
    png = OUT / f"{page.name}.png"
    _, missing = browser.shoot(page, png)
    problems = [f"{page.name}: {page.url} does not show {text!r} after {page.wait_s} s"
                for text in missing]
    drawn = blank(png)
    if drawn < 0.02:
        problems.append(f"{page.name}: {page.url} is blank ({drawn:.1%} of the picture drawn)")
    return problems


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cancellation", help="the model whose pages to open")
    args = parser.parse_args(argv)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    sys.path.insert(0, str(REPO_ROOT))
    from base.settings import Settings
    from ml.registry import CHAMPION, ModelRegistry

    ports = {"INNSIGHT_DAGSTER_PORT": free_port(), "INNSIGHT_API_PORT": free_port(),
             "INNSIGHT_MLFLOW_PORT": free_port()}
    os.environ.update({k: str(v) for k, v in ports.items()})
    binary = browser()
    settings = Settings()
    if not settings.marts_path.exists():
        raise SystemExit(f"no built platform at {settings.home}: run `make build` first")
    registry = ModelRegistry.from_settings(settings)
    run = registry.client().get_model_version_by_alias(args.model, CHAMPION).run_id
    api = f"http://{settings.api_host}:{settings.api_port}"
    pages = [
        Page("api-docs", f"{api}/docs", ("Innsight", "churn/predict")),
        Page("dagster-model", f"{settings.dagster_url}/assets/models/{args.model}",
             (args.model, "Latest materialization", "promotion"), height=1500),
        Page("mlflow-run", registry.ui_url(run),
             (f"{args.model}-training", "Metrics")),
    ]
    OUT.mkdir(parents=True, exist_ok=True)
    serve = subprocess.Popen([str(Path(sys.executable).parent / "innsight"), "serve"], cwd=REPO_ROOT,
                             start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_for(f"{api}/api/v1/ml/health", serve)
        wait_for(f"{settings.dagster_url}/server_info", serve)
        wait_for(f"{settings.mlflow_url}/health", serve)
        chromium = Chromium(binary)
        try:
            problems = [p for page in pages for p in check(chromium, page)]
        finally:
            chromium.close()
    finally:
        os.killpg(serve.pid, signal.SIGINT)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
    for page in pages:
        print(f"{page.name:14} {page.url}  ->  {(OUT / f'{page.name}.png').relative_to(REPO_ROOT)}")
    if problems:
        print("\n".join(["FAILED:", *problems]))
        raise SystemExit(1)


if __name__ == "__main__":
    main()
