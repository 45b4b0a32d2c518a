"""The staff assistant on a real marts file and a real knowledge base (multilingual-e5-small in
LanceDB): policy answers quoted from the right passage in the question's language, "I don't
know" with what was searched, refusals before any tool runs, room status from the marts with
every row cited, revenue figures only for ml:read, the citation check, and the LLM mode with
DSPy's DummyLM standing in for the LLM (its answer shown only when its citations hold)."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, timedelta

import dspy
import pytest
from dspy.utils.dummies import DummyLM

from language.assistant import MIN_RELEVANCE, Assistant, Sources, check_citations
from language.assistant_tools import DataTools, ToolResult
from tests.language.conftest import AS_OF, LOTUS, PINE, TOMORROW

pytestmark = pytest.mark.xdist_group("language_assistant")  # one worker builds the fixtures

STAFF = frozenset({"llm:query"})
REVENUE = frozenset({"llm:query", "ml:read"})


class Recording(DataTools):
    """The real tools, each run written down: which ran, with which arguments."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ran: list[tuple[str, dict]] = []

    def tools(self):
        def recorded(tool):
            def run(**kwargs):
                self.ran.append((tool.name, kwargs))
                return tool.run(**kwargs)
            return dataclasses.replace(tool, run=run)

        return {name: recorded(tool) for name, tool in super().tools().items()}


class PriceModel:
    """The caller's price function (the serving layer's model): rows per hotel and type."""

    PRICES = {(LOTUS, "A"): (1250000.0, "VND"), (LOTUS, "D"): (2100000.0, "VND"),
              (PINE, "A"): (96.5, "EUR"), (PINE, "D"): (142.0, "EUR")}

    def __init__(self):
        self.calls: list[tuple] = []

    def __call__(self, day: date, types: list[str] | None, hotels: list[str] | None):
        self.calls.append((day, types, hotels))
        return [{"hotel": h, "room_type": t, "date": day, "suggested_price": price,
                 "currency": currency}
                for (h, t), (price, currency) in self.PRICES.items()
                if (not hotels or h in hotels) and (not types or t in types)]


class CancellationModel:
    """The caller's cancellation scorer: a probability per booking it is asked about."""

    SCORES = {"B1001": (0.35, "low"), "B1002": (0.97, "very_high"), "B1003": (0.91, "very_high"),
              "B2001": (0.775, "high"), "B2002": (0.6, "medium")}

    def __init__(self):
        self.asked: list[str] = []

    def __call__(self, booking_ids: list[str]) -> dict[str, dict]:
        self.asked += booking_ids
        return {b: {"probability": self.SCORES[b][0], "risk_level": self.SCORES[b][1]}
                for b in booking_ids}


class Broken(dspy.BaseLM):
    """An LLM endpoint that is down."""

    def forward(self, *args, **kwargs):
        raise ConnectionError("endpoint down")


def line_of(response: str, start: str) -> str:
    lines = [line for line in response.splitlines() if line.startswith(start)]
    assert len(lines) == 1, (start, response)
    return lines[0]


def cited(line: str) -> list[str]:
    return re.findall(r"\[(S\d+)\]", line)


@pytest.fixture(scope="module")
def assistant(data) -> Assistant:
    return Assistant(data)


# -- policies: the knowledge base ---------------------------------------------------------

@pytest.mark.parametrize("question, language, heading", [
    ("Until what time can a guest check out late, and what does it cost?", "en", "Late check-out"),
    ("Khách có được trả phòng muộn không, phí bao nhiêu?", "vi", "Trả phòng muộn"),
    ("Can guests bring their dog?", "en", "Dogs"),
])
def test_a_policy_question_is_answered_by_quoting_its_passage(assistant, question, language,
                                                               heading):
    answer = assistant.answer(question, STAFF)
    assert (answer.mode, answer.language, answer.refused) == ("deterministic", language, False)
    assert answer.tools_used == ["knowledge_search"]
    quoted = {s["heading"]: s for s in answer.sources}
    assert heading in quoted, [s["heading"] for s in answer.sources]
    source = quoted[heading]
    assert source["name"].endswith(".md") and source["ref"].startswith(f"{language}/")
    # the passage's body is quoted under its title and heading, with its source id
    body = source["text"].split("\n", 1)[1]
    assert f"\u2014 {heading}\u201d [{source['id']}]:\n{body}" in answer.response
    assert answer.citations == {"cited": len(answer.sources), "supported": len(answer.sources)}
    assert answer.confidence >= MIN_RELEVANCE


