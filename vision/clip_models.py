"""CLIP (open_clip) image and text embeddings, loaded once and never raising at load.

``ClipModel.load(model_name, pretrained, checkpoint, cache_dir)`` returns a model whose
``status()`` says whether it loaded and, if not, why (no internet for the pretrained tag, a
checkpoint file that is missing or does not fit the architecture...). A local checkpoint
wins over the pretrained tag and is loaded by open_clip itself
(``create_model_and_transforms(model_name, pretrained=<path>)``); an architecture open_clip
does not ship is found in a ``<model_name>.json`` config beside the checkpoint.

Embeddings are L2-normalised float32 rows, so a dot product is the cosine similarity.
``zero_shot`` scores a picture against labels described by several prompts each (prompt
ensembling: the mean of the prompts' normalised text embeddings, normalised again), as a
softmax over the labels at the model's own logit scale.

Importing this module makes ``import open_clip`` work beside a torchvision built for another
torch (see ``base.torch_env``); the other vision modules import open_clip through here.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from base.torch_env import torchvision_importable

log = logging.getLogger(__name__)

BATCH = 32  # images per forward pass: bounded memory on a CPU worker


class ClipUnavailable(RuntimeError):
    """The CLIP model did not load; the message is the load's reason."""


def import_open_clip():
    """open_clip, importable in this environment (``base.torch_env``)."""
    torchvision_importable()
    import open_clip

    return open_clip


