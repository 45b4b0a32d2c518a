"""The face gallery: templates and enrolment photos in LanceDB, 1:N search, erasure.

Two tables under the vectors root: ``face_templates`` (one row per accepted photo: the
512-d unit embedding, its quality, the model that made it, the person's metadata) and
``face_photos`` (the photo's bytes by photo_sha256 and employee_id, so templates can be
rebuilt for a new model).

Search answers each person's best template score (a person has several templates). While
the gallery holds fewer than ``INDEX_FROM`` templates it is exact, on an in-memory float32
mirror of the templates (rebuilt when the table's version moves); past it, an IVF_HNSW_SQ
index in LanceDB, with a refine step on the full vectors. ``bench/face_search.py`` measures
both and prints the switch point (INDEX_FROM is that measurement).

Erasure rewrites both tables without the person and removes every older version and
unreferenced file: a LanceDB delete only marks rows in a deletion file (the data file, the
delete's transaction record and the index partitions keep them until compaction, which
skips fragments with few deletions), so nothing short of a rewrite guarantees the bytes are
gone. ``find(employee_id)`` checks out every remaining version to verify.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import lancedb
import numpy as np
import pyarrow as pa

TEMPLATES = "face_templates"
PHOTOS = "face_photos"
DIM = 512
# Templates past which search uses the ANN index. bench/face_search.py (2 quiet cores): exact
# on the mirror p99 0.15 ms at 1k, 1.1 ms at 10k, 13 ms at 100k (recall 1.0); IVF_HNSW_SQ
# p50 ~6 ms whatever the size (LanceDB's per-query cost), p99 17 ms at 100k (recall@1 0.99).
# Exact is faster at every size measured; past 50k the mirror (2 KB a template, in every API
# worker) costs more memory than the index's few milliseconds are worth.
INDEX_FROM = 50_000
INDEX_TYPE = "IVF_HNSW_SQ"
# Persons asked of the ANN search per wanted person (several templates per person) and the
# refine factor (re-rank on the full vectors); both set by bench/face_search.py's recall.
ANN_OVERFETCH = 8
ANN_REFINE = 4
ANN_NPROBES = 16
ANN_EF = 128
VERSION_CHECK_S = 1.0
PERSON_FIELDS = ("name", "department", "hotel")
ID_FILTER = "employee_id = '{}'"

TEMPLATE_SCHEMA = pa.schema([
    ("template_id", pa.string()), ("employee_id", pa.string()),
    ("vector", pa.list_(pa.float32(), DIM)), ("det_score", pa.float64()),
    ("face_pixels", pa.int32()), ("sharpness", pa.float64()), ("photo_sha256", pa.string()),
    ("model", pa.string()), ("enrolled_at", pa.timestamp("us", tz="UTC")),
    ("name", pa.string()), ("department", pa.string()), ("hotel", pa.string()),
    ("metadata", pa.string()),  # any other person fields, JSON
])
PHOTO_SCHEMA = pa.schema([
    ("photo_sha256", pa.string()), ("employee_id", pa.string()), ("format", pa.string()),
    ("content", pa.binary()), ("added_at", pa.timestamp("us", tz="UTC")),
])


@dataclass(frozen=True)
class Template:
    employee_id: str
    vector: np.ndarray
    det_score: float
    face_pixels: int
    sharpness: float
    photo_sha256: str
    photo: bytes
    photo_format: str


class _Mirror:
    """Templates as one float32 matrix sorted by person, for exact search in numpy."""

    def __init__(self, version: int, ids: np.ndarray, vectors: np.ndarray):
        order = np.argsort(ids, kind="stable")
        self.version = version
        self.ids = ids[order]
        self.matrix = np.ascontiguousarray(vectors[order], dtype=np.float32)
        people, starts = np.unique(self.ids, return_index=True)
        self.people = people
        self.starts = starts

    def person_scores(self, q: np.ndarray) -> np.ndarray:
        scores = self.matrix @ q
        return np.maximum.reduceat(scores, self.starts) if len(scores) else scores


def valid_vector(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32).reshape(-1)
    if v.shape[0] != DIM:
        raise ValueError(f"a face template has {DIM} values, not {v.shape[0]}")
    return v / np.linalg.norm(v)


class FaceGallery:
    def __init__(self, uri: str, index_from: int = INDEX_FROM):
        # Other processes' enrolments show up within a second; this process's at once.
        self.db = lancedb.connect(uri, read_consistency_interval=timedelta(seconds=1))
        self.index_from = index_from
        self._lock = threading.RLock()
        self._mirror: _Mirror | None = None
        self._mode: tuple[int, str] | None = None
        self._seen: tuple[float, int] | None = None
        self._tables: dict[str, object] = {}

    # -- tables --------------------------------------------------------------------------
    def _table(self, name: str):
        table = self._tables.get(name)
        if table is None:
            schema = TEMPLATE_SCHEMA if name == TEMPLATES else PHOTO_SCHEMA
            table = self.db.create_table(name, schema=schema, exist_ok=True)
            self._tables[name] = table
        return table

    @property
    def templates_table(self):
        return self._table(TEMPLATES)

    def count_templates(self) -> int:
        return self.templates_table.count_rows()

    def count_people(self) -> int:
        return len(self._person_ids())

    def _person_ids(self) -> list[str]:
        ids = self.templates_table.search().select(["employee_id"]).limit(None).to_arrow()
        return sorted(set(ids.column(0).to_pylist()))

    def indexed(self) -> bool:
        return any(i.index_type.upper().startswith("IVF") for i in self.templates_table.list_indices())

    def _version(self) -> int:
        """The table's version, asked at most once a second (asking reads the manifest,
        ~ms); this process's own writes reset it at once."""
        now = time.monotonic()
        if self._seen is None or now - self._seen[0] > VERSION_CHECK_S:
            self._seen = (now, self.templates_table.version)
        return self._seen[1]

    @property
    def mode(self) -> str:
        """exact or ivf_hnsw_sq: the index exists only past index_from (checked once per
        table version, not per search)."""
        version = self._version()
        if self._mode is None or self._mode[0] != version:
            indexed = self.indexed() and self.count_templates() >= self.index_from
            self._mode = (version, "ivf_hnsw_sq" if indexed else "exact")
        return self._mode[1]

    # -- writes --------------------------------------------------------------------------
    def add(self, templates: list[Template], model: str, person: dict) -> list[str]:
        """Store templates (and their photos, once per sha256 and person); returns the ids."""
        if not templates:
            return []
        now = datetime.now(timezone.utc)
        extra = {k: v for k, v in person.items() if k not in PERSON_FIELDS}
        ids = [uuid.uuid4().hex for _ in templates]
        rows = pa.table({
            "template_id": ids,
            "employee_id": [t.employee_id for t in templates],
            "vector": pa.FixedSizeListArray.from_arrays(
                pa.array(np.concatenate([valid_vector(t.vector) for t in templates])), DIM),
            "det_score": [float(t.det_score) for t in templates],
            "face_pixels": pa.array([int(t.face_pixels) for t in templates], pa.int32()),
            "sharpness": [float(t.sharpness) for t in templates],
            "photo_sha256": [t.photo_sha256 for t in templates],
            "model": [model] * len(templates),
            "enrolled_at": pa.array([now] * len(templates), pa.timestamp("us", tz="UTC")),
            **{f: [None if person.get(f) is None else str(person[f])] * len(templates)
               for f in PERSON_FIELDS},
            "metadata": [json.dumps(extra, default=str, sort_keys=True)] * len(templates),
        }, schema=TEMPLATE_SCHEMA)
        with self._lock:
            photos = self._table(PHOTOS)
            digests = sorted({t.photo_sha256 for t in templates})
            stored = photos.search().where(
                "photo_sha256 IN (" + ", ".join(f"'{d}'" for d in digests) + ")"
            ).select(["photo_sha256", "employee_id"]).limit(None).to_arrow()
            seen = set(zip(stored.column(0).to_pylist(), stored.column(1).to_pylist()))
            fresh = []
            for t in templates:
                key = (t.photo_sha256, t.employee_id)
                if key not in seen:
                    seen.add(key)
                    fresh.append(t)
            if fresh:
                photos.add(pa.table({
                    "photo_sha256": [t.photo_sha256 for t in fresh],
                    "employee_id": [t.employee_id for t in fresh],
                    "format": [t.photo_format for t in fresh],
                    "content": [t.photo for t in fresh],
                    "added_at": pa.array([now] * len(fresh), pa.timestamp("us", tz="UTC")),
                }, schema=PHOTO_SCHEMA))
            self.templates_table.add(rows)
            self._seen = None
            self._maintain_index()
        return ids

    def _maintain_index(self) -> None:
        table = self.templates_table
        count = table.count_rows()
        if count < self.index_from:
            return
        if not self.indexed():
            self.build_index()
            self._seen = None
        else:
            # New rows are searched flat until folded into the index; fold them in batches.
            stats = table.index_stats(self._index_name())
            if stats is not None and stats.num_unindexed_rows > max(1000, count // 20):
                table.optimize()

    def _index_name(self) -> str:
        return next(i.name for i in self.templates_table.list_indices()
                    if i.index_type.upper().startswith("IVF"))

    def build_index(self) -> None:
        count = self.templates_table.count_rows()
        # Partitions of ~4,000 templates each: HNSW inside a partition keeps probes cheap.
        self.templates_table.create_index(
            metric="cosine", vector_column_name="vector", index_type=INDEX_TYPE,
            num_partitions=max(1, count // 4000), replace=True)

    # -- reads ---------------------------------------------------------------------------
    def _current_mirror(self) -> _Mirror:
        table = self.templates_table
        version = self._version()
        mirror = self._mirror
        if mirror is None or mirror.version != version:
            with self._lock:
                data = table.search().select(["employee_id", "vector"]).limit(None).to_arrow()
                ids = np.asarray(data.column("employee_id").to_pylist(), dtype=object)
                flat = data.column("vector").combine_chunks()
                vectors = flat.values.to_numpy(zero_copy_only=False).reshape(-1, DIM) \
                    if len(flat) else np.zeros((0, DIM), np.float32)
                mirror = self._mirror = _Mirror(version, ids.astype(str), vectors)
        return mirror

    def search(self, vector: np.ndarray, k: int = 2) -> list[tuple[str, float]]:
        """The k best people and each one's best template score (cosine), best first."""
        q = valid_vector(vector)
        if self.mode == "exact":
            mirror = self._current_mirror()
            if not len(mirror.people):
                return []
            scores = mirror.person_scores(q)
            top = np.argsort(-scores)[:k] if len(scores) <= 64 else \
                np.argpartition(-scores, min(k, len(scores) - 1))[:k]
            top = top[np.argsort(-scores[top])]
            return [(str(mirror.people[i]), float(scores[i])) for i in top]
        hits = (self.templates_table.search(q, vector_column_name="vector")
                .distance_type("cosine").nprobes(ANN_NPROBES).ef(ANN_EF).refine_factor(ANN_REFINE)
                .select(["employee_id", "_distance"]).limit(k * ANN_OVERFETCH).to_arrow())
        best: dict[str, float] = {}
        for person, dist in zip(hits.column("employee_id").to_pylist(),
                                hits.column("_distance").to_pylist()):
            best[person] = max(best.get(person, -1.0), 1.0 - dist)
        return sorted(best.items(), key=lambda kv: -kv[1])[:k]

    def vectors_of(self, employee_ids: list[str]) -> dict[str, np.ndarray]:
        """Each person's templates (rows x 512), for scoring a burst against candidates."""
        if not employee_ids:
            return {}
        if self.mode == "exact":
            mirror = self._current_mirror()
            return {p: mirror.matrix[mirror.ids == p] for p in employee_ids}
        where = "employee_id IN (" + ", ".join(f"'{p}'" for p in employee_ids) + ")"
        data = (self.templates_table.search().where(where).select(["employee_id", "vector"])
                .limit(None).to_arrow())
        ids = np.asarray(data.column("employee_id").to_pylist())
        vecs = data.column("vector").combine_chunks().values.to_numpy(zero_copy_only=False)
        vecs = vecs.reshape(-1, DIM)
        return {p: vecs[ids == p] for p in employee_ids}

    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(employee ids, templates) of the whole gallery, for calibration."""
        data = self.templates_table.search().select(["employee_id", "vector"]).limit(None).to_arrow()
        ids = np.asarray(data.column("employee_id").to_pylist(), dtype=str)
        flat = data.column("vector").combine_chunks()
        vecs = flat.values.to_numpy(zero_copy_only=False).reshape(-1, DIM) if len(flat) \
            else np.zeros((0, DIM), np.float32)
        return ids, vecs

    def templates(self, employee_id: str) -> list[dict]:
        data = (self.templates_table.search().where(ID_FILTER.format(employee_id)).limit(None)
                .to_arrow().to_pylist())
        data.sort(key=lambda r: (r["enrolled_at"], r["template_id"]))
        return data

    def people(self) -> list[dict]:
        """One row per person: id, metadata of the latest enrolment, template count."""
        data = (self.templates_table.search()
                .select(["employee_id", "enrolled_at", *PERSON_FIELDS, "metadata"])
                .limit(None).to_arrow().to_pylist())
        people: dict[str, dict] = {}
        for r in sorted(data, key=lambda r: r["enrolled_at"]):
            entry = people.setdefault(r["employee_id"], {"employee_id": r["employee_id"],
                                                         "templates": 0})
            entry.update({f: r[f] for f in PERSON_FIELDS},
                         metadata=json.loads(r["metadata"] or "{}"),
                         last_enrolled_at=r["enrolled_at"].isoformat())
            entry["templates"] += 1
        return [people[k] for k in sorted(people)]

    def photo(self, photo_sha256: str, employee_id: str) -> bytes | None:
        rows = (self._table(PHOTOS).search()
                .where(f"photo_sha256 = '{photo_sha256}' AND " + ID_FILTER.format(employee_id))
                .select(["content"]).limit(1).to_arrow())
        return rows.column("content")[0].as_py() if rows.num_rows else None

    # -- erasure -------------------------------------------------------------------------
    def erase(self, employee_id: str) -> list[dict]:
        """Rewrite both tables without the person, then drop every older version and any
        unreferenced file. The caller validated employee_id. One entry per table."""
        removed = []
        with self._lock:
            for name in (TEMPLATES, PHOTOS):
                table = self._table(name)
                where = ID_FILTER.format(employee_id)
                rows = table.count_rows(where)
                versions_before = len(table.list_versions())
                if rows:
                    keep = table.search().where(f"NOT ({where})").limit(None).to_arrow()
                    rebuild_index = name == TEMPLATES and self.indexed()
                    table.add(keep.cast(table.schema), mode="overwrite")
                    if rebuild_index and keep.num_rows >= self.index_from:
                        self.build_index()  # the old index held the person's vectors
                with warnings.catch_warnings():
                    # It warns that readers of older versions fail: erasure means exactly that.
                    warnings.simplefilter("ignore", UserWarning)
                    table.optimize(cleanup_older_than=timedelta(0), delete_unverified=True)
                removed.append({"store": "lancedb", "table": name, "rows": rows,
                                "versions_removed": max(0, versions_before + (1 if rows else 0)
                                                        - len(table.list_versions()))})
            self._mirror = None
            self._seen = None
        return removed

    def find(self, employee_id: str) -> list[dict]:
        """Rows of the person in every version of both tables (what erasure must leave at 0),
        and rows deleted but still held in data files of the latest version."""
        found = []
        for name in (TEMPLATES, PHOTOS):
            table = self.db.open_table(name) if name in self.db.table_names() else None
            if table is None:
                found.append({"store": "lancedb", "table": name, "versions_checked": 0, "rows": 0,
                              "versions_with_rows": [], "deleted_rows_in_files": 0})
                continue
            versions = table.list_versions()
            hits = {}
            for v in versions:
                table.checkout(v["version"])
                n = table.count_rows(ID_FILTER.format(employee_id))
                if n:
                    hits[v["version"]] = n
            table.checkout_latest()
            latest = versions[-1]["metadata"] if versions else {}
            found.append({"store": "lancedb", "table": name, "versions_checked": len(versions),
                          "rows": sum(hits.values()), "versions_with_rows": sorted(hits),
                          "deleted_rows_in_files": int(latest.get("total_deletion_file_rows", 0))})
        return found
