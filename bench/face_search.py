"""1:N face search at 1,000 / 10,000 / 100,000 enrolled people: exact and indexed.

Synthetic unit vectors (one template per person) in a real LanceDB gallery
(vision.face_gallery.FaceGallery); probes are enrolled templates with noise (cosine ~0.7 to
their template, like a new photo of an enrolled person). For each size: the gallery's exact
search (in-memory mirror, per-person best), the gallery's IVF_HNSW_SQ search (LanceDB), and
the floor, a numpy brute force (matrix @ probe, argmax) in the same process; p50 / p99 per
search and recall@1 against exact. Prints the size past which the index is worth it (exact
p99 over the 5 ms budget) and checks it against vision.face_gallery.INDEX_FROM.

    .venv/bin/python bench/face_search.py [--sizes 1000 10000 100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.timing import percentiles  # noqa: E402
from vision.face_gallery import DIM, INDEX_FROM, FaceGallery, Template  # noqa: E402

BUDGET_MS = 5.0



def timed(fn, probes) -> tuple[list, list[float]]:
    out, times = [], []
    for q in probes:
        t = time.perf_counter()
        out.append(fn(q))
        times.append(time.perf_counter() - t)
    return out, times


def run(size: int, queries: int, root: Path, rng) -> dict:
    vectors = rng.standard_normal((size, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    who = rng.choice(size, queries, replace=False)
    noise = rng.standard_normal((queries, DIM)).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    probes = 0.7 * vectors[who] + 0.714 * noise  # cosine ~0.7 to the enrolled template
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)

    uri = str(root / f"g{size}")
    exact = FaceGallery(uri, index_from=10**12)
    t = time.perf_counter()
    batch = 20_000
    for start in range(0, size, batch):
        exact.add([Template(f"P{i}", vectors[i], 0.8, 100, 100.0, f"s{i}", b"", "PNG")
                   for i in range(start, min(size, start + batch))], "bench", {})
    load_s = time.perf_counter() - t

    floor_out, floor_t = timed(lambda q: int(np.argmax(vectors @ q)), probes)
    exact.search(probes[0])  # builds the mirror once, outside the timing
    exact_out, exact_t = timed(lambda q: exact.search(q, 2), probes)
    t = time.perf_counter()
    exact.build_index()
    index_s = time.perf_counter() - t
    indexed = FaceGallery(uri, index_from=0)
    assert indexed.mode == "ivf_hnsw_sq"
    indexed.search(probes[0])
    ann_out, ann_t = timed(lambda q: indexed.search(q, 2), probes)

    truth = [o[0][0] for o in exact_out]
    assert truth == [f"P{i}" for i in floor_out], "exact search disagrees with brute force"
    return {"size": size, "load_s": load_s, "index_s": index_s,
            "floor": percentiles(floor_t), "exact": percentiles(exact_t), "ann": percentiles(ann_t),
            "recall_exact": float(np.mean([t == f"P{w}" for t, w in zip(truth, who)])),
            "recall_ann": float(np.mean([a[0][0] == t for a, t in zip(ann_out, truth)]))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            r = run(size, args.queries, Path(tmp), rng)
            rows.append(r)
            print(f"{size:>7,} people  (load {r['load_s']:.1f} s, index {r['index_s']:.1f} s)")
            for name in ("floor", "exact", "ann"):
                p50, p99 = r[name]
                label = {"floor": "numpy brute force (floor)", "exact": "gallery exact (mirror)",
                         "ann": "gallery IVF_HNSW_SQ"}[name]
                recall = {"floor": "", "exact": f"  recall@1 {r['recall_exact']:.3f} (vs truth)",
                          "ann": f"  recall@1 {r['recall_ann']:.3f} (vs exact)"}[name]
                ratio = f"  x{p99 / max(r['floor'][1], 1e-6):.1f} floor p99" if name != "floor" else ""
                print(f"    {label:<27} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms{ratio}{recall}",
                      flush=True)
    over = [r["size"] for r in rows if r["exact"][1] > BUDGET_MS]
    ann_ok = [r["size"] for r in rows if r["ann"][1] < r["exact"][1]]
    switch = next((s for s in over if s in ann_ok), None)
    print(f"\nexact p99 over {BUDGET_MS} ms from: {over[0] if over else 'none of the sizes'}; "
          f"the index is faster from: {ann_ok[0] if ann_ok else 'none of the sizes'}")
    print(f"gallery switch point (vision.face_gallery.INDEX_FROM): {INDEX_FROM:,} templates"
          + ("" if switch is None or rows[0]["size"] <= INDEX_FROM <= switch else
             f"  <- does not match the measurement ({switch:,})"))


if __name__ == "__main__":
    main()
