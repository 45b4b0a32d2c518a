"""The knowledge base on real documents: passages cut at headings, embedded with the real
multilingual embedder, stored in LanceDB and searched three ways; the repository's corpus
and evaluation set agree."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from base.settings import REPO_ROOT
from language.embedders import Embedder
from language import knowledge_base
from language.knowledge_base import KnowledgeBase, Passage, digest, lines, passages

CORPUS = REPO_ROOT / "language" / "knowledge"

EN = """# Check-in and check-out

Front office rules for arrivals and departures.

## Check-in time
Rooms are ready from 14:00. Early check-in from 10:00 costs 30% of the nightly rate.

## Late check-out
Guests may keep the room until 18:00 for half the nightly rate; after 18:00 a full night
is charged.
"""
VI = """# Nhận phòng và trả phòng

## Giờ nhận phòng
Phòng sẵn sàng từ 14:00. Nhận phòng sớm từ 10:00 tính phí 30% giá một đêm.

## Trả phòng muộn
Khách có thể giữ phòng đến 18:00 với nửa giá một đêm; sau 18:00 tính thêm một đêm.
"""
PETS_VI = """# Thú cưng

## Chó và mèo
Khách sạn nghỉ dưỡng nhận chó nhỏ dưới 10 kg với phí 20 EUR mỗi đêm; không nhận mèo.
"""
PETS = """# Pets

## Dogs and cats
Small dogs up to 10 kg are welcome in resort hotels for 20 EUR a night; cats are not.
"""


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder("multilingual-e5-small")


def write(folder: Path, extra: dict[str, str] | None = None) -> Path:
    for path, text in {"en/check-in.md": EN, "vi/check-in.md": VI, "en/pets.md": PETS,
                       "vi/pets.md": PETS_VI,
                       **(extra or {})}.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text, encoding="utf-8")
    return folder


def test_passages_are_cut_at_headings_and_keep_them(tmp_path):
    found = passages(write(tmp_path / "docs"))
    headings = {(p.language, p.file, p.heading) for p in found}
    assert ("en", "check-in.md", "Late check-out") in headings
    assert ("vi", "check-in.md", "Trả phòng muộn") in headings
    assert ("en", "check-in.md", "") in headings  # the intro before the first heading
    late = next(p for p in found if p.heading == "Late check-out")
    assert late.text.startswith("Check-in and check-out — Late check-out\n")
    assert len({p.passage_id for p in found}) == len(found)


def test_search_finds_the_passage_across_languages_and_without_accents(tmp_path, embedder):
    kb = KnowledgeBase(str(tmp_path / "vectors"), embedder)
    built = kb.rebuild(write(tmp_path / "docs"))
    assert built["passages"] == 7 and built["languages"] == ["en", "vi"]
    assert built["lines"] == 7  # one paragraph each (a wrapped one is one line)

    def top(query, mode, language=None):
        hit = kb.search(query, top_k=1, mode=mode, language=language)[0]
        return hit["language"], hit["heading"]

    # a Vietnamese question finds the English passage, and the other way round
    assert top("Tôi có được mang chó theo không?", "vector", "en") == ("en", "Dogs and cats")
    assert top("can I bring my dog", "hybrid", "vi") == ("vi", "Chó và mèo")
    # typed without diacritics: the full-text index folds accents
    assert top("tra phong muon", "text") == ("vi", "Trả phòng muộn")
    assert top("can I bring my dog", "hybrid")[1] == "Dogs and cats"
    with pytest.raises(ValueError, match="mode"):
        kb.search("dog", mode="fuzzy")


def test_the_digest_says_when_a_document_changed(tmp_path, embedder):
    folder = write(tmp_path / "docs")
    kb = KnowledgeBase(str(tmp_path / "vectors"), embedder)
    assert kb.status()["built"] is False and "knowledge_base" in kb.status()["reason"]
    kb.rebuild(folder)
    assert kb.status()["digest"] == digest(folder)
    (folder / "en" / "pets.md").write_text(PETS.replace("20 EUR", "25 EUR"), encoding="utf-8")
    assert digest(folder) != kb.status()["digest"]
    kb.rebuild(folder)
    assert "25 EUR" in kb.search("dogs", top_k=1, mode="text")[0]["text"]


def test_the_evaluation_set_points_at_passages_of_the_corpus():
    """Every expected passage of retrieval.yaml is a heading of a document in its language."""
    headings = {(p.language, p.file, p.heading) for p in passages(CORPUS)}
    items = yaml.safe_load((CORPUS / "eval" / "retrieval.yaml").read_text(encoding="utf-8"))
    assert len(items) >= 90
    missing = [item["question"] for item in items if item.get("expected") and (
        item.get("answer_language", item["language"]), item["expected"]["file"],
        item["expected"]["heading"]) not in headings]
    assert missing == []
    en = {p.file for p in passages(CORPUS) if p.language == "en"}
    assert en == {p.file for p in passages(CORPUS) if p.language == "vi"}  # same topics


INVOICES = """# Invoices

