"""Knowledge-base retrieval on the repository's evaluation set
(``language/knowledge/eval/retrieval.yaml``): recall@5 and MRR of hybrid, vector-only and
full-text-only search, per query language and for cross-language pairs, for each embedder;
and search latency p50 / p99 per mode (full-text alone is the floor: vector and hybrid add
the query's embedding and the fusion to it).

The questions are split in two halves, every other question of each group (en, vi, en->vi,
vi->en, unanswerable) in file order: the knowledge base's knobs (``CENTRING``,
``SECTION_WEIGHT``, ``TEXT_WEIGHT`` in ``language/knowledge_base.py``) were chosen on the
``dev`` half; the ``test`` half is the held-out figure; ``all`` is both.

    .venv/bin/python bench/retrieval.py

Targets (issue 12): recall@5 >= 0.90 overall and >= 0.85 cross-language.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.timing import percentiles  # noqa: E402
from language.embedders import EMBEDDERS, Embedder  # noqa: E402
from language.knowledge_base import MODES, KnowledgeBase  # noqa: E402

KNOWLEDGE = REPO / "language" / "knowledge"
K = 5


def load_eval() -> list[dict]:
    return yaml.safe_load((KNOWLEDGE / "eval" / "retrieval.yaml").read_text(encoding="utf-8"))


def group(item: dict) -> str:
    asked, answered = item["language"], item.get("answer_language", item["language"])
    return f"{asked}->{answered}" if asked != answered else asked


def split(items: list[dict]) -> dict[str, list[dict]]:
    """{dev, test, all}: every other question of each group, in file order, to dev."""
    seen: dict[str, int] = defaultdict(int)
    halves: dict[str, list[dict]] = {"dev": [], "test": [], "all": list(items)}
    for item in items:
        g = group(item) if item.get("expected") else "unanswerable"
        halves["dev" if seen[g] % 2 == 0 else "test"].append(item)
        seen[g] += 1
    return halves


def rank(hits: list[dict], item: dict) -> int | None:
    want, language = item["expected"], item.get("answer_language", item["language"])
    for i, h in enumerate(hits, 1):
        if h["file"] == want["file"] and h["heading"] == want["heading"] and h["language"] == language:
            return i
    return None


def evaluate(kb: KnowledgeBase, items: list[dict], mode: str) -> tuple[dict, list[float]]:
    """{group: (recall@K, MRR, n)} and the search times of the answerable ``items``."""
    found: dict[str, list[int | None]] = defaultdict(list)
    times = []
    for item in items:
        if not item.get("expected"):
            continue
        t = time.perf_counter()
        # in the answer's language only: a cross-language pair stands for a hotel whose
        # documents exist in one language (with both, the question's own would answer)
        hits = kb.search(item["question"], top_k=K, mode=mode,
                         language=item.get("answer_language", item["language"]))
        times.append(time.perf_counter() - t)
        r = rank(hits, item)
        found[group(item)].append(r)
        found["all"].append(r)
        if item["language"] != item.get("answer_language", item["language"]):
            found["cross-language"].append(r)
    return {g: (sum(r is not None for r in rs) / len(rs),
                sum(1 / r for r in rs if r) / len(rs), len(rs))
            for g, rs in found.items()}, times


def main() -> None:
    items = load_eval()
    halves = split(items)
    print(f"{len(items)} questions ({sum(1 for i in items if not i.get('expected'))} unanswerable, "
          f"left out of recall; dev {len(halves['dev'])}, test {len(halves['test'])}); "
          f"recall@{K} / MRR per group")
    for name in EMBEDDERS:
        with tempfile.TemporaryDirectory() as root:
            kb = KnowledgeBase(root, Embedder(name))
            t = time.perf_counter()
            built = kb.rebuild(KNOWLEDGE)
            print(f"\n{name}: {built['passages']} passages of {built['documents']} documents "
                  f"embedded in {time.perf_counter() - t:.1f} s")
            for mode in MODES:
                scores, times = evaluate(kb, items, mode)
                by_half = {h: evaluate(kb, halves[h], mode)[0] for h in ("dev", "test")}
                p50, p99 = percentiles(times)
                print(f"  {mode}")
                for half, s in (*by_half.items(), ("all", scores)):
                    cells = "  ".join(f"{g} {r:.2f}/{m:.2f} (n={n})" for g, (r, m, n) in sorted(s.items()))
                    print(f"    {half:<4} {cells}")
                print(f"    search p50 {p50:.1f} ms  p99 {p99:.1f} ms")


if __name__ == "__main__":
    main()