def set_threads(threads: int | None = None) -> int:
    """Intra-op threads for torch: the cores the process may use, at most ``threads``. More
    threads than cores only spin (OMP_WAIT_POLICY=passive keeps idle ones asleep)."""
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    n = max(1, min(threads or cores or 1, cores or 1))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def _reachable_or_cached(open_clip, model_name: str, tag: str, cache_dir) -> None:
    """Fail in seconds, not the model hub client's ~50 s of retries, when the weights are
    neither cached nor downloadable (no internet): the reason says what to set instead."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants, try_to_load_from_cache

    config = open_clip.get_pretrained_cfg(model_name, tag) or {}
    repo = config.get("hf_hub", "").rstrip("/")
    if not repo:
        return  # a URL download (no hub): open_clip's own error says what failed
    for name in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"):
        if isinstance(try_to_load_from_cache(repo, name, cache_dir=str(cache_dir) if cache_dir else None), str):
            return
    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=3).close()
    except OSError as e:
        raise ConnectionError(
            f"{model_name}/{tag} is not cached and {host} cannot be reached ({e}): download it "
            "where there is internet, or set INNSIGHT_CLIP_CHECKPOINT to a local open_clip "
            f"checkpoint of {model_name}") from None


@dataclass
class ClipModel:
    model_name: str
    pretrained: str | None
    checkpoint: Path | None
    reason: str | None = None
    model: object = None
    preprocess: object = None
    tokenizer: object = None
    dim: int | None = None
    logit_scale: float = 100.0
    load_seconds: float = 0.0
    _text_cache: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_settings(cls, settings, threads: int | None = None) -> "ClipModel":
        return cls.load(settings.clip_model, settings.clip_pretrained, settings.clip_checkpoint,
                        settings.home / "models" / "open_clip", threads=threads)

    @classmethod
    def load(cls, model_name: str, pretrained: str | None = None,
             checkpoint: Path | str | None = None, cache_dir: Path | str | None = None,
             threads: int | None = None) -> "ClipModel":
        """The model, or an unloaded one whose ``status()['reason']`` says why. Never raises."""
        checkpoint = Path(checkpoint) if checkpoint else None
        clip = cls(model_name, None if checkpoint else pretrained, checkpoint)
        start = time.perf_counter()
        try:
            clip._load(cache_dir, threads)
        except Exception as e:  # noqa: BLE001 - any failure is a status, the API answers 503
            clip.reason = f"{type(e).__name__}: {e}"
            clip.model = None
            log.warning("CLIP %s not loaded: %s", clip.identity, clip.reason)
        clip.load_seconds = round(time.perf_counter() - start, 3)
        return clip

    def _load(self, cache_dir, threads) -> None:
        import torch

        if self.checkpoint is not None and not self.checkpoint.is_file():
            raise FileNotFoundError(f"the CLIP checkpoint {self.checkpoint} does not exist")
        if self.checkpoint is None and not self.pretrained:
            raise ValueError(f"no pretrained tag and no checkpoint for {self.model_name}: "
                             "set clip_pretrained or clip_checkpoint")
        open_clip = import_open_clip()
        if self.checkpoint is None:
            _reachable_or_cached(open_clip, self.model_name, self.pretrained, cache_dir)
        set_threads(threads)
        if self.model_name not in open_clip.list_models() and self.checkpoint is not None:
            config = self.checkpoint.with_name(f"{self.model_name}.json")
            if config.is_file():
                open_clip.add_model_config(config)
        model, _, preprocess = open_clip.create_model_and_transforms(
            self.model_name, pretrained=str(self.checkpoint or self.pretrained),
            cache_dir=str(cache_dir) if cache_dir else None)
        model.eval()
        self.model, self.preprocess = model, preprocess
        self.tokenizer = open_clip.get_tokenizer(self.model_name)
        with torch.inference_mode():
            self.logit_scale = float(model.logit_scale.exp())
            self.dim = int(self.model.encode_text(self.tokenizer(["a photo"])).shape[-1])

    @property
    def loaded(self) -> bool:
        return self.model is not None

    @property
    def identity(self) -> str:
        """What made these embeddings: vectors of two identities are not comparable."""
        source = self.checkpoint.name if self.checkpoint else self.pretrained
        return f"{self.model_name}/{source}"

    def status(self) -> dict:
        return {"loaded": self.loaded, "model": self.model_name, "pretrained": self.pretrained,
                "checkpoint": str(self.checkpoint) if self.checkpoint else None,
                "reason": self.reason, "dim": self.dim, "identity": self.identity,
                "load_seconds": self.load_seconds}

    def _require(self) -> None:
        if not self.loaded:
            raise ClipUnavailable(f"CLIP {self.identity} is not loaded: {self.reason}")

    def encode_images(self, pictures: Sequence) -> np.ndarray:
        """One L2-normalised float32 row per picture (``vision.images.Picture``)."""
        self._require()
        import torch

        out = np.zeros((len(pictures), self.dim), np.float32)
        with torch.inference_mode():
            for i in range(0, len(pictures), BATCH):
                batch = torch.stack([self.preprocess(p.pil) for p in pictures[i:i + BATCH]])
                out[i:i + len(batch)] = self.model.encode_image(batch, normalize=True).numpy()
        return out

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row per text (truncated to the model's context)."""
        self._require()
        import torch

        out = np.zeros((len(texts), self.dim), np.float32)
        with torch.inference_mode():
            for i in range(0, len(texts), BATCH):
                tokens = self.tokenizer(list(texts[i:i + BATCH]))
                out[i:i + len(tokens)] = self.model.encode_text(tokens, normalize=True).numpy()
        return out

    def label_embeddings(self, prompts: dict[str, Sequence[str]]) -> tuple[list[str], np.ndarray]:
        """Labels and one normalised row per label: its prompts' mean embedding (ensembling).
        Cached: the prompts of a detector are fixed, so their text pass runs once."""
        key = tuple((label, tuple(p)) for label, p in prompts.items())
        with self._lock:
            cached = self._text_cache.get(key)
        if cached is None:
            labels = list(prompts)
            flat = [p for label in labels for p in prompts[label]]
            emb = self.encode_texts(flat)
            rows, i = [], 0
            for label in labels:
                mean = emb[i:i + len(prompts[label])].mean(axis=0)
                rows.append(mean / max(np.linalg.norm(mean), 1e-12))
                i += len(prompts[label])
            cached = (labels, np.stack(rows).astype(np.float32))
            with self._lock:
                self._text_cache[key] = cached
        return cached

    def softmax(self, similarities: np.ndarray) -> np.ndarray:
        """Probabilities over the last axis from cosine similarities, at the model's scale."""
        logits = self.logit_scale * np.asarray(similarities, np.float64)
        logits -= logits.max(axis=-1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=-1, keepdims=True)

    def zero_shot_embedding(self, embedding: np.ndarray,
                            prompts: dict[str, Sequence[str]]) -> dict[str, float]:
        labels, text = self.label_embeddings(prompts)
        probs = self.softmax(text @ np.asarray(embedding, np.float32))
        return {label: float(p) for label, p in zip(labels, probs)}

    def zero_shot(self, picture, prompts: dict[str, Sequence[str]]) -> dict[str, float]:
        """{label: probability} over the labels (they sum to 1)."""
        return self.zero_shot_embedding(self.encode_images([picture])[0], prompts)
