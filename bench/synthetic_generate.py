"""Synthetic chain generator throughput, against the physical floor of writing its output.

What it measures, for a number of synthetic bookings (default 200,000, seed 1):

* Generator: ``lake.synthetic.generate_chain`` end to end (calibration from the bundled
  extract cached by a 1,000-booking warm-up run first, as in real use), wall time.
* Floor: the same files, already in memory as polars frames (read back from the
  generator's own output, types inferred), written again with polars alone
  (``write_csv`` / ``write_ndjson``) into a fresh folder: no randomness, no joins,
  just the bytes. No generator can be faster than this.

Both run in this process, one after the other, on the same disk, so the ratio
generator / floor says how much work the generator adds on top of writing its rows,
independent of the machine's speed. Each side is timed ``--repeat`` times; the best is kept.
With ``--max-ratio R`` the run exits 1 if the ratio is above R (a regression gate).

Run (from the repository root)::

    OMP_WAIT_POLICY=passive .venv/bin/python bench/synthetic_generate.py
    .venv/bin/python bench/synthetic_generate.py --bookings 1000000 --repeat 1 --max-ratio 8
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import polars as pl  # noqa: E402

from lake.synthetic import generate_chain  # noqa: E402


def output_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def load_frames(folder: Path) -> list[tuple[Path, pl.DataFrame]]:
    """The generator's output as polars frames (relative path, frame)."""
    frames = []
    for path in output_files(folder):
        if path.suffix == ".csv":
            frame = pl.read_csv(path, infer_schema_length=10_000)
        else:
            frame = pl.read_ndjson(path, infer_schema_length=10_000)
        frames.append((path.relative_to(folder), frame))
    return frames


def write_frames(frames: list[tuple[Path, pl.DataFrame]], out: Path) -> None:
    for relative, frame in frames:
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix == ".csv":
            frame.write_csv(target)
        else:
            frame.write_ndjson(target)


def best_of(repeat: int, run) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--max-ratio", type=float, default=None,
                        help="exit 1 when generator time / floor time is above this")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)

    work = Path(args.workdir or tempfile.mkdtemp(prefix="innsight-bench-synthetic-"))
    try:
        generate_chain(work / "warm", bookings=1_000, seed=args.seed)  # calibration cached

        chain = work / "chain"
        written: dict[str, int] = {}

        def generate() -> None:
            written.update(generate_chain(chain, bookings=args.bookings, seed=args.seed))

        generator_s = best_of(args.repeat, generate)
        assert written["bookings"] == args.bookings, written

        frames = load_frames(chain)
        rows = sum(f.height for _, f in frames)
        size = sum(p.stat().st_size for p in output_files(chain))
        assert rows == sum(written.values()), (rows, written)

        def floor() -> None:
            out = work / "floor"
            shutil.rmtree(out, ignore_errors=True)
            write_frames(frames, out)

        floor_s = best_of(args.repeat, floor)
        floor_size = sum(p.stat().st_size for p in output_files(work / "floor"))
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    ratio = generator_s / floor_s
    print(f"synthetic chain: {args.bookings:,} bookings, {rows:,} rows in {len(frames)} files, "
          f"{size / 1e6:.1f} MB (floor wrote {floor_size / 1e6:.1f} MB)")
    print(f"{'':<28}{'seconds':>10}{'bookings/s':>14}{'rows/s':>14}")
    for name, seconds in (("generate_chain", generator_s), ("floor: polars write only", floor_s)):
        print(f"{name:<28}{seconds:>10.2f}{args.bookings / seconds:>14,.0f}{rows / seconds:>14,.0f}")
    print(f"ratio generator / floor: {ratio:.2f}x"
          + (f" (gate {args.max_ratio:.2f}x)" if args.max_ratio is not None else ""))
    if args.max_ratio is not None and ratio > args.max_ratio:
        print(f"FAIL: the generator costs {ratio:.2f}x the floor, above {args.max_ratio:.2f}x")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
