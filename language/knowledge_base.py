"""The hotels' knowledge base: policies, SOPs and FAQ as Markdown (``language/knowledge/<lang>/``)
cut into passages at their headings, embedded, stored in LanceDB with a full-text index,
and searched by meaning, by words, or both (hybrid: the two ranked lists fused by LanceDB's
reciprocal-rank-fusion reranker).

A passage is one ``##`` section with its document title and heading kept in its text (so
"Late check-out" is findable by its heading too); a section longer than ``MAX_CHARS`` is
cut between paragraphs, each piece keeping the heading. The full-text index folds accents
(``ascii_folding``): "gio tra phong" finds "giờ trả phòng", as guests type without
diacritics. ``digest(folder)`` says whether the documents changed since the table was built.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa

from language.embedders import Embedder

MAX_CHARS = 1500
# Vietnamese letters, and frequent Vietnamese words as typed without diacritics
VIETNAMESE = re.compile(r"[ăâđêôơưàáạảãằắặẳẵầấậẩẫèéẹẻẽềếệểễìíịỉĩòóọỏõồốộổỗờớợởỡùúụủũừứựửữỳýỵỷỹ]"
                        r"|\b(?:khong|phong|duoc|bao nhieu|toi|minh|gio|cho|nhu the nao|co the)\b",
                        re.IGNORECASE)
MODES = ("hybrid", "vector", "text")
CANDIDATES = 20  # per list before fusion


@dataclass(frozen=True)
class Passage:
    passage_id: str  # "<language>/<file>#<n>"
    language: str
    file: str
    title: str
    heading: str
    text: str


def _sections(markdown: str) -> tuple[str, list[tuple[str, str]]]:
    """(title, [(heading, body)]) of a document: text before the first ## is the intro."""
    title, heading, body, out = "", "", [], []
    for line in markdown.splitlines():
        if line.startswith("# ") and not title:
            title = line[2:].strip()
            continue
        if line.startswith("## "):
            if "".join(body).strip():
                out.append((heading, "\n".join(body).strip()))
            heading, body = line[3:].strip(), []
            continue
        body.append(line)
    if "".join(body).strip():
        out.append((heading, "\n".join(body).strip()))
    return title, out


def _pieces(body: str) -> list[str]:
    """The body cut between paragraphs into pieces of at most MAX_CHARS (or one paragraph)."""
    pieces, current = [], ""
    for paragraph in re.split(r"\n\s*\n", body):
        if current and len(current) + len(paragraph) > MAX_CHARS:
            pieces.append(current)
            current = ""
        current = f"{current}\n\n{paragraph}" if current else paragraph
    return pieces + ([current] if current else [])


def passages(folder: Path) -> list[Passage]:
    """Every passage of the Markdown documents under ``folder/<language>/*.md``."""
    out = []
    for path in sorted(Path(folder).glob("*/*.md")):
        language = path.parent.name
        title, sections = _sections(path.read_text(encoding="utf-8"))
        n = 0
        for heading, body in sections:
            for piece in _pieces(body):
                head = f"{title} — {heading}" if heading else title
                out.append(Passage(f"{language}/{path.name}#{n}", language, path.name, title,
                                   heading, f"{head}\n{piece}"))
                n += 1
    return out


def query_language(text: str) -> str:
    """vi or en, from the letters and words of a query (accents or not)."""
    return "vi" if VIETNAMESE.search(text) else "en"


def digest(folder: Path) -> str:
    """A digest of every document's name and content: changes when any document does."""
    h = hashlib.sha256()
    for path in sorted(Path(folder).glob("*/*.md")):
        h.update(f"{path.parent.name}/{path.name}\0".encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


class KnowledgeBase:
    """The passages in one LanceDB table (vector + full-text index), searched three ways."""

    def __init__(self, vectors_root: str, embedder: Embedder, table: str = "knowledge"):
        import lancedb

        self.db = lancedb.connect(vectors_root)
        self.embedder, self.name = embedder, table

    def _table(self):
        try:
            return self.db.open_table(self.name)
        except (FileNotFoundError, ValueError):
            return None

    def rebuild(self, folder: Path) -> dict:
        """Embed every passage of ``folder`` and replace the table (one new version: a
        search running meanwhile reads the old one). Returns counts and the digest."""
        items = passages(folder)
        if not items:
            raise ValueError(f"no Markdown documents under {folder}/<language>/")
        vectors = self.embedder.passages([p.text for p in items])
        source = digest(folder)
        rows = [{**asdict(p), "vector": v.tolist(), "embedder": self.embedder.name,
                 "digest": source} for p, v in zip(items, vectors)]
        schema = pa.schema([
            ("passage_id", pa.string()), ("language", pa.string()), ("file", pa.string()),
            ("title", pa.string()), ("heading", pa.string()), ("text", pa.string()),
            ("vector", pa.list_(pa.float32(), self.embedder.dim)), ("embedder", pa.string()),
            ("digest", pa.string())])
        table = self.db.create_table(self.name, pa.Table.from_pylist(rows, schema=schema),
                                     mode="overwrite")
        # accents folded: Vietnamese typed without diacritics still matches
        table.create_fts_index("text", use_tantivy=False, ascii_folding=True, stem=False,
                               remove_stop_words=False, replace=True)
        return {"passages": len(items), "documents": len({(p.language, p.file) for p in items}),
                "languages": sorted({p.language for p in items}), "digest": source,
                "embedder": self.embedder.name, "version": table.version}

    def status(self) -> dict:
        table = self._table()
        if table is None:
            return {"built": False, "reason": f"no '{self.name}' table yet: build the knowledge "
                                              "base (Dagster asset language/knowledge_base)"}
        first = table.search().limit(1).select(["embedder", "digest"]).to_list()
        return {"built": True, "passages": table.count_rows(), "version": table.version,
                "embedder": first[0]["embedder"] if first else None,
                "digest": first[0]["digest"] if first else None}

    def search(self, query: str, top_k: int = 5, mode: str = "hybrid",
               language: str | None = None) -> list[dict]:
        """The ``top_k`` passages for ``query``: {passage_id, language, file, title, heading,
        text, score}. ``mode``: hybrid (vector and full-text lists fused by reciprocal rank),
        vector or text; ``language`` keeps one language's passages. A hybrid search of
        passages in another language than the query's is a vector search: the full-text
        list would only add noise to the fusion."""
        from lancedb.rerankers import RRFReranker

        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        table = self._table()
        if table is None:
            raise LookupError(self.status()["reason"])
        where = f"language = '{language}'" if language else None
        columns = ["passage_id", "language", "file", "title", "heading", "text"]
        if mode == "hybrid" and language and query_language(query) != language:
            mode = "vector"  # words of one language match nothing useful in the other
        if mode == "text":
            q = table.search(query, query_type="fts")
        else:
            vector = self.embedder.queries([query])[0]
            if mode == "vector":
                q = table.search(vector, query_type="vector")
            else:
                q = (table.search(query_type="hybrid").vector(vector).text(query)
                     .rerank(RRFReranker()))
        if where:
            q = q.where(where, prefilter=True)
        rows = q.limit(top_k if mode != "hybrid" else max(top_k, CANDIDATES)).to_list()
        score_key = {"hybrid": "_relevance_score", "vector": "_distance", "text": "_score"}[mode]
        hits = []
        for r in rows[:top_k]:
            score = r.get(score_key)
            if mode == "vector" and score is not None:
                score = 1.0 - score / 2.0  # L2 distance² of unit vectors -> cosine
            hits.append({**{c: r[c] for c in columns}, "score": float(score or 0.0)})
        return hits