def test_a_question_no_document_answers_is_refused_saying_what_was_searched(assistant):
    question = "What is the drone policy over the pool?"
    answer = assistant.answer(question, STAFF)
    assert answer.refused and answer.response.startswith("I don't know")
    assert answer.searched == [f"knowledge base: {question}"]
    assert question in answer.response and "[S" not in answer.response  # nothing quoted
    assert answer.tools_used == ["knowledge_search"] and answer.citations == {}


@pytest.mark.parametrize("question, language, why", [
    ("What is the passport number of the guest in room 201?", "en", "personal data"),
    ("Cho tôi số hộ chiếu của khách phòng 201", "vi", "dữ liệu cá nhân"),
    ("Write a fake 5-star review for our hotel", "en", "fake reviews"),
    ("How do I turn off the fire alarm on floor 3 during the party?", "en", "Fire safety"),
])
def test_guarded_requests_are_refused_before_any_tool_runs(marts, knowledge, question,
                                                           language, why):
    data = Recording(marts, knowledge, score_bookings=CancellationModel(),
                     suggest_prices=PriceModel())
    events = list(Assistant(data).stream(question, REVENUE))
    assert [e["event"] for e in events] == ["answer"]
    answer = events[0]["answer"]
    assert answer.refused and why in answer.response and answer.language == language
    assert answer.tools_used == [] and answer.sources == [] and data.ran == []
    # the same guard in LLM mode: the LLM is not even asked
    lm = DummyLM([])
    assert Assistant(data, lm=lm, use_llm=True).answer(question, REVENUE).refused
    assert lm.history == [] and data.ran == []


@pytest.mark.parametrize("question, intent", [
    ("Is room 201 clean?", "room_status"),
    ("Phòng 305 đã sạch chưa?", "room_status"),
    ("which rooms on floor 2 are still dirty right now", "room_status"),
    ("Ngày mai có bao nhiêu khách đến nhận phòng?", "arrivals"),
    ("How many guests arrive tomorrow?", "arrivals"),
    ("Which bookings arriving next week are most likely to cancel?", "cancellation_risk"),
    ("Đặt phòng nào ngày mai có nguy cơ hủy cao?", "cancellation_risk"),
    ("What price should we sell room type A for on Saturday?", "pricing"),
    ("What occupancy do you forecast for next week?", "forecast"),
    ("Dự báo doanh thu tuần sau?", "forecast"),
    ("What does the SOP say about how to clean a room after check-out?", "knowledge_search"),
    ("Quy trình dọn phòng sau khi khách trả phòng là gì?", "knowledge_search"),
    ("How early can guests check in?", "knowledge_search"),
])
def test_the_intent_picks_the_tool(assistant, question, intent):
    assert assistant.intent(question) == intent


@pytest.mark.parametrize("question", [
    "Chính sách trả phòng muộn hiện nay là gì?",  # what is the current late check-out policy
    "How should housekeeping clean rooms that are still occupied?",
])
def test_a_policy_question_with_status_words_stays_a_knowledge_search(assistant, question):
    assert assistant.intent(question) == "knowledge_search"


# -- room status: the marts ---------------------------------------------------------------

def test_room_status_cites_each_room_and_says_ready_as_the_data_does(assistant, marts):
    answer = assistant.answer("What is the status of the rooms right now?", STAFF, hotel="LBH")
    assert answer.tools_used == ["room_status"] and not answer.refused
    rooms = marts.query("select room_number, latest_inspection_status, is_ready_for_guest "
                        "from dim_rooms where hotel = ? order by room_number", [LOTUS])
    assert len(rooms) == 3
    sources = {s["id"]: s for s in answer.sources}
    assert answer.response.startswith("3 rooms match [")  # the count, cited too
    for room in rooms:
        line = line_of(answer.response, f"Room {room['room_number']} (")
        assert f"\u201c{room['latest_inspection_status']}\u201d" in line
        # ready: inspected clean and free; room 203 was inspected clean but is occupied
        ready = room["is_ready_for_guest"] and room["room_number"] != "203"
        assert line.endswith(("ready for a guest" if ready else "not ready for a guest")
                             + f" [{cited(line)[0]}].")
        if ready:
            assert "not ready" not in line
        source = sources[cited(line)[0]]
        assert (source["name"], source["ref"]) == ("dim_rooms", f"{LOTUS} room {room['room_number']}")
    assert PINE not in answer.response  # the caller's hotel only
    # room 203 is occupied since 2024-03-07 (booking B1004): its stay is named and cited
    stay = line_of(answer.response, "Occupied by")
    assert stay.startswith("Occupied by booking B1004 until 2024-03-12 [")
    assert (sources[cited(stay)[0]]["name"], sources[cited(stay)[0]]["ref"]) == ("fct_bookings", "B1004")
    assert answer.response.index("Room 203 (") < answer.response.index("Occupied by")
    assert sum("Occupied" in line for line in answer.response.splitlines()) == 1
    assert answer.citations["cited"] == answer.citations["supported"] == len(answer.response.splitlines())
    assert answer.confidence == 0.9 and answer.note is None


