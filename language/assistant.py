"""The staff assistant: a question in Vietnamese or English -> an answer with its sources
(the passages or the rows a tool read), the tools used and a confidence; or a refusal that
says what was searched. Nothing is invented: every answer is built from, or checked
against, what the tools returned.

Two modes, the answer says which:

- ``llm``: a DSPy ReAct program over the tools (``language.assistant_tools``) on a capable
  LLM. Its answer must cite the tool results it rests on as [S1], [S2]...; the citations
  are checked in code (each cited source exists, every sentence cites one, every number in
  a sentence appears in a source it cites). An answer that fails the check is not shown:
  the deterministic answer is, with the reason.
- ``deterministic``: with the bundled SmolLM2 (English-only, 135M) or no LLM. The question's
  intent picks one tool (rules on the accent-folded text), the answer is a template filled
  with the tool's rows, or the best passages quoted with their source; a question no
  passage is close enough to is answered "I don't know", with what was searched.

Roles: a tool that reads revenue figures (prices, forecasts, scores) needs ``ml:read``; a
caller without it is told so, not given the numbers. Requests for guests' personal data,
fake reviews, disabling safety systems or false invoices are refused before any tool runs.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Iterator

from language.assistant_tools import DataTools, Tool, ToolResult
from language.knowledge_base import query_language
from language.request_routing import fold

# Cosine similarity (multilingual-e5-small) of a question to its best passage below which
# no passage answers it: between the evaluation set's unanswerable questions (median 0.80)
# and its answerable ones (median 0.86); bench/assistant.py prints both shares.
MIN_RELEVANCE = 0.83
QUOTE_CHARS = 600
MAX_ITERS = 4

# (pattern on folded text, reason): refused before any tool runs
GUARDS = (
    (r"passport (?:number|no)|so ho chieu|credit card|card number|so the(?: tin dung)?\b|cvv"
     r"|home address|dia chi nha|phone number of (?:the|a) guest|so dien thoai cua khach",
     {"en": "I can't give out guests' personal data (documents, cards, addresses, phone "
            "numbers). Authorised staff see it in the PMS.",
      "vi": "Tôi không thể cung cấp dữ liệu cá nhân của khách (giấy tờ, thẻ, địa chỉ, số điện "
            "thoại). Nhân viên được phân quyền xem trong PMS."}),
    (r"fake (?:\d[- ]star )?review|review gia|danh gia (?:gia|ao)",
     {"en": "I can't write fake reviews: it misleads guests and breaks platform rules and "
            "consumer law.",
      "vi": "Tôi không thể viết đánh giá giả: điều đó lừa dối khách và vi phạm quy định."}),
    (r"(?:turn off|disable|switch off|silence|deactivate|tat)\b.{0,40}"
     r"(?:fire alarm|smoke (?:detector|alarm)|sprinkler|bao chay|bao khoi)",
     {"en": "Fire safety systems are never switched off by staff; drills are announced to "
            "guests instead (see the safety and emergencies SOP).",
      "vi": "Nhân viên không bao giờ được tắt hệ thống báo cháy; diễn tập được thông báo trước "
            "cho khách (xem quy trình an toàn và khẩn cấp)."}),
    (r"hoa don (?:do )?khong\b|fake invoice|false invoice|invoice for a stay (?:that|which) "
     r"(?:did not|didn't) happen",
     {"en": "I can't help issue an invoice for a sale that did not happen: it is tax fraud.",
      "vi": "Tôi không thể hỗ trợ xuất hóa đơn khống: đó là hành vi gian lận thuế."}),
)

ROOM_NUMBER = re.compile(r"(?:\broom|\bphong|\bp\.?|#)\s*(\d{2,5})\b")
# English words on the folded text; Vietnamese on the accented text, as folding merges
# words ("sạch" clean, "sách" in "chính sách" policy; "bẩn" dirty, "bán" sell)
STATUS_WORDS = (r"\b(?:clean|dirty|ready|inspected|vacant|occupied|status)\b",
                r"sạch|bẩn|sẵn sàng|trống|dọn|trạng thái")
NOW_WORDS = (r"right now|currently|\bstill\b|\bnow\b", r"hiện (?:tại|giờ|đang|còn)|\bcòn\b|\bđang\b")
PROCEDURE = (r"\bhow (?:should|do|to|long|many minutes)\b|policy|procedure|\bsop\b|standard",
             r"quy trình|chính sách|quy định|như thế nào|làm sao|tiêu chuẩn")


def _has(words: tuple[str, str], folded: str, lower: str) -> bool:
    return bool(re.search(words[0], folded) or re.search(words[1], lower))


INTENTS = (
    ("cancellation_risk", lambda t, raw: re.search(r"cancel|\bhuy\b|no.?show", t)
     and re.search(r"likely|risk|nguy co|kha nang|probab|which|nao", t)
     and re.search(r"booking|arriv|dat phong|khach|reservation", t)),
    ("forecast", lambda t, raw: re.search(r"forecast|du bao|expect|predict", t)
     and re.search(r"occupancy|cong suat|revenue|doanh thu|demand|housekeeping", t)),
    ("pricing", lambda t, raw: re.search(r"\b(?:price|rate|gia)\b", t)
     and re.search(r"suggest|should|sell|recommend|de xuat|\bban\b|nen", t)
     and re.search(r"\broom|phong", t)),
    ("arrivals", lambda t, raw: re.search(r"arriv|check-?ins?\b|khach den|den nhan phong|nhan phong", t)
     and not re.search(r"how (?:do|to|early)|policy|quy dinh|may gio|what time", t)),
    ("room_status", lambda t, raw: not _has(PROCEDURE, t, raw) and (
        (ROOM_NUMBER.search(t) and _has(STATUS_WORDS, t, raw))
        or (re.search(r"\brooms\b|phong", t) and _has(NOW_WORDS, t, raw)
            and _has(STATUS_WORDS, t, raw)))),
)
FORECAST_TARGETS = (("revenue", r"revenue|doanh thu"),
                    ("housekeeping_demand", r"housekeeping|buong|cleaning"),
                    ("occupancy", r""))

TEXT = {
    "en": {"dont_know": "I don't know: nothing in the hotels' documents answers this. "
                        "I searched the knowledge base for \u201c{query}\u201d; the closest was "
                        "\u201c{closest}\u201d.",
           "no_rows": "I found nothing: {note}.",
           "forbidden": "Your role cannot read {what}: it needs the permission {permission}. "
                        "Ask a manager, or use an account that holds it.",
           "quote": "From \u201c{title} \u2014 {heading}\u201d [{sid}]:\n{text}"},
    "vi": {"dont_know": "Tôi không biết: không có tài liệu nào của khách sạn trả lời câu này. "
                        "Tôi đã tìm trong cơ sở tri thức \u201c{query}\u201d; gần nhất là "
                        "\u201c{closest}\u201d.",
           "no_rows": "Không tìm thấy: {note}.",
           "forbidden": "Vai trò của bạn không được xem {what}: cần quyền {permission}. "
                        "Hãy hỏi quản lý hoặc dùng tài khoản có quyền này.",
           "quote": "Theo \u201c{title} \u2014 {heading}\u201d [{sid}]:\n{text}"},
}
REVENUE_WORDS = {"en": "prices, forecasts and cancellation scores",
                 "vi": "giá, dự báo và điểm rủi ro hủy phòng"}


@dataclass
class Answer:
    response: str
    sources: list[dict]
    tools_used: list[str]
    confidence: float
    mode: str  # llm | deterministic
    language: str
    refused: bool = False
    searched: list[str] = field(default_factory=list)
    note: str | None = None
    citations: dict = field(default_factory=dict)  # {cited, supported}

    def to_dict(self) -> dict:
        return asdict(self)


class Sources:
    """The sources the tools of one question returned, numbered S1, S2... as they arrive."""

    def __init__(self):
        self.items: list[dict] = []

    def add(self, result: ToolResult) -> list[str]:
        ids = []
        for s in result.sources:
            sid = f"S{len(self.items) + 1}"
            self.items.append({"id": sid, "tool": result.tool, **s})
            ids.append(sid)
        return ids

    def get(self, sid: str) -> dict | None:
        return next((s for s in self.items if s["id"] == sid), None)


NUMBER = re.compile(r"\d[\d.,:/\-]*\d%?|\d%?")


def _values(token: str) -> set[float]:
    """The values a written number may mean: 5.000.000 (vi) and 5,000,000 (en) are 5e6;
    78% is 0.78 (a probability) and 78."""
    percent = token.endswith("%")
    token = token.rstrip("%")
    out = set()
    for candidate in (token.replace(",", ""), token.replace(".", "").replace(",", ".")):
        try:
            value = float(candidate)
        except ValueError:
            continue
        out |= {value, value / 100} if percent else {value}
    return out


def _supported(token: str, source_text: str, source_tokens: list[str]) -> bool:
    """Whether a number of a claim is in its sources, as written (a date, a time, an id) or
    as the same value (an amount formatted differently)."""
    def plain(t: str) -> str:
        return re.sub(r"[.,:/\-%]", "", t)

    if plain(token) in {plain(t) for t in source_tokens}:  # a whole number of the source
        return True
    wanted = _values(token)
    return any(abs(a - b) <= 0.005 * max(abs(b), 1e-9) or abs(a - b) < 0.006
               for t in source_tokens for b in _values(t) for a in wanted)


def check_citations(answer: str, sources: Sources) -> tuple[bool, str | None, dict]:
    """Whether every sentence of ``answer`` cites a source the tools returned and every
    number it states is in a source it cites. Returns (ok, why not, {cited, supported})."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", answer) if s.strip()]
    cited, supported, problem = 0, 0, None
    for sentence in sentences:
        ids = re.findall(r"\[(S\d+)\]", sentence)
        claim = re.sub(r"\[S\d+\]", "", sentence).strip(" .")
        if not claim:
            continue
        cited += 1
        found = [sources.get(i) for i in ids]
        if not ids or None in found:
            problem = problem or (f"the sentence \u201c{claim[:80]}\u201d cites "
                                  + ("no source" if not ids else "a source no tool returned"))
            continue
        pool = " ".join(f["text"] for f in found)
        tokens = NUMBER.findall(pool)
        missing = [t for t in NUMBER.findall(claim) if not _supported(t, pool, tokens)]
        if missing:
            problem = problem or (f"the sentence \u201c{claim[:80]}\u201d states "
                                  f"{sorted(missing)} that its sources do not")
            continue
        supported += 1
    if not cited:
        problem = "the answer is empty"
    return problem is None, problem, {"cited": cited, "supported": supported}


