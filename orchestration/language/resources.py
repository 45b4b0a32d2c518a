"""The knowledge base and the folder of documents it is built from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from language.embedders import Embedder
from language.knowledge_base import KnowledgeBase, digest


@dataclass
class Knowledge:
    folder: Path
    base: KnowledgeBase

    @classmethod
    def from_settings(cls, settings) -> "Knowledge":
        return cls(Path(settings.knowledge_dir),
                   KnowledgeBase(settings.vectors_root, Embedder(settings.text_embedder)))

    def stale(self) -> str | None:
        """The documents' digest when the table was built from other documents (or another
        embedder, or not at all); None when it is current."""
        now, built = digest(self.folder), self.base.status()
        current = (built.get("built") and built.get("digest") == now
                   and built.get("embedder") == self.base.embedder.name)
        return None if current else now
