"""The hotels' knowledge base: policies, SOPs and FAQ as Markdown (``language/knowledge/<lang>/``)
cut into passages at their headings, embedded, stored in LanceDB with a full-text index,
and searched by meaning, by words, or both (hybrid).

A passage is one ``##`` section with its document title and heading kept in its text (so
"Late check-out" is findable by its heading too); a section longer than ``MAX_CHARS`` is
cut between paragraphs, each piece keeping the heading. The full-text index folds accents
(``ascii_folding``): "gio tra phong" finds "giờ trả phòng", as guests type without
diacritics. ``digest(folder)`` says whether the documents changed since the table was built.

How a passage is found by meaning (each knob chosen on the development half of
``language/knowledge/eval/retrieval.yaml``, see ``bench/retrieval.py``):

- **Two views of a passage.** The whole passage is one vector; each of its lines (a list
  item or a paragraph, with the title and heading before it) is another, kept together in a
  multivector column. A question about one rule of a long section matches that rule's line
  better than the section's average. The relevance is ``SECTION_WEIGHT`` x the passage's
  cosine + the rest x its best line's cosine (LanceDB's multivector search gives the best
  line: MaxSim with one query vector).
- **Language centring.** A multilingual embedding carries the text's language as well as
  its meaning: an English passage with a few Vietnamese words drew Vietnamese questions
  whatever they asked. Before the cosines, ``CENTRING`` x the mean vector of the passages'
  language is taken off every passage vector (the mean of the documents of that language
  in the table), and off the query the same mean moved by the embedder's offset from the
  query's language to the passages' one (``Embedder.language_means``, measured on general
  sentences written in both languages, not on any hotel's documents: a hotel whose
  documents exist in one language only is served the same way).
- **Hybrid.** The vector relevances and the full-text (BM25) scores of the candidates are
  brought to [0, 1] (min-max, and over the best) and added with weight ``TEXT_WEIGHT`` for
  the words. A question in another language than the passages searched has no words in
  common with them, so its hybrid search is the vector one.

``score`` in a hit: in vector mode the cosine of the query to the passage (uncentred, the
closeness the assistant thresholds), the hits being in relevance order; in hybrid mode the
fused score; in text mode BM25.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from language.embedders import Embedder

MAX_CHARS = 1500
# Vietnamese letters, and frequent Vietnamese words as typed without diacritics
VIETNAMESE = re.compile(r"[ăâđêôơưàáạảãằắặẳẵầấậẩẫèéẹẻẽềếệểễìíịỉĩòóọỏõồốộổỗờớợởỡùúụủũừứựửữỳýỵỷỹ]"
                        r"|\b(?:khong|phong|duoc|bao nhieu|toi|minh|gio|cho|nhu the nao|co the)\b",
                        re.IGNORECASE)
MODES = ("hybrid", "vector", "text")
CANDIDATES = 20  # per list (passage vectors, line vectors, full text) before fusion
# Chosen on the development half of the retrieval set (bench/retrieval.py), hybrid recall@5
# 0.94 (cross-language 0.93) against 0.85 (0.85) for the passage vector alone; the test half
# gives 0.89 (0.85).
CENTRING = 0.75  # share of the language's mean vector taken off (0: none, 1: all)
SECTION_WEIGHT = 0.4  # the passage's cosine; the rest is its best line's
TEXT_WEIGHT = 0.3  # the full-text score's share in hybrid search
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="knowledge-fts")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


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


def lines(passage: Passage) -> list[str]:
    """The passage's lines, each with the passage's title and heading before it: a list item
    (with the lines wrapped under it) or a paragraph (its wrapped lines joined)."""
    head, _, body = passage.text.partition("\n")
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", body):
        current: list[str] = []
        for line in paragraph.splitlines():
            if not line.strip():
                continue
            if current and (LIST_ITEM.match(line) or line.lstrip().startswith("#")):
                out.append(" ".join(current))
                current = []
            current.append(line.strip())
        if current:
            out.append(" ".join(current))
    return [f"{head}\n{line}" for line in out] or [passage.text]


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


def _matrix(column) -> np.ndarray:
    """A fixed-size-list Arrow column (or its values) as a float32 matrix, one row a vector."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return column.flatten().to_numpy(zero_copy_only=False).reshape(len(column), -1).astype(
        np.float32, copy=False)


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=-1, keepdims=True), 1e-12)