def _quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """A passage's body (its first line is the title and heading) cut at a sentence end."""
    body = text.split("\n", 1)[-1].strip()
    if len(body) <= limit:
        return body
    cut = body[:limit]
    end = max(cut.rfind(". "), cut.rfind(".\n"), cut.rfind("\n"))
    return (cut[:end + 1] if end > limit // 2 else cut).rstrip() + " …"


class Assistant:
    """Answers staff questions with the tools of ``DataTools``; ``lm`` (a ``dspy.LM``) and
    ``use_llm`` choose the mode."""

    def __init__(self, data: DataTools, lm=None, use_llm: bool = False,
                 min_relevance: float = MIN_RELEVANCE):
        self.data, self.lm, self.min_relevance = data, lm, min_relevance
        self.use_llm = use_llm and lm is not None

    @property
    def mode(self) -> str:
        return "llm" if self.use_llm else "deterministic"

    # -- entry points -------------------------------------------------------------------
    def answer(self, question: str, permissions: frozenset[str] | set[str],
               hotel: str | None = None) -> Answer:
        events = list(self.stream(question, permissions, hotel))
        return events[-1]["answer"]

    def stream(self, question: str, permissions: frozenset[str] | set[str],
               hotel: str | None = None) -> Iterator[dict]:
        """Events as the answer is made: {"event": "tool", ...} per tool call, then
        {"event": "answer", "answer": Answer}."""
        language = query_language(question)
        folded = fold(question)
        for pattern, reasons in GUARDS:
            if re.search(pattern, folded):
                yield {"event": "answer", "answer": Answer(
                    reasons[language], [], [], 1.0, "deterministic", language, refused=True,
                    note="refused by policy before any tool ran")}
                return
        tools = self.data.tools()
        if self.use_llm:
            answer = yield from self._llm(question, language, tools, permissions, hotel)
            if answer is not None:
                yield {"event": "answer", "answer": answer}
                return
        yield {"event": "answer",
               "answer": (yield from self._deterministic(question, language, folded, tools,
                                                        permissions, hotel))}

    # -- deterministic ------------------------------------------------------------------
    def intent(self, question: str) -> str:
        folded = fold(question)
        return next((name for name, test in INTENTS if test(folded, question.lower())),
                    "knowledge_search")

    def _deterministic(self, question, language, folded, tools, permissions, hotel,
                       note: str | None = None):
        name = self.intent(question)
        if name not in tools:
            name = "knowledge_search"
        tool = tools[name]
        text = TEXT[language]
        if tool.permission and tool.permission not in permissions:
            return Answer(text["forbidden"].format(what=REVENUE_WORDS[language],
                                                   permission=tool.permission),
                          [], [], 1.0, "deterministic", language, refused=True, note=note)
        args = self._arguments(name, question, folded, hotel, language)
        yield {"event": "tool", "tool": name, "arguments": args}
        started = time.perf_counter()
        result = tool.run(**args)
        yield {"event": "tool_result", "tool": name, "rows": len(result.rows),
               "ms": round((time.perf_counter() - started) * 1000, 1)}
        sources = Sources()
        ids = sources.add(result)
        if name == "knowledge_search":
            return self._from_passages(question, language, result, sources, ids, note)
        if not result.rows:
            return Answer(text["no_rows"].format(note=result.note), sources.items, [name], 0.9,
                          "deterministic", language, searched=[f"{name}: {args}"], note=note)
        response = render_rows(name, result, ids, language)
        ok, problem, counts = check_citations(response, sources)
        return Answer(response, sources.items, [name], 0.9 if ok else 0.5, "deterministic",
                      language, note=note if ok else f"{note or ''} {problem}".strip(),
                      citations=counts)

    def _arguments(self, name: str, question: str, folded: str, hotel: str | None,
                   language: str) -> dict:
        if name == "knowledge_search":
            return {"query": question}
        args: dict = {"hotel": hotel}
        if name == "room_status":
            room = ROOM_NUMBER.search(folded)
            floor = re.search(r"\b(\d{1,2})(?:st|nd|rd|th)? floor|\bfloor (\d{1,2})\b"
                              r"|\btang (\d{1,2})\b", folded)
            args.update(room_number=room.group(1) if room else None,
                        floor=next((g for g in floor.groups() if g), None) if floor else None,
                        # bẩn (dirty) and bán (sell) fold alike: read the accents
                        only_not_ready=not room and bool(
                            re.search(r"dirty|not ready|not clean", folded)
                            or re.search(r"bẩn|chưa (?:sạch|sẵn sàng|dọn)", question.lower())),
                        only_ready=not room and bool(
                            re.search(r"\bready\b|available|vacant", folded)
                            and not re.search(r"not ready", folded)
                            or re.search(r"sẵn sàng|trống", question.lower())
                            and not re.search(r"chưa", question.lower())))
        elif name == "arrivals":
            args["day"] = question
        elif name in ("cancellation_risk", "forecast"):
            args["period"] = question
            if name == "forecast":
                args["target"] = next(t for t, p in FORECAST_TARGETS if re.search(p, folded))
        elif name == "pricing":
            types = re.search(r"\b(?:type|loai)\s+([a-z])\b", folded)
            args.update(day=question, room_type=types.group(1).upper() if types else None)
        return args

    def _from_passages(self, question, language, result: ToolResult, sources: Sources,
                       ids: list[str], note) -> Answer:
        text = TEXT[language]
        hits = result.rows
        # the cosine of the question to its nearest passage: the hybrid score is a fused rank
        nearest = (self.data.knowledge.search(question, top_k=1, mode="vector",
                                              language=hits[0]["language"]) if hits else [])
        relevance = nearest[0]["score"] if nearest else 0.0
        if not hits or relevance < self.min_relevance:
            closest = f"{hits[0]['title']} — {hits[0]['heading']}" if hits else "—"
            return Answer(text["dont_know"].format(query=question, closest=closest), sources.items,
                          ["knowledge_search"], round(1 - relevance, 3), "deterministic", language,
                          refused=True, searched=[f"knowledge base: {question}"], note=note)
        # the best passage, and the next one when it is from the same document's other
        # section or equally close: policies often split a rule over two sections
        quoted = [text["quote"].format(title=h["title"], heading=h["heading"], sid=sid,
                                       text=_quote(h["text"]))
                  for h, sid in list(zip(hits, ids))[:2]]
        return Answer("\n\n".join(quoted), sources.items[:2], ["knowledge_search"],
                      round(relevance, 3), "deterministic", language, note=note,
                      citations={"cited": len(quoted), "supported": len(quoted)})

    # -- LLM (DSPy ReAct) ---------------------------------------------------------------
    def _llm(self, question, language, tools: dict[str, Tool], permissions, hotel):
        import dspy

        sources = Sources()
        calls: list[str] = []
        events: list[dict] = []

        def wrap(tool: Tool):
            def run(**kwargs) -> str:
                if tool.permission and tool.permission not in permissions:
                    return f"not allowed: the caller lacks {tool.permission}"
                kwargs = {k: v for k, v in kwargs.items() if k in tool.parameters}
                if hotel and "hotel" in tool.parameters:
                    kwargs["hotel"] = hotel
                calls.append(tool.name)
                events.append({"event": "tool", "tool": tool.name, "arguments": kwargs})
                result = tool.run(**kwargs)
                ids = sources.add(result)
                lines = [f"[{sid}] {s['text'][:800]}" for sid, s in zip(ids, result.sources)]
                return "\n".join(lines) or f"nothing found: {result.note}"

            return dspy.Tool(run, name=tool.name, desc=tool.description,
                             args={p: {"type": "string", "description": d}
                                   for p, d in tool.parameters.items()})

        class StaffQuestion(dspy.Signature):
            """Answer a hotel staff member's question using only what the tools return.
            End every sentence with the ids of the sources it rests on, like [S2]. If the
            tools return nothing that answers it, answer exactly: I don't know."""

            question: str = dspy.InputField()
            language: str = dspy.InputField(desc="write the answer in this language (vi or en)")
            answer: str = dspy.OutputField()

        program = dspy.ReAct(StaffQuestion, tools=[wrap(t) for t in tools.values()],
                             max_iters=MAX_ITERS)
        try:
            with dspy.context(lm=self.lm):
                prediction = program(question=question, language=language)
            response = (prediction.answer or "").strip()
        except Exception as e:  # an LLM that is down or returns garbage: answer without it
            note = f"deterministic: the LLM failed ({type(e).__name__}: {str(e)[:120]})"
            yield from events
            return (yield from self._deterministic(question, language, fold(question), tools,
                                                   permissions, hotel, note))
        yield from events
        if re.fullmatch(r"i don'?t know\.?|toi khong biet\.?", fold(response)):
            return Answer(TEXT[language]["dont_know"].format(query=question, closest="—"),
                          sources.items, calls, 0.0, "llm", language, refused=True,
                          searched=[f"{c}" for c in calls])
        ok, problem, counts = check_citations(response, sources)
        if ok:
            cited = set(re.findall(r"\[(S\d+)\]", response))
            return Answer(response, [s for s in sources.items if s["id"] in cited], calls,
                          0.8, "llm", language, citations=counts)
        note = f"deterministic: the LLM's answer was not shown because {problem}"
        return (yield from self._deterministic(question, language, fold(question), tools,
                                               permissions, hotel, note))


# -- templated answers ------------------------------------------------------------------

def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def render_rows(tool: str, result: ToolResult, ids: list[str], language: str) -> str:
    """The tool's rows as sentences, each citing the source it comes from."""
    vi = language == "vi"
    rows = result.rows
    lines = []
    sid_of = {src["ref"]: i for i, src in zip(ids, result.sources)}
    if tool == "room_status":
        if "rooms matching" in sid_of:
            total = result.sources[ids.index(sid_of["rooms matching"])]["text"].split(":")[1].split()[0]
            lines.append((f"{total} phòng khớp" if vi else f"{total} rooms match")
                         + f" [{sid_of['rooms matching']}].")
        for r in rows[:20]:
            sid = sid_of[f"{r['hotel']} room {r['room_number']}"]
            ready = r["is_ready_for_guest"] and not r.get("occupied")  # inspected clean, and free
            state = r["latest_inspection_status"] or ("chưa kiểm tra" if vi else "not inspected")
            if vi:
                line = (f"Phòng {r['room_number']} ({r['hotel']}, loại {r['room_type']}, tầng {r['floor']}): "
                        f"kiểm tra gần nhất \u201c{state}\u201d"
                        + (f" lúc {r['latest_inspected_at']}" if r["latest_inspected_at"] else "")
                        + (", sẵn sàng đón khách" if ready else ", chưa sẵn sàng đón khách") + f" [{sid}].")
            else:
                line = (f"Room {r['room_number']} ({r['hotel']}, type {r['room_type']}, floor {r['floor']}): "
                        f"last inspection \u201c{state}\u201d"
                        + (f" at {r['latest_inspected_at']}" if r["latest_inspected_at"] else "")
                        + (", ready for a guest" if ready else ", not ready for a guest") + f" [{sid}].")
            lines.append(line)
            if r.get("booking_id"):
                stay = sid_of[r["booking_id"]]
                lines.append(f"Đang có khách, đặt phòng {r['booking_id']}, trả phòng {r['departure_date']} [{stay}]."
                             if vi else f"Occupied by booking {r['booking_id']} until {r['departure_date']} [{stay}].")
    elif tool == "arrivals":
        for src, sid in zip(result.sources, ids):
            count, rest = src["text"].split("; ")[0].split(": ", 1)[1].split(" live arrivals at ")
            hotel, day = rest.split(" on ")[0], rest.split(" on ")[1].split(" ")[0]
            lines.append(f"{hotel}: {count} lượt khách đến ngày {day} [{sid}]." if vi
                         else f"{hotel}: {count} live arrivals on {day} [{sid}].")
            if "; " in src["text"]:  # the bookings, when few
                lines.append(("Đặt phòng: " if vi else "Bookings: ")
                             + src["text"].split("; ", 1)[1].replace(" nights)", " đêm)" if vi else " nights)")
                             + f" [{sid}].")
    elif tool == "cancellation_risk":
        period = result.arguments["period"]
        lines.append((f"Các đặt phòng có nguy cơ hủy cao nhất ({period}) [{ids[0]}]:" if vi
                      else f"The arrivals most likely to cancel ({period}) [{ids[0]}]:"))
        for r, sid in zip(rows, ids[1:]):
            lines.append(f"{r['booking_id']} ({r['hotel']}, " + ("đến " if vi else "arriving ")
                         + f"{r['arrival_date']}): {r['probability']:.0%} ({r['risk_level']}) [{sid}].")
    elif tool == "pricing":
        every = "".join(f"[{i}]" for i in ids)
        lines.append((f"Giá đề xuất ngày {result.arguments['day']} {every}:" if vi
                      else f"Suggested prices for {result.arguments['day']} {every}:"))
        for r, sid in zip(rows, ids):
            lines.append(f"{r['hotel']}, " + ("loại" if vi else "type") + f" {r['room_type']}: "
                         f"{r['suggested_price']:.2f} {r.get('currency') or ''} [{sid}].")
    elif tool == "forecast":
        target = result.arguments["target"]
        for h, sid in zip(_forecast_hotels(rows), ids):
            src = result.sources[ids.index(sid)]["text"]
            mean = re.search(r"mean=([\d.]+)", src).group(1)
            low = re.search(r"min=([\d.]+)", src).group(1)
            high = re.search(r"max=([\d.]+)", src).group(1)
            lines.append((f"Dự báo {target} của {h} ({result.arguments['period']}): trung bình {mean}, "
                          f"thấp nhất {low}, cao nhất {high} [{sid}]." if vi else
                          f"{target.replace('_', ' ').capitalize()} forecast for {h} "
                          f"({result.arguments['period']}): mean {mean}, lowest {low}, highest {high} [{sid}]."))
    return "\n".join(lines)


def _forecast_hotels(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(r["hotel"] for r in rows))