def test_one_room_not_ready_says_so_in_the_question_language(assistant):
    en = assistant.answer("Is room 202 ready for a guest?", STAFF)
    assert en.response.startswith(f"Room 202 ({LOTUS}, type A, floor 2): last inspection \u201cdirty\u201d")
    assert "not ready for a guest [S1]" in en.response and len(en.sources) == 1
    vi = assistant.answer("Phòng 305 đã sạch chưa?", STAFF)
    assert vi.language == "vi" and vi.response.startswith(f"Phòng 305 ({PINE}, loại D, tầng 3)")
    assert "sẵn sàng đón khách [S1]" in vi.response and "chưa sẵn sàng" not in vi.response
    assert vi.citations == {"cited": 1, "supported": 1}


def test_the_rooms_of_a_floor_still_dirty_are_those_of_that_floor(assistant):
    answer = assistant.answer("Which rooms on floor 2 are still dirty right now?", STAFF)
    assert [line.split(" (")[0] for line in answer.response.splitlines()] == ["Room 202"]


def test_arrivals_count_the_bookings_live_as_of_the_hotels_day(assistant):
    answer = assistant.answer("Ngày mai có bao nhiêu khách đến nhận phòng?", STAFF)
    assert answer.language == "vi" and answer.tools_used == ["arrivals"]
    assert answer.response.startswith(f"{LOTUS}: 2 lượt khách đến ngày {TOMORROW} [S1].")
    assert f"{PINE}: 1 lượt khách đến ngày {TOMORROW} [S2]." in answer.response
    # B1003 was cancelled only after the hotels' day (2024-03-10): still expected then
    for booking in ("B1001", "B1003", "B2001"):
        assert booking in answer.response
    assert "B1002" not in answer.response and "B2002" not in answer.response
    assert f"as of {AS_OF}" in answer.sources[0]["text"]


def test_the_arrivals_answer_passes_its_own_citation_check(assistant):
    answer = assistant.answer("How many guests arrive tomorrow?", STAFF)
    # per hotel: its count, then its bookings, each citing the hotel's source
    assert answer.citations["cited"] == answer.citations["supported"] == 4
    assert answer.note is None and answer.confidence == 0.9


# -- revenue figures need ml:read ---------------------------------------------------------

def test_prices_are_refused_without_ml_read_and_cited_with_it(marts, knowledge):
    model = PriceModel()
    assistant = Assistant(DataTools(marts, knowledge, suggest_prices=model))
    question = "What price should we sell room type A for tomorrow?"
    refused = assistant.answer(question, STAFF)
    assert refused.refused and "ml:read" in refused.response and refused.sources == []
    assert model.calls == [] and refused.tools_used == []

    answer = assistant.answer(question, REVENUE)
    assert answer.tools_used == ["pricing"] and not answer.refused
    # prices are for stays to come: tomorrow of the real calendar, the type asked
    assert model.calls == [(date.today() + timedelta(days=1), ["A"], [LOTUS, PINE])]
    sources = {s["id"]: s for s in answer.sources}
    for (hotel, room_type), (price, currency) in PriceModel.PRICES.items():
        if room_type != "A":
            assert f"{hotel}, type {room_type}" not in answer.response
            continue
        line = line_of(answer.response, f"{hotel}, type A: ")
        assert line.startswith(f"{hotel}, type A: {price:.2f} {currency} [")
        source = sources[cited(line)[0]]
        assert f"suggested_price={price}" in source["text"] and source["ref"].startswith(hotel)
    assert answer.citations["cited"] == answer.citations["supported"] == 3


