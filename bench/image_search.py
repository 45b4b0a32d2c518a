"""Room analysis and image search latency, each against its floor in the same process.

    python bench/image_search.py [--images 500] [--reads 200] [--warmup 20] [--no-real]

With the tiny open_clip model of the tests (built and trained here in a few seconds) and
then with the configured model (``clip_model``/``clip_pretrained`` or ``clip_checkpoint``
of the settings) where it loads; otherwise the reason it did not is printed. For each:

* room analysis (``RoomInspector.analyze``: embed, prompt ensembles, tags, status) against
  the bare image encoder forward pass on an already preprocessed tensor;
* search by image (``ImageIndex.search(image=...)``) against the bare LanceDB vector query
  with an already computed vector;
* hybrid search by text (CLIP text vector + full-text, fused) against the bare LanceDB
  vector query plus the bare full-text query.

The index holds ``--images`` rendered images (shapes and rooms, with descriptions) in a
temporary lake and LanceDB folder. Prints p50/p99 in ms and the ratios.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.timing import percentiles, timed  # noqa: E402
from base.settings import Settings  # noqa: E402
from lake.delta_tables import Lake  # noqa: E402
from tests.vision import tiny_clip  # noqa: E402
from vision.clip_models import ClipModel  # noqa: E402
from vision.image_index import ImageIndex  # noqa: E402
from vision.images import ImageLimits  # noqa: E402
from vision.room_inspection import RoomInspector  # noqa: E402

WORDS = ("wallet", "umbrella", "scarf", "phone charger", "passport holder", "sunglasses",
         "kettle", "hair dryer", "bathrobe", "slippers")
COLOURS = tuple(tiny_clip.COLOURS)




def report(label: str, samples: list[float], floor_label: str, floor: list[float]) -> None:
    a50, a99 = percentiles(samples)
    b50, b99 = percentiles(floor)
    print(f"  {label:<34} p50 {a50:8.2f} ms   p99 {a99:8.2f} ms")
    print(f"  {floor_label:<34} p50 {b50:8.2f} ms   p99 {b99:8.2f} ms")
    print(f"  {'ratio':<34} p50 {a50 / b50:8.1f} x    p99 {a99 / b99:8.1f} x")


def fill(index: ImageIndex, n: int) -> None:
    limits = ImageLimits()
    for i in range(n):
        if i % 2:
            data = tiny_clip.shape_png(COLOURS[i % len(COLOURS)], tiny_clip.SHAPES[i % 2], seed=i)
            meta = {"category": "lost_and_found", "hotel": f"H{i % 3}",
                    "description": f"{COLOURS[(i // 2) % len(COLOURS)]} {WORDS[i % len(WORDS)]}",
                    "tags": [WORDS[(i + 3) % len(WORDS)].replace(" ", "_")]}
        else:
            data = tiny_clip.room_png(i % 4 == 0, seed=i)
            meta = {"category": "room", "hotel": f"H{i % 3}", "room_number": str(100 + i),
                    "description": "room after checkout", "tags": []}
        index.index(limits.decode(data), meta, content=data)
    index.maintain()


def bench(label: str, clip: ClipModel, folder: Path, args) -> None:
    import torch

    print(f"\n{label}: {clip.identity} (dim {clip.dim}, loaded in {clip.load_seconds:.1f} s, "
          f"{torch.get_num_threads()} threads)")
    index = ImageIndex(str(folder / "vectors"), Lake(str(folder / "lake")), clip)
    t = time.perf_counter()
    fill(index, args.images)
    print(f"  indexed {args.images} images in {time.perf_counter() - t:.1f} s")
    limits = ImageLimits()
    room = limits.decode(tiny_clip.room_png(False, seed=10_001))
    query = limits.decode(tiny_clip.shape_png("red", "circle", seed=10_002))
    inspector = RoomInspector(clip, folder / "no_probe.npz")
    tensor = clip.preprocess(room.pil).unsqueeze(0)

    def forward():
        with torch.inference_mode():
            clip.model.encode_image(tensor, normalize=True)

    report("room analyze (zero-shot)", timed(lambda: inspector.analyze(room), args.reads,
                                             args.warmup),
           "bare image encoder forward", timed(forward, args.reads, args.warmup))

    table = index.db.open_table(index.name)
    vector = clip.encode_images([query])[0]

    def bare_vector():
        table.search(vector, vector_column_name="vector").distance_type("cosine").limit(10) \
            .select(["image_id", "_distance"]).to_list()

    def bare_both():
        bare_vector()
        table.search("leather wallet", query_type="fts", fts_columns="text").limit(50) \
            .select(["image_id", "_score"]).to_list()

    report("search by image (top 10)", timed(lambda: index.search(image=query, top_k=10),
                                             args.reads, args.warmup),
           "bare LanceDB vector query", timed(bare_vector, args.reads, args.warmup))
    report("hybrid search by text (top 10)",
           timed(lambda: index.search(text="leather wallet", top_k=10), args.reads, args.warmup),
           "bare vector + full-text queries", timed(bare_both, args.reads, args.warmup))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--no-real", action="store_true",
                        help="only the tiny model (the configured one may try a download)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="image_search_bench_") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        name, checkpoint = tiny_clip.build(tmp / "tiny", train_steps=120)
        print(f"tiny model built and trained in {time.perf_counter() - t:.1f} s")
        bench("tiny open_clip", ClipModel.load(name, None, checkpoint), tmp / "tiny_run", args)
        if args.no_real:
            return
        settings = Settings()  # the configured model (INNSIGHT_CLIP_*)
        real = ClipModel.from_settings(settings)
        if not real.loaded:
            print(f"\nconfigured model {real.identity} not benchmarked: {real.reason} "
                  f"(tried for {real.load_seconds:.0f} s)")
            return
        bench("configured open_clip", real, tmp / "real_run", args)


if __name__ == "__main__":
    main()