class KnowledgeBase:
    """The passages in one LanceDB table (vectors, line vectors, full-text index), searched
    three ways."""

    def __init__(self, vectors_root: str, embedder: Embedder, table: str = "knowledge"):
        import lancedb

        self.db = lancedb.connect(vectors_root)
        self.embedder, self.name = embedder, table
        self._centres: tuple[int, dict] | None = None  # (table version, centres)

    def _table(self):
        try:
            return self.db.open_table(self.name)
        except (FileNotFoundError, ValueError):
            return None

    def rebuild(self, folder: Path) -> dict:
        """Embed every passage of ``folder`` and its lines and replace the table (one new
        version: a search running meanwhile reads the old one). Returns counts and the
        digest."""
        items = passages(folder)
        if not items:
            raise ValueError(f"no Markdown documents under {folder}/<language>/")
        vectors = self.embedder.passages([p.text for p in items])
        per_passage = [lines(p) for p in items]
        flat = self.embedder.passages([line for ls in per_passage for line in ls])
        bounds = np.cumsum([0] + [len(ls) for ls in per_passage])
        line_vectors = [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        languages = sorted({p.language for p in items})
        # each language's mean passage and line vector, taken off (CENTRING) before cosines
        means = self.embedder.language_means()
        centres = {"section": {}, "line": {}, "centring": CENTRING,
                   "query_means": {k: v.tolist() for k, v in means.items()}}
        for language in languages:
            rows = [i for i, p in enumerate(items) if p.language == language]
            centres["section"][language] = vectors[rows].mean(0).tolist()
            centres["line"][language] = np.concatenate(
                [line_vectors[i] for i in rows]).mean(0).tolist()
        source = digest(folder)
        rows = []
        for p, v, lv in zip(items, vectors, line_vectors):
            section = np.asarray(centres["section"][p.language], np.float32)
            line = np.asarray(centres["line"][p.language], np.float32)
            rows.append({**asdict(p), "vector": v.tolist(),
                         "centred": _unit(v - CENTRING * section).tolist(),
                         "lines": _unit(lv - CENTRING * line).tolist(),
                         "embedder": self.embedder.name, "digest": source})
        dim = self.embedder.dim
        schema = pa.schema([
            ("passage_id", pa.string()), ("language", pa.string()), ("file", pa.string()),
            ("title", pa.string()), ("heading", pa.string()), ("text", pa.string()),
            ("vector", pa.list_(pa.float32(), dim)), ("centred", pa.list_(pa.float32(), dim)),
            ("lines", pa.list_(pa.list_(pa.float32(), dim))), ("embedder", pa.string()),
            ("digest", pa.string())], metadata={"centres": json.dumps(centres)})
        table = self.db.create_table(self.name, pa.Table.from_pylist(rows, schema=schema),
                                     mode="overwrite")
        # accents folded: Vietnamese typed without diacritics still matches
        table.create_fts_index("text", use_tantivy=False, ascii_folding=True, stem=False,
                               remove_stop_words=False, replace=True)
        return {"passages": len(items), "lines": int(bounds[-1]),
                "documents": len({(p.language, p.file) for p in items}),
                "languages": languages, "digest": source,
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

    def _centres_of(self, table) -> dict | None:
        """The table's language centres (None: built before they were kept)."""
        version = table.version
        if self._centres is None or self._centres[0] != version:
            raw = (table.schema.metadata or {}).get(b"centres")
            centres = json.loads(raw) if raw else None
            if centres is not None:
                for kind in ("section", "line", "query_means"):
                    centres[kind] = {k: np.asarray(v, np.float32) for k, v in centres[kind].items()}
            self._centres = (version, centres)
        return self._centres[1]

    def _query_vectors(self, vector: np.ndarray, query: str, language: str,
                       centres: dict) -> tuple[np.ndarray, np.ndarray]:
        """The query centred for passages in ``language``: the passages' own mean, moved by
        the embedder's offset from the query's language to theirs."""
        means, asked = centres["query_means"], query_language(query)
        shift = (means[asked] - means[language]) if (asked != language and asked in means
                                                      and language in means) else 0.0
        a = centres["centring"]
        return (_unit(vector - a * (centres["section"][language] + shift)),
                _unit(vector - a * (centres["line"][language] + shift)))

    def _vector_candidates(self, table, vector: np.ndarray, query: str, language: str,
                           centres: dict, columns: list[str]) -> dict[str, dict]:
        """passage_id -> row with its relevance (``_relevance``) and uncentred cosine
        (``_cosine``): the passages of ``language`` whose best lines are nearest (one
        multivector search; the passage vector's cosine is added to theirs)."""
        section_q, line_q = self._query_vectors(vector, query, language, centres)
        rows = (table.search(line_q, vector_column_name="lines").distance_type("cosine")
                .where(f"language = '{language}'", prefilter=True)
                .select(columns + ["vector", "centred"]).limit(CANDIDATES).to_arrow())
        if rows.num_rows == 0:
            return {}
        line = 1.0 - rows["_distance"].to_numpy()  # MaxSim of one query vector: best line
        section = _matrix(rows["centred"]) @ section_q
        cosine = _matrix(rows["vector"]) @ vector
        relevance = SECTION_WEIGHT * section + (1 - SECTION_WEIGHT) * line
        found = {}
        for i, r in enumerate(rows.select(columns).to_pylist()):
            found[r["passage_id"]] = {**r, "_relevance": float(relevance[i]),
                                      "_cosine": float(cosine[i])}
        return found

    def search(self, query: str, top_k: int = 5, mode: str = "hybrid",
               language: str | None = None) -> list[dict]:
        """The ``top_k`` passages for ``query``: {passage_id, language, file, title, heading,
        text, score}. ``mode``: hybrid (vector relevance and full-text score fused), vector
        or text; ``language`` keeps one language's passages. A hybrid search of passages in
        another language than the query's is a vector search: the full-text list would only
        add noise to the fusion."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        table = self._table()
        if table is None:
            raise LookupError(self.status()["reason"])
        columns = ["passage_id", "language", "file", "title", "heading", "text"]
        if mode == "hybrid" and language and query_language(query) != language:
            mode = "vector"  # words of one language match nothing useful in the other
        centres = self._centres_of(table) if mode != "text" else None
        if mode == "text" or centres is None:  # text, or a table built before the centres
            return self._plain(table, query, top_k, "text" if mode == "text" else "vector",
                               language, columns)
        words = None
        if mode == "hybrid":  # the full-text search runs while the query is embedded
            q = table.search(query, query_type="fts")
            if language:
                q = q.where(f"language = '{language}'", prefilter=True)
            words = _POOL.submit(lambda: q.select(columns + ["centred", "lines"])
                                 .limit(CANDIDATES).to_arrow())
        vector = self.embedder.queries([query])[0]
        found: dict[str, dict] = {}
        for target in ([language] if language else sorted(centres["section"])):
            if target in centres["section"]:
                found.update(self._vector_candidates(table, vector, query, target, centres,
                                                     columns))
        if words is None:
            ranked = sorted(found.values(), key=lambda r: -r["_relevance"])[:top_k]
            return [{**{c: r[c] for c in columns}, "score": r["_cosine"]} for r in ranked]
        words = words.result()
        text_score = {}
        if words.num_rows:
            bm25 = words["_score"].to_numpy()
            best = float(bm25.max()) or 1.0
            centred = _matrix(words["centred"])
            for i, r in enumerate(words.select(columns).to_pylist()):
                text_score[r["passage_id"]] = float(bm25[i]) / best
                if r["passage_id"] in found or r["language"] not in centres["section"]:
                    continue
                section_q, line_q = self._query_vectors(vector, query, r["language"], centres)
                line = float(np.max(_matrix(words["lines"][i].values) @ line_q))
                found[r["passage_id"]] = {**r, "_relevance": float(
                    SECTION_WEIGHT * (centred[i] @ section_q) + (1 - SECTION_WEIGHT) * line)}
        if not found:
            return []
        low = min(r["_relevance"] for r in found.values())
        spread = (max(r["_relevance"] for r in found.values()) - low) or 1.0
        for pid, r in found.items():
            r["_fused"] = ((1 - TEXT_WEIGHT) * (r["_relevance"] - low) / spread
                           + TEXT_WEIGHT * text_score.get(pid, 0.0))
        ranked = sorted(found.values(), key=lambda r: -r["_fused"])[:top_k]
        return [{**{c: r[c] for c in columns}, "score": float(r["_fused"])} for r in ranked]

    def _plain(self, table, query: str, top_k: int, mode: str, language: str | None,
               columns: list[str]) -> list[dict]:
        """Full-text search, or a plain vector search on the passage vectors."""
        if mode == "text":
            q = table.search(query, query_type="fts")
        else:
            q = table.search(self.embedder.queries([query])[0], vector_column_name="vector")
        if language:
            q = q.where(f"language = '{language}'", prefilter=True)
        rows = q.select(columns).limit(top_k).to_list()
        key = "_score" if mode == "text" else "_distance"
        return [{**{c: r[c] for c in columns},
                 "score": float(r[key] if mode == "text" else 1.0 - r[key] / 2.0)}
                for r in rows]