## Vietnam: VAT invoice (hóa đơn đỏ)
- A company VAT invoice (hóa đơn GTGT) is issued on request at check-out with the company's
  tax code.

## Currencies
- Bills are paid in the local currency; cards are accepted.
"""


def test_a_passage_is_also_embedded_line_by_line():
    """List items (with their wrapped lines) and paragraphs are the lines, each under the
    passage's title and heading."""
    passage = Passage("en/x.md#0", "en", "x.md", "Invoices", "Rules",
                      "Invoices — Rules\n- First rule,\n  wrapped.\n- Second rule.\n\nA paragraph\n"
                      "on two lines.\n1. Numbered")
    assert lines(passage) == ["Invoices — Rules\n- First rule, wrapped.",
                              "Invoices — Rules\n- Second rule.",
                              "Invoices — Rules\nA paragraph on two lines.",
                              "Invoices — Rules\n1. Numbered"]


def test_the_language_of_a_passage_does_not_draw_questions_of_that_language(
        tmp_path, embedder, monkeypatch):
    """An English heading with Vietnamese words in it drew a Vietnamese question about paying
    in dollars; with each language's mean taken off, the passage on currencies comes first."""
    folder = write(tmp_path / "docs", {"en/invoices.md": INVOICES})

    def order(centring):
        monkeypatch.setattr(knowledge_base, "CENTRING", centring)
        kb = KnowledgeBase(str(tmp_path / f"vectors-{centring}"), embedder)
        assert kb.rebuild(folder)["lines"] == 9
        hits = kb.search("Khách trả bằng đô la được không?", top_k=7, mode="vector",
                         language="en")
        return [h["heading"] for h in hits]

    chosen = knowledge_base.CENTRING
    plain, centred = order(0.0), order(chosen)
    assert plain.index("Vietnam: VAT invoice (hóa đơn đỏ)") < plain.index("Currencies")
    assert centred.index("Currencies") < centred.index("Vietnam: VAT invoice (hóa đơn đỏ)")


def test_scores_vector_is_the_cosine_and_hybrid_is_fused(tmp_path, embedder):
    kb = KnowledgeBase(str(tmp_path / "vectors"), embedder)
    kb.rebuild(write(tmp_path / "docs"))
    query = "How late can I keep my room?"
    [hit] = kb.search(query, top_k=1, mode="vector", language="en")
    assert hit["heading"] == "Late check-out"
    # the uncentred cosine of query and passage: the closeness the assistant thresholds
    cosine = float(embedder.queries([query])[0] @ embedder.passages([hit["text"]])[0])
    assert hit["score"] == pytest.approx(cosine, abs=1e-4)
    hybrid = kb.search(query, top_k=3, mode="hybrid", language="en")
    assert hybrid[0]["heading"] == "Late check-out"
    assert [h["score"] for h in hybrid] == sorted((h["score"] for h in hybrid), reverse=True)
    assert all(0.0 <= h["score"] <= 1.0 for h in hybrid)
    assert {h["language"] for h in kb.search(query, top_k=7, mode="hybrid")} == {"en", "vi"}
