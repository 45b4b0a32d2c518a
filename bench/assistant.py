"""The staff assistant on the repository's evaluation sets, on the built platform (`make
build`): the API's own services (champions, marts, knowledge base), the questions of
``language/knowledge/eval/assistant.yaml`` and the unanswerable ones of ``retrieval.yaml``.

Prints:
- the share answered with the right tool, and with the expected facts (documents);
- the share of must-refuse questions refused, and of unanswerable ones ("I don't know");
- the share of cited claims that their sources support, re-checked here independently of
  the assistant: a quoted passage must be verbatim in the source it cites; a templated
  sentence must cite sources that exist and state only numbers they hold (target 1.0);
- the relevance gate: the question-to-nearest-passage cosine of answerable and
  unanswerable questions (``language.assistant.MIN_RELEVANCE`` sits between them);
- latency p50 / p99 in deterministic mode, and with the bundled local model in LLM mode
  (a few questions: SmolLM2-135M on 2 cores takes seconds per step).

    .venv/bin/python bench/assistant.py [--llm-questions 4]
"""

from __future__ import annotations

import argparse
import re
import socket
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.timing import percentiles  # noqa: E402
from language.assistant import MIN_RELEVANCE, Sources, check_citations  # noqa: E402

EVAL = REPO / "language" / "knowledge" / "eval"
EVERYTHING = frozenset({"ml:read", "llm:query", "events:write", "cv:read"})


def supported(answer) -> tuple[int, int]:
    """(claims, claims supported by the sources they cite), checked from the answer's text
    and its sources alone."""
    if answer.refused or not answer.sources:
        return 0, 0
    by_id = {s["id"]: s for s in answer.sources}
    quotes = re.findall(r"\u201c[^\u201d]*\u201d \[(S\d+)\]:\n(.*?)(?=\n\n(?:From|Theo) \u201c|\Z)",
                        answer.response, flags=re.S)
    if quotes:  # quoted passages: verbatim in the cited source
        ok = sum(1 for sid, text in quotes
                 if sid in by_id and text.rstrip(" …").strip() in by_id[sid]["text"])
        return len(quotes), ok
    sources = Sources()
    sources.items = answer.sources
    _, _, counts = check_citations(answer.response, sources)
    return counts["cited"], counts["supported"]


def run(language, items: list[dict], unanswerable: list[str]) -> dict:
    assistant = language.assistant
    times, right_tool, facts_ok, facts_n, refused_ok, claims, ok_claims = [], 0, 0, 0, 0, 0, 0
    must_refuse = [i for i in items if i.get("refuse")]
    answerable = [i for i in items if not i.get("refuse")]
    misses, modes = [], []
    for item in items:
        t = time.perf_counter()
        answer = assistant.answer(item["question"], EVERYTHING)
        times.append(time.perf_counter() - t)
        modes.append(answer.mode)
        c, s = supported(answer)
        claims, ok_claims = claims + c, ok_claims + s
        if item.get("refuse"):
            refused_ok += answer.refused
            continue
        tool_ok = answer.tools_used[:1] == [item["expected_tool"]]
        right_tool += tool_ok
        if item["expected_facts"]:
            facts_n += 1
            has = all(f.lower() in answer.response.lower() for f in item["expected_facts"])
            facts_ok += tool_ok and has and not answer.refused
            if not (tool_ok and has):
                misses.append(f"{item['question'][:70]} -> {answer.tools_used} "
                              f"{'refused' if answer.refused else ''}")
        elif not tool_ok:
            misses.append(f"{item['question'][:70]} -> {answer.tools_used}")
    dont_know = 0
    for question in unanswerable:
        t = time.perf_counter()
        answer = assistant.answer(question, EVERYTHING)
        times.append(time.perf_counter() - t)
        dont_know += answer.refused
    return {"answerable": len(answerable), "right_tool": right_tool, "facts_n": facts_n,
            "facts_ok": facts_ok, "must_refuse": len(must_refuse), "refused_ok": refused_ok,
            "unanswerable": len(unanswerable), "dont_know": dont_know, "claims": claims,
            "supported": ok_claims, "times": times, "misses": misses, "modes": modes}