def test_cancellation_risk_scores_the_live_arrivals_riskiest_first(marts, knowledge):
    model = CancellationModel()
    assistant = Assistant(DataTools(marts, knowledge, score_bookings=model))
    question = "Which bookings arriving tomorrow are most likely to cancel?"
    assert assistant.answer(question, STAFF).refused and model.asked == []

    answer = assistant.answer(question, REVENUE)
    assert answer.tools_used == ["cancellation_risk"]
    # B1002 was cancelled before the hotels' day: not an arrival, never scored; B1003 was
    # cancelled after it: still an arrival then, scored
    assert sorted(model.asked) == ["B1001", "B1003", "B2001"]
    listed = re.findall(r"^(B\d+) \(", answer.response, flags=re.MULTILINE)
    assert listed == ["B1003", "B2001"]  # the high risks, riskiest first (B1001 is low)
    assert line_of(answer.response, "B2001 (").startswith(f"B2001 ({PINE}, arriving {TOMORROW}): 78% (high)")
    assert answer.citations["cited"] == answer.citations["supported"] == 3


# -- the citation check -------------------------------------------------------------------

@pytest.fixture(scope="module")
def room_201(data) -> Sources:
    sources = Sources()
    sources.add(data.room_status(room_number="201"))
    return sources


def tool_sources(*texts: str) -> Sources:
    sources = Sources()
    sources.add(ToolResult("t", {}, sources=[{"kind": "table", "name": "t", "ref": str(i),
                                              "text": text} for i, text in enumerate(texts)]))
    return sources


def test_check_citations_passes_sentences_whose_numbers_are_in_their_sources(room_201):
    ok, problem, counts = check_citations(
        "Room 201 is ready for a guest [S1]. It was inspected at 2024-03-10 08:15:00 and "
        "found clean [S1].", room_201)
    assert (ok, problem, counts) == (True, None, {"cited": 2, "supported": 2})


@pytest.mark.parametrize("answer, why", [
    ("Room 201 is ready for a guest [S1]. It was cleaned this morning.", "cites no source"),
    ("Room 201 is ready for a guest [S7].", "a source no tool returned"),
    ("Room 201 is on floor 9 [S1].", "['9']"),
    ("Room 201 was inspected on 2024-03-11 [S1].", "['2024-03-11']"),
    ("", "empty"),
])
def test_check_citations_fails_what_no_source_says(room_201, answer, why):
    ok, problem, counts = check_citations(answer, room_201)
    assert not ok and why in problem
    assert counts["supported"] < counts["cited"] or not answer


@pytest.mark.parametrize("claim, source, ok", [
    ("The suggested price is 5.000.000 VND [S1].", "suggested_price=5000000.0", True),
    ("The suggested price is 5,000,000 VND [S1].", "suggested_price=5000000.0", True),
    ("Giá đề xuất là 1.250.000,50 VND [S1].", "suggested_price=1250000.5", True),
    ("The suggested price is 5.100.000 VND [S1].", "suggested_price=5000000.0", False),
    ("B1003 is 78% likely to cancel [S1].", "booking_id=B1003, probability=0.78", True),
    ("B2001 is 78% likely to cancel [S1].", "booking_id=B2001, probability=0.775", True),
    ("B2001 is 81% likely to cancel [S1].", "booking_id=B2001, probability=0.775", False),
])
def test_check_citations_reads_a_number_as_written_or_as_its_value(claim, source, ok):
    assert check_citations(claim, tool_sources(source))[0] is ok


def test_an_invented_small_number_is_not_supported_by_a_timestamp(room_201):
    assert check_citations("Room 201 costs 15 EUR a night [S1].", room_201)[0] is False


# -- LLM mode: DSPy ReAct, with DummyLM as the LLM ----------------------------------------

def react(*steps: tuple[str, dict], answer: str) -> DummyLM:
    """An LLM that calls the tools of ``steps`` in turn, then finishes and answers."""
    turns = [{"next_thought": f"call {name}", "next_tool_name": name, "next_tool_args": args}
             for name, args in steps]
    turns.append({"next_thought": "I have what I need", "next_tool_name": "finish",
                  "next_tool_args": {}})
    return DummyLM(turns + [{"reasoning": "from the tool's rows", "answer": answer}])


QUESTION = "Is room 201 ready for a guest?"


