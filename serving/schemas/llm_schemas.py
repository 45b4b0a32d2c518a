"""Request and response bodies of ``/api/v1/llm``: the assistant, tasks, routing, messages,
monitoring (the seeds' shapes, with what the brief adds: sources that can be checked, the
mode an answer was made in, a hand-over flag)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, create_model

from language.messages import TEMPLATES

from serving.schemas.cv_schemas import HotelName, Strict

Language = Literal["en", "vi"]


# -- assistant --------------------------------------------------------------------------


class AssistantContext(Strict):
    role: str | None = Field(None, max_length=64, description="Informational: the caller's "
                             "permissions come from the token, not from here.")
    department: str | None = Field(None, max_length=64)
    hotel: HotelName | None = Field(None, description="Answer about this property only.")


class AssistantQuery(Strict):
    user_id: str | None = Field(None, max_length=64)
    message: str = Field(min_length=1, max_length=2000, description="The question, in "
                         "Vietnamese or English.")
    context: AssistantContext = Field(default_factory=AssistantContext)
    stream: bool = Field(False, description="Ignored here: use /assistant/query-stream for "
                         "server-sent events.")


class Source(BaseModel):
    id: str = Field(description="S1, S2...: what the answer's [S1] markers point to.")
    type: Literal["database", "document", "model"]
    tool: str
    table: str | None = Field(None, description="The mart a database source was read from.")
    document: str | None = None
    passage_id: str | None = None
    heading: str | None = None
    model: str | None = None
    ref: str = Field(description="The rows (keys) or the passage read.")
    excerpt: str = Field(description="What the source says (up to 500 characters).")


class AssistantAnswer(BaseModel):
    response: str
    sources: list[Source]
    confidence: float = Field(ge=0, le=1)
    tools_used: list[str]
    mode: Literal["llm", "deterministic"] = Field(description="llm: written by the LLM and "
                                                  "checked against its sources; deterministic: "
                                                  "a template over a tool's rows or quoted passages.")
    language: Language
    refused: bool = Field(description="True when the assistant declined or does not know.")
    searched: list[str] = Field(description="What was searched, when nothing answered.")
    note: str | None = None
    citations: dict[str, int] = Field(description="{cited: sentences with claims, supported: "
                                      "those whose sources were checked to support them}")


# -- execute a task ---------------------------------------------------------------------


class TaskRequest(Strict):
    instruction: str = Field(min_length=1, max_length=1000)
    context: dict[str, str] = Field(default_factory=dict, description="booking_id, "
                                    "room_number, guest_id, channel: what the clauses refer to.")
    hotel: HotelName | None = None


class PlanStep(BaseModel):
    step: int
    action: str
    service: Literal["lake", "llm", "workflows"]
    writes: bool
    instruction: str
    condition: str | None = None


class StepResult(BaseModel):
    step: int
    status: Literal["completed", "queued", "skipped", "refused", "failed"]
    result: dict[str, Any] = Field(default_factory=dict)


class TaskResponse(BaseModel):
    execution_plan: list[PlanStep]
    results: list[StepResult]
    overall_status: Literal["success", "partial", "failed", "refused"]


# -- routing ----------------------------------------------------------------------------


class GuestRequest(Strict):
    guest_id: str | None = Field(None, max_length=64)
    message: str = Field(min_length=1, max_length=2000)
    channel: str | None = Field(None, max_length=32, description="whatsapp, sms, app, email...")
    timestamp: AwareDatetime | None = None
    hotel: HotelName | None = None
    room_number: str | None = Field(None, max_length=8, description="When the channel knows "
                                    "it; else read from the message.")


class RoutingRequest(Strict):
    request: GuestRequest


class StructuredRequest(BaseModel):
    type: str
    room_number: str | None
    items: list[str]
    quantity: int | None
    urgency: str


class RoutingResponse(BaseModel):
    request_id: str = Field(description="The row in the lake table language/guest_requests.")
    category: str
    priority: str
    assigned_to: str = Field(description="The team: <team>_team.")
    structured_request: StructuredRequest
    confidence: float
    needs_human: bool = Field(description="Below the confidence threshold: a person reads it "
                              "before any workflow acts.")
    reason: str | None
    language: Language
    workflow_id: str = Field(description="The workflow that takes the request.")
    routed_by: Literal["classifier", "classifier+llm"]


# -- messages ---------------------------------------------------------------------------


class MessageRequest(Strict):
    template_type: str
    variables: dict[str, Any] = Field(description="The template's variables: dates as "
                                      "YYYY-MM-DD, amounts as numbers in the hotel's currency.")
    language: Language = "en"
    hotel: HotelName | None = Field(None, description="Whose name, currency and hours: "
                                    "defaults to the caller's only hotel or the first.")
    polish: bool = Field(False, description="Let the LLM rewrite the text (facts kept "
                         "verbatim, else the template is returned).")


def message_request(name: str, templates: tuple[str, ...]) -> type[MessageRequest]:
    """The body of one /generate path: MessageRequest with its own templates."""
    described = "; ".join(f"`{t}`: {TEMPLATES[t].description} (takes {TEMPLATES[t].describe()})"
                          for t in templates)
    return create_model(name, __base__=MessageRequest, __module__=__name__,
                        template_type=(Literal[templates], Field(templates[0], description=described)))


# the /generate paths and their templates (the first is the default)
MESSAGE_PATHS = {"email": tuple(TEMPLATES), "apology": ("apology",),
                 "checkin-instructions": ("checkin_instructions",),
                 "notification": ("checkin_ready", "supervisor_notice")}
MESSAGE_REQUESTS = {path: message_request(
    "".join(w.title() for w in path.split("-")) + "MessageRequest", templates)
    for path, templates in MESSAGE_PATHS.items()}


class MessageResponse(BaseModel):
    template_type: str
    language: Language
    subject: str
    body: str
    html_body: str
    facts: dict[str, str]
    polished: bool
    polish_note: str | None = None


# -- monitoring -------------------------------------------------------------------------


class LogLine(Strict):
    service: str = Field(min_length=1, max_length=64)
    level: str = Field(min_length=1, max_length=16)
    message: str = Field(max_length=2000)
    timestamp: AwareDatetime


class AnalyzeRequest(Strict):
    logs: list[LogLine] = Field(min_length=1, max_length=50_000)


class LogIssue(BaseModel):
    type: str
    service: str
    severity: Literal["low", "medium", "high", "critical"]
    description: str
    recommended_action: str
    observed_rate: float
    baseline_rate: float | None
    window_minutes: float
    count: int
    sample_message: str | None


class AnalyzeResponse(BaseModel):
    anomalies_detected: bool
    issues: list[LogIssue]
    alert_sent: bool = Field(description="True when alerts were queued for the workflows.")
    alert_channels: list[str]
    alert_ids: list[str]


class ServiceLogStatus(BaseModel):
    baseline_rate: float | None
    last_window_rate: float | None
    last_window_errors: int | None
    as_of: str | None
    analysed_at: str | None
    open_issues: list[LogIssue]


class MonitoringStatus(BaseModel):
    status: Literal["ok", "degraded"]
    last_analysis: dict[str, Any] | None = Field(description="When, as of which log time, "
                                                 "how many records, how many issues.")
    open_issues: int
    services: dict[str, ServiceLogStatus]
    settings: dict[str, float]


# -- health -----------------------------------------------------------------------------


class LlmHealth(BaseModel):
    status: Literal["ok", "degraded"]
    embedder: dict[str, Any]
    knowledge_base: dict[str, Any]
    router: dict[str, Any]
    llm: dict[str, Any]
    assistant_mode: str
    checked_at: datetime