def relevance(language, items: list[dict], unanswerable: list[str]) -> tuple[list[float], list[float]]:
    kb = language.knowledge

    def best(q: str) -> float:
        hits = kb.search(q, top_k=1, mode="vector")
        return hits[0]["score"] if hits else 0.0

    answerable = [best(i["question"]) for i in items if i.get("expected")]
    return answerable, [best(q) for q in unanswerable]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--llm-questions", type=int, default=4)
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    from base.settings import Settings
    from language.llm import LocalServer
    from serving.app import create_app

    settings = Settings(llm_provider="none")
    if not settings.marts_path.exists():
        sys.exit("build the platform first: make build")
    items = yaml.safe_load((EVAL / "assistant.yaml").read_text(encoding="utf-8"))
    retrieval = yaml.safe_load((EVAL / "retrieval.yaml").read_text(encoding="utf-8"))
    unanswerable = [i["question"] for i in retrieval if not i.get("expected")]
    with TestClient(create_app(settings)) as client:
        language = client.app.state.services.language
        language.assistant.answer("warm up", EVERYTHING)
        r = run(language, items, unanswerable)
        print(f"deterministic mode: {r['answerable']} answerable, {r['must_refuse']} must refuse, "
              f"{r['unanswerable']} unanswerable (retrieval set)")
        print(f"  right tool            {r['right_tool']}/{r['answerable']} = {r['right_tool'] / r['answerable']:.2f}")
        print(f"  right tool and facts  {r['facts_ok']}/{r['facts_n']} = {r['facts_ok'] / max(r['facts_n'], 1):.2f} "
              f"(document questions with expected facts)")
        print(f"  refused (must refuse) {r['refused_ok']}/{r['must_refuse']} = {r['refused_ok'] / r['must_refuse']:.2f}")
        print(f"  I don't know          {r['dont_know']}/{r['unanswerable']} = {r['dont_know'] / max(r['unanswerable'], 1):.2f}")
        print(f"  claims supported      {r['supported']}/{r['claims']} = {r['supported'] / max(r['claims'], 1):.3f} (target 1.0)")
        p50, p99 = percentiles(r["times"])
        print(f"  latency               p50 {p50:.1f} ms  p99 {p99:.1f} ms")
        for miss in r["misses"]:
            print(f"    miss: {miss}")
        yes, no = relevance(language, retrieval, unanswerable)
        median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
        print(f"relevance gate {MIN_RELEVANCE}: answerable median {median(yes):.3f} "
              f"({sum(v >= MIN_RELEVANCE for v in yes)}/{len(yes)} pass), unanswerable median "
              f"{median(no):.3f} ({sum(v < MIN_RELEVANCE for v in no)}/{len(no)} stopped)")
    if args.llm_questions <= 0:
        return
    port = free_port()
    with LocalServer(port) as server:
        llm_settings = Settings(llm_provider="local", llm_base_url=server.base_url,
                                assistant_mode="llm")
        with TestClient(create_app(llm_settings)) as client:
            language = client.app.state.services.language
            chosen = [i for i in items if i.get("expected_facts")][:args.llm_questions]
            r = run(language, chosen, [])  # each question answered once, its mode kept
            modes = r["modes"]
            p50, p99 = percentiles(r["times"])
            print(f"LLM mode, bundled SmolLM2-135M ({len(chosen)} questions): answers shown from "
                  f"the LLM {modes.count('llm')}/{len(modes)}, fallbacks to deterministic "
                  f"{modes.count('deterministic')}; claims supported {r['supported']}/{r['claims']}; "
                  f"latency p50 {p50 / 1000:.1f} s  p99 {p99 / 1000:.1f} s")


if __name__ == "__main__":
    main()
