"""Guest-request routing on the held-out set (``language/routing/test.jsonl``, written before
the training set): accuracy and macro-F1 overall, per language and per class; the
structured fields' exact match; the share handed to a person; classify latency p50 / p99.
The floor is the majority class.

    .venv/bin/python bench/routing.py
    .venv/bin/python bench/routing.py --cv   # and 5-fold cross-validation on train.jsonl

Target (issue 12): macro-F1 >= 0.90. The model's knobs (``EMBEDDING_WEIGHT``, ``C``) are
chosen by ``--cv`` on the training set only, never on the held-out set.
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
import language.request_routing as routing  # noqa: E402
from language.request_routing import CATEGORIES, RequestRouter, load  # noqa: E402

ROUTING = REPO / "language" / "routing"


class _Remembered:
    """An embedder's query vectors of known texts, computed once for all the folds."""

    def __init__(self, embedder: Embedder, texts: list[str]):
        self.vectors = dict(zip(texts, embedder.queries(texts)))

    def queries(self, texts):
        import numpy as np

        return np.stack([self.vectors[t] for t in texts])


def cross_validate(messages: list[dict], embedder, folds: int = 5, seed: int = 0) -> list[str]:
    """The category each message gets from a router trained on the other folds."""
    from sklearn.model_selection import StratifiedKFold

    labels = [m["category"] for m in messages]
    guess = [""] * len(messages)
    split = StratifiedKFold(folds, shuffle=True, random_state=seed).split(messages, labels)
    for fit, held in split:
        router = RequestRouter.train([messages[i] for i in fit], embedder)
        for i in held:
            guess[i] = router.classify(messages[i]["text"])["category"]
    return guess


def report_cv(train: list[dict]) -> None:
    embedder = _Remembered(Embedder("multilingual-e5-small"), [m["text"] for m in train])
    truth = [m["category"] for m in train]
    chosen = routing.EMBEDDING_WEIGHT
    print(f"5-fold cross-validation on the {len(train)} training messages (C {routing.C}):")
    for weight in sorted({1.0, 2.0, 3.0, chosen}):
        routing.EMBEDDING_WEIGHT = weight
        guess = cross_validate(train, embedder)
        cells = []
        for language in sorted({m["language"] for m in train}):
            rows = [i for i, m in enumerate(train) if m["language"] == language]
            f1 = f1_score([truth[i] for i in rows], [guess[i] for i in rows], average="macro")
            cells.append(f"{language} {f1:.3f}")
        mark = " (chosen)" if weight == chosen else ""
        print(f"  embedding weight {weight:g}{mark}: macro-F1 "
              f"{f1_score(truth, guess, average='macro'):.3f}  {'  '.join(cells)}")
        if weight == chosen:
            per_class = f1_score(truth, guess, average=None, labels=list(CATEGORIES))
            print("    per class: "
                  + ", ".join(f"{c} {v:.2f}" for c, v in zip(CATEGORIES, per_class)))
    routing.EMBEDDING_WEIGHT = chosen


def main() -> None:
    train, test = load(ROUTING / "train.jsonl"), load(ROUTING / "test.jsonl")
    if "--cv" in sys.argv[1:]:
        report_cv(train)
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