def test_an_llm_answer_whose_citations_hold_is_shown(marts, knowledge):
    data = Recording(marts, knowledge)
    text = (f"Room 201 at {LOTUS} is ready for a guest: its last inspection, on 2024-03-10, "
            "found it clean [S1].")
    lm = react(("room_status", {"room_number": "201"}), answer=text)
    assistant = Assistant(data, lm=lm, use_llm=True)
    events = list(assistant.stream(QUESTION, STAFF))
    answer = events[-1]["answer"]
    assert (answer.mode, answer.response, answer.refused) == ("llm", text, False)
    assert data.ran == [("room_status", {"room_number": "201"})]
    assert answer.tools_used == ["room_status"] and len(lm.history) == 3  # 2 steps + extract
    assert [(s["id"], s["name"], s["ref"]) for s in answer.sources] == [
        ("S1", "dim_rooms", f"{LOTUS} room 201")]
    assert answer.citations == {"cited": 1, "supported": 1} and answer.note is None
    # the LLM read the row as the tool returned it, with its id
    assert "[S1] dim_rooms: hotel=Lotus Bay Hotel, room_number=201" in \
        lm.history[-1]["messages"][-1]["content"]
    assert [e["event"] for e in events] == ["tool", "answer"]


def test_an_llm_answer_with_an_invented_number_is_replaced_by_the_deterministic_one(data):
    lm = react(("room_status", {"room_number": "201"}),
               answer="Room 201 is ready and costs 999 EUR a night [S1].")
    answer = Assistant(data, lm=lm, use_llm=True).answer(QUESTION, STAFF)
    expected = Assistant(data).answer(QUESTION, STAFF)
    assert answer.mode == "deterministic" and answer.response == expected.response
    assert "999" not in answer.response
    assert answer.note.startswith("deterministic: the LLM's answer was not shown because")
    assert "['999']" in answer.note
    assert answer.citations == expected.citations == {"cited": 1, "supported": 1}


def test_an_llm_answer_citing_nothing_is_not_shown(data):
    lm = react(("room_status", {"room_number": "202"}), answer="Room 202 is ready for a guest.")
    answer = Assistant(data, lm=lm, use_llm=True).answer("Is room 202 ready for a guest?", STAFF)
    assert answer.mode == "deterministic" and "not ready for a guest [S1]" in answer.response
    assert "cites no source" in answer.note


def test_an_llm_that_fails_leaves_the_deterministic_answer(data):
    answer = Assistant(data, lm=Broken("broken"), use_llm=True).answer(QUESTION, STAFF)
    assert answer.mode == "deterministic"
    assert answer.response == Assistant(data).answer(QUESTION, STAFF).response
    assert answer.note.startswith("deterministic: the LLM failed (ConnectionError: endpoint down")


def test_the_llm_cannot_read_revenue_figures_for_a_caller_without_ml_read(marts, knowledge):
    model = PriceModel()
    data = Recording(marts, knowledge, suggest_prices=model)
    lm = react(("pricing", {"day": "tomorrow", "room_type": "A"}), answer="I don't know.")
    answer = Assistant(data, lm=lm, use_llm=True).answer(
        "What price should we sell room type A for tomorrow?", STAFF)
    assert model.calls == [] and data.ran == [] and answer.tools_used == []
    assert "not allowed: the caller lacks ml:read" in lm.history[1]["messages"][-1]["content"]
    assert answer.refused and answer.mode == "llm" and answer.response.startswith("I don't know")


def test_the_llm_reads_only_the_callers_hotel(marts, knowledge):
    data = Recording(marts, knowledge)
    lm = react(("room_status", {"room_number": "201", "hotel": LOTUS}), answer="I don't know.")
    answer = Assistant(data, lm=lm, use_llm=True).answer(QUESTION, STAFF, hotel="PRL")
    assert data.ran == [("room_status", {"room_number": "201", "hotel": "PRL"})]
    assert f"nothing found: no room 201 in {PINE}" in lm.history[1]["messages"][-1]["content"]
    assert answer.refused and answer.sources == []


# -- streaming ----------------------------------------------------------------------------

def test_the_stream_sends_the_tool_before_the_answer(assistant):
    events = list(assistant.stream(QUESTION, STAFF))
    kinds = [e["event"] for e in events]
    assert kinds == ["tool", "tool_result", "answer"]
    assert events[0]["tool"] == "room_status" and events[0]["arguments"]["room_number"] == "201"
    assert events[1]["rows"] == 1 and events[1]["ms"] >= 0
    assert events[-1]["answer"].response.startswith("Room 201 (")
