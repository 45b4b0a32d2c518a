"""Image search: CLIP vectors and a full-text index over the images' metadata, in LanceDB.

The lake table ``vision/images`` is the record (metadata and the image bytes); the LanceDB
table ``images`` holds what search needs (the CLIP vector, the metadata, a ``text`` column
of description and tags under a full-text index) and is rebuilt from the lake by
``rebuild``: after a model change, or if it is lost.

Identity: an indexed image is its bytes with its metadata. ``image_id`` is a digest of the
bytes' SHA-256 and the normalised metadata, so indexing the same bytes with the same
metadata again returns the existing row (``duplicate: True``, nothing written), while the
same photo filed again with other metadata (another room, a corrected description) is a
row of its own. Both writes are idempotent, so a retry after a failure between the lake
write and the LanceDB write completes the missing one.

Search (``search``) runs up to two ranked lists and fuses them:

* the vector list: rows by cosine similarity to the query vector (the image's CLIP
  embedding, the text's, or with both the normalised sum of the two: "this image, but
  like this text"); ``vector_score`` is that cosine similarity, in [-1, 1];
* the text list (when there is text): LanceDB's native full-text search (BM25) on the
  description and tags; ``text_score`` is the BM25 score (unbounded; ``None`` where the
  row matched no word).

``score`` is their reciprocal-rank fusion: the sum over the lists of 1 / (60 + rank), rank
from 1, divided by what a row first in every list would get, so 1.0 is "first everywhere"
and a row in one list only gets at most 1/n of it. Ranks, not raw scores, are fused because
cosines and BM25 are on unrelated scales; so a keyword match ("black leather wallet" in the
description) is found even when the image embedding is weak. ``threshold`` is a minimum
``vector_score`` for rows of the vector list; rows the text matched are kept regardless
(their words are the evidence). Category and hotel filter both lists before ranking.
Where CLIP did not load, a text search is the full-text list alone (``vector_score``
``None``); an image search raises ``ClipUnavailable``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import time
from typing import Iterator

import numpy as np
import polars as pl
import pyarrow as pa

from lake.delta_tables import Lake
from lake.tables import IMAGES
from vision.clip_models import BATCH, ClipModel, ClipUnavailable
from vision.images import ImageLimits, ImageRejected, Picture

CATEGORIES = ("room", "lost_and_found", "amenity")
RRF_K = 60  # the constant of Cormack et al.'s reciprocal-rank fusion (and LanceDB's)
DEPTH = 50  # candidates per list at least: fusion needs more than top_k from each
META = ("category", "hotel", "room_number", "description", "tags")
RESULT = ("image_id", *META, "indexed_at")


def image_id_of(sha256: str, metadata: dict) -> str:
    """32 hex digits naming these bytes filed with this (normalised) metadata."""
    key = json.dumps([sha256, [metadata[k] for k in META]], ensure_ascii=False)
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _sql(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _text(description: str | None, tags: list[str]) -> str:
    """What the full-text index reads: the description and the tags as words."""
    return " ".join([description or "", *(t.replace("_", " ") for t in tags)]).strip()


class ImageIndex:
    """The image index of one LanceDB folder (``vectors_root``), with the lake it is built
    from and the CLIP model that embeds."""

    def __init__(self, vectors_root: str, lake: Lake, clip: ClipModel, table: str = "images",
                 storage_options: dict[str, str] | None = None):
        import lancedb

        self.db = lancedb.connect(vectors_root, storage_options=storage_options or None)
        self.lake, self.clip, self.name = lake, clip, table

    @classmethod
    def from_settings(cls, settings, lake: Lake, clip: ClipModel) -> "ImageIndex":
        return cls(settings.vectors_root, lake, clip)

    # -- the LanceDB table --------------------------------------------------------------

    def _schema(self, dim: int) -> pa.Schema:
        return pa.schema([
            ("image_id", pa.string()), ("vector", pa.list_(pa.float32(), dim)),
            ("category", pa.string()), ("hotel", pa.string()), ("room_number", pa.string()),
            ("description", pa.string()), ("tags", pa.list_(pa.string())), ("text", pa.string()),
            ("sha256", pa.string()), ("indexed_at", pa.timestamp("us", tz="UTC")),
            ("model", pa.string())])

    def _table(self):
        try:
            return self.db.open_table(self.name)
        except (FileNotFoundError, ValueError):
            return None

    def _create(self, data=None):
        """A new (or replacing) table with its full-text index on ``text``."""
        from lancedb.index import FTS

        self.clip._require()
        table = self.db.create_table(self.name, data=data, schema=self._schema(self.clip.dim),
                                     mode="overwrite")
        table.create_index("text", config=FTS(), replace=True)
        return table

    def _dim(self, table) -> int:
        return table.schema.field("vector").type.list_size

    def _check_dim(self, table) -> None:
        if self.clip.loaded and self._dim(table) != self.clip.dim:
            raise ClipUnavailable(
                f"the image index holds {self._dim(table)}-dimension vectors and CLIP "
                f"{self.clip.identity} makes {self.clip.dim}: rebuild the index from the lake")

    # -- writing ------------------------------------------------------------------------

    def index(self, picture: Picture, metadata: dict, content: bytes | None = None) -> dict:
        """Store an image (lake row with the bytes, then the LanceDB row) and return its row:
        {image_id, duplicate, category, hotel, room_number, description, tags, sha256,
        indexed_at}. ``metadata``: category (room, lost_and_found, amenity), hotel, and
        optionally room_number, description, tags (list of words). ``content`` is the
        uploaded file (its SHA-256 must be the picture's); without it the pixels are stored
        as PNG. Same bytes and metadata again: the existing row, ``duplicate`` True."""
        meta = self._metadata(metadata)
        if content is not None and hashlib.sha256(content).hexdigest() != picture.sha256:
            raise ValueError("content is not the bytes the picture was decoded from")
        image_id = image_id_of(picture.sha256, meta)
        table = self._table()
        if table is not None:
            self._check_dim(table)
            found = table.search().where(f"image_id = {_sql(image_id)}").limit(1) \
                .select([*RESULT, "sha256"]).to_list()
            if found:
                return {**self._result(found[0]), "sha256": found[0]["sha256"], "duplicate": True}
        vector = self.clip.encode_images([picture])[0]  # before any write: fails cleanly
        now = dt.datetime.now(dt.timezone.utc)
        stored = self._lake_row(image_id)
        if stored is None:
            if content is None:
                buffer = io.BytesIO()
                picture.pil.save(buffer, "PNG")
                content, fmt = buffer.getvalue(), "PNG"
            else:
                fmt = picture.format
            self.lake.ensure(IMAGES.name, IMAGES.schema)
            self.lake.append(IMAGES.name, pl.DataFrame([{
                "image_id": image_id, **meta, "sha256": picture.sha256, "format": fmt,
                "width": picture.width, "height": picture.height, "content": content,
                "indexed_at": now}], schema=IMAGES.schema))
        else:  # the lake has it (a write that stopped before LanceDB): keep its time
            now = stored["indexed_at"]
        row = {"image_id": image_id, "vector": vector.tolist(), **meta,
               "text": _text(meta["description"], meta["tags"]), "sha256": picture.sha256,
               "indexed_at": now, "model": self.clip.identity}
        table = table if table is not None else self._create()
        table.merge_insert("image_id").when_not_matched_insert_all().execute(
            pa.Table.from_pylist([row], schema=self._schema(self.clip.dim)))
        return {**self._result(row), "sha256": picture.sha256, "duplicate": False}

    def _metadata(self, metadata: dict) -> dict:
        unknown = {k for k, v in metadata.items() if v is not None} - set(META)
        if unknown:
            raise ValueError(f"unknown metadata {sorted(unknown)}; expected {list(META)}")
        if metadata.get("category") not in CATEGORIES:
            raise ValueError(f"category must be one of {list(CATEGORIES)}, "
                             f"not {metadata.get('category')!r}")
        if not metadata.get("hotel"):
            raise ValueError("hotel is required")
        tags = metadata.get("tags") or []
        if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
            raise ValueError("tags must be a list of strings")
        tags = sorted({t.strip() for t in tags if t.strip()})  # a set of words: order is noise
        room = metadata.get("room_number")
        return {"category": metadata["category"], "hotel": str(metadata["hotel"]),
                "room_number": None if room is None else str(room),
                "description": (metadata.get("description") or "").strip() or None,
                "tags": tags}

    def _lake_row(self, image_id: str) -> dict | None:
        if not self.lake.exists(IMAGES.name):
            return None
        rows = self.lake.read(IMAGES.name, columns=[*RESULT],
                              filters=[("image_id", "=", image_id)])
        return rows.row(0, named=True) if rows.height else None

    # -- reading ------------------------------------------------------------------------

    def search(self, image: Picture | None = None, text: str | None = None, top_k: int = 10,
               category: str | None = None, hotel: str | None = None,
               threshold: float | None = None) -> list[dict]:
        """The best ``top_k`` images for an image, a text or both: [{image_id, score,
        vector_score, text_score, category, hotel, room_number, description, tags,
        indexed_at}], best first (scores explained in the module docstring)."""
        text = (text or "").strip() or None
        if image is None and text is None:
            raise ValueError("search needs an image, a text or both")
        if category is not None and category not in CATEGORIES:
            raise ValueError(f"category must be one of {list(CATEGORIES)}")
        top_k = max(1, int(top_k))
        table = self._table()
        if table is None:
            if image is not None:
                self.clip._require()
            return []
        clauses = [f"{k} = {_sql(v)}" for k, v in (("category", category), ("hotel", hotel))
                   if v is not None]
        where = " AND ".join(clauses) or None
        depth = max(DEPTH, 5 * top_k)
        query = self._query_vector(image, text, table)
        lists, rows = [], {}
        if query is not None:
            q = table.search(query, vector_column_name="vector").distance_type("cosine")
            if where:
                q = q.where(where, prefilter=True)
            hits = q.limit(depth).select([*RESULT, "vector", "_distance"]).to_list()
            ranked = []
            for hit in hits:
                hit["vector_score"] = 1.0 - float(hit.pop("_distance"))
                if threshold is None or hit["vector_score"] >= threshold:
                    rows.setdefault(hit["image_id"], hit)
                    ranked.append(hit["image_id"])
            lists.append(ranked)
        if text is not None:
            q = table.search(text, query_type="fts", fts_columns="text")
            if where:
                q = q.where(where, prefilter=True)
            hits = q.limit(depth).select([*RESULT, "vector", "_score"]).to_list()
            for hit in hits:
                row = rows.setdefault(hit["image_id"], hit)
                row["text_score"] = float(hit["_score"])
            lists.append([hit["image_id"] for hit in hits])
        best = len(lists) / (RRF_K + 1)
        fused = {}
        for ranked in lists:
            for rank, image_id in enumerate(ranked, start=1):
                fused[image_id] = fused.get(image_id, 0.0) + 1.0 / (RRF_K + rank)
        results = []
        for image_id, raw in fused.items():
            row = rows[image_id]
            if query is not None and "vector_score" not in row:  # found by its words only
                row["vector_score"] = float(np.dot(row["vector"], query))
            results.append({"image_id": image_id, "score": raw / best,
                            "vector_score": row.get("vector_score"),
                            "text_score": row.get("text_score"), **self._result(row)})
        results.sort(key=lambda r: (-r["score"], -(r["vector_score"] or -2.0)))
        return results[:top_k]

    def _query_vector(self, image, text, table) -> np.ndarray | None:
        if image is None and not self.clip.loaded:
            return None  # text only, CLIP down: the full-text list alone
        self.clip._require()
        self._check_dim(table)
        parts = []
        if image is not None:
            parts.append(self.clip.encode_images([image])[0])
        if text is not None:
            parts.append(self.clip.encode_texts([text])[0])
        query = np.sum(parts, axis=0)
        return (query / max(np.linalg.norm(query), 1e-12)).astype(np.float32)

    @staticmethod
    def _result(row: dict) -> dict:
        return {k: row.get(k) for k in RESULT if k != "image_id"} | {"image_id": row["image_id"]}

    def image(self, image_id: str) -> tuple[bytes, str] | None:
        """The stored bytes and their format (``JPEG``, ``PNG``...), from the lake."""
        if not self.lake.exists(IMAGES.name):
            return None
        rows = self.lake.read(IMAGES.name, columns=["content", "format"],
                              filters=[("image_id", "=", image_id)])
        return (rows["content"][0], rows["format"][0]) if rows.height else None

    def vectors(self, image_ids: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors of these images made by the current model (for probes)."""
        table = self._table()
        if table is None or not image_ids or not self.clip.loaded:
            return {}
        out = {}
        for i in range(0, len(image_ids), 500):
            ids = ", ".join(_sql(x) for x in image_ids[i:i + 500])
            rows = table.search().where(f"image_id IN ({ids}) AND model = "
                                        f"{_sql(self.clip.identity)}") \
                .limit(None).select(["image_id", "vector"]).to_list()
            out |= {r["image_id"]: np.asarray(r["vector"], np.float32) for r in rows}
        return out

    # -- upkeep -------------------------------------------------------------------------

    def rebuild(self, lake: Lake | None = None, limits: ImageLimits | None = None) -> dict:
        """Replace the LanceDB table by one embedded from the lake's ``vision/images`` with
        the current model: one new table version, written as a stream of batches (memory
        bounded by a batch), so searches see the old index until it is done. Rows whose
        bytes no longer decode are skipped and counted. Returns {rows, skipped, lake_rows,
        model, dim, seconds, version}."""
        self.clip._require()
        lake = lake or self.lake
        start = time.perf_counter()
        limits = limits or ImageLimits()
        ids = (lake.read(IMAGES.name, columns=["image_id", "indexed_at"])
               if lake.exists(IMAGES.name) else pl.DataFrame(schema={"image_id": pl.String}))
        ids = ids.sort("indexed_at").unique("image_id", keep="first", maintain_order=True) \
            if ids.height else ids
        counts = {"rows": 0, "skipped": 0}

        def batches() -> Iterator[pa.RecordBatch]:
            order = ids["image_id"].to_list()
            for i in range(0, len(order), BATCH):
                chunk = lake.read(IMAGES.name, columns=[c for c in IMAGES.schema],
                                  filters=[("image_id", "in", order[i:i + BATCH])])
                chunk = chunk.unique("image_id", keep="first")
                pictures, rows = [], []
                for row in chunk.iter_rows(named=True):
                    try:
                        pictures.append(limits.decode(row["content"]))
                    except ImageRejected:
                        counts["skipped"] += 1
                        continue
                    rows.append(row)
                if not rows:
                    continue
                vectors = self.clip.encode_images(pictures)
                counts["rows"] += len(rows)
                yield pa.RecordBatch.from_pylist([
                    {"image_id": r["image_id"], "vector": v.tolist(),
                     **{k: r[k] for k in META}, "tags": list(r["tags"] or []),
                     "text": _text(r["description"], list(r["tags"] or [])),
                     "sha256": r["sha256"], "indexed_at": r["indexed_at"],
                     "model": self.clip.identity} for r, v in zip(rows, vectors)],
                    schema=self._schema(self.clip.dim))

        table = self._create(batches())
        return {**counts, "lake_rows": ids.height, "model": self.clip.identity,
                "dim": self.clip.dim, "seconds": round(time.perf_counter() - start, 3),
                "version": table.version}

    def maintain(self, older_than: dt.timedelta = dt.timedelta(days=7)) -> dict:
        """Compact small fragments, fold new rows into the full-text index, and delete
        versions older than ``older_than`` (a running search may still read a recent one).
        Returns fragment and version counts before and after."""
        table = self._table()
        if table is None:
            return {"table": None}
        before = table.stats()["fragment_stats"]["num_fragments"], len(table.list_versions())
        table.optimize(cleanup_older_than=older_than)
        after = table.stats()["fragment_stats"]["num_fragments"], len(table.list_versions())
        return {"rows": table.count_rows(), "fragments_before": before[0],
                "fragments_after": after[0], "versions_before": before[1],
                "versions_after": after[1], "version": table.version}

    def status(self) -> dict:
        """{table, rows, dim, rows_other_model (to re-embed: rebuild), unindexed_text_rows,
        version, clip: ClipModel.status()}."""
        table = self._table()
        out = {"table": self.name, "rows": 0, "dim": None, "rows_other_model": 0,
               "unindexed_text_rows": 0, "version": None, "clip": self.clip.status()}
        if table is None:
            return out
        out |= {"rows": table.count_rows(), "dim": self._dim(table), "version": table.version,
                "rows_other_model": table.count_rows(
                    f"model != {_sql(self.clip.identity)}") if self.clip.loaded else None}
        for index in table.list_indices():
            if index.index_type == "FTS":
                stats = table.index_stats(index.name)
                out["unindexed_text_rows"] = getattr(stats, "num_unindexed_rows", None)
        return out
