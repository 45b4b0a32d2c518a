"""Guest-request routing on the held-out set (``language/routing/test.jsonl``, written before
the training set): accuracy and macro-F1 overall, per language and per class; the
structured fields' exact match; the share handed to a person; classify latency p50 / p99.
The floor is the majority class.

    .venv/bin/python bench/routing.py

Target (issue 12): macro-F1 >= 0.90.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sklearn.metrics import accuracy_score, classification_report, f1_score  # noqa: E402

from bench.timing import percentiles  # noqa: E402
from language.embedders import Embedder  # noqa: E402
from language.request_routing import RequestRouter, load  # noqa: E402

ROUTING = REPO / "language" / "routing"


def main() -> None:
    train, test = load(ROUTING / "train.jsonl"), load(ROUTING / "test.jsonl")
    t = time.perf_counter()
    router = RequestRouter.train(train, Embedder("multilingual-e5-small"))
    print(f"trained on {len(train)} messages in {time.perf_counter() - t:.1f} s; "
          f"tested on {len(test)} held-out messages")
    out, times = [], []
    for m in test:
        t = time.perf_counter()
        out.append(router.classify(m["text"]))
        times.append(time.perf_counter() - t)
    truth = [m["category"] for m in test]
    guess = [o["category"] for o in out]
    majority = Counter(m["category"] for m in train).most_common(1)[0][0]
    print(f"category: accuracy {accuracy_score(truth, guess):.3f}, macro-F1 "
          f"{f1_score(truth, guess, average='macro'):.3f} (majority class: accuracy "
          f"{accuracy_score(truth, [majority] * len(truth)):.3f})")
    for language in sorted({m["language"] for m in test}):
        rows = [i for i, m in enumerate(test) if m["language"] == language]
        t_, g_ = [truth[i] for i in rows], [guess[i] for i in rows]
        print(f"  {language:<6} n={len(rows):<4} accuracy {accuracy_score(t_, g_):.3f}  "
              f"macro-F1 {f1_score(t_, g_, average='macro'):.3f}")
    print(classification_report(truth, guess, digits=3, zero_division=0))
    print(f"priority accuracy {accuracy_score([m['priority'] for m in test], [o['priority'] for o in out]):.3f}")
    fields = ("type", "room_number", "items", "quantity", "urgency")
    exact = {f: sum(sorted(o["request"][f]) == sorted(m["request"][f]) if f == "items"
                    else o["request"][f] == m["request"][f] for o, m in zip(out, test)) / len(test)
             for f in fields}
    every = sum(all((sorted(o["request"][f]) == sorted(m["request"][f])) if f == "items"
                    else o["request"][f] == m["request"][f] for f in fields)
                for o, m in zip(out, test)) / len(test)
    print("structured fields, exact match: " + ", ".join(f"{f} {v:.3f}" for f, v in exact.items())
          + f"; all five {every:.3f}")
    handed = [o for o in out if o["needs_human"]]
    wrong_kept = sum(o["category"] != m["category"] and not o["needs_human"] for o, m in zip(out, test))
    print(f"handed to a person: {len(handed)}/{len(out)}; wrong and not handed over: {wrong_kept}")
    p50, p99 = percentiles(times)
    print(f"classify latency p50 {p50:.2f} ms  p99 {p99:.2f} ms")


if __name__ == "__main__":
    main()
