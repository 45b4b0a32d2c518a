"""The staff assistant (`/api/v1/llm/assistant/query`, its server-sent-events stream) and
tasks (`/api/v1/llm/execute/task`): answers with checked sources; writes only queued."""

from __future__ import annotations

import json
import time
from typing import Annotated, Iterator

from fastapi import APIRouter, Body, Request
from fastapi.responses import StreamingResponse

from base.logging import correlation_id
from serving.core.error_docs import error_responses, invalid
from serving.core.errors import ErrorDetail, InvalidRequest
from serving.deps import LanguageDep, LlmUser, MetricsDep
from serving.schemas.llm_schemas import AssistantAnswer, AssistantQuery, TaskRequest, TaskResponse
from serving.schemas.request_examples import examples_for
from language.assistant import Answer
from language.task_plan import PlanError

router = APIRouter(tags=["llm: assistant"])

KINDS = {"table": "database", "document": "document", "model": "model"}


def source_out(s: dict) -> dict:
    """A tool's source as the API shows it."""
    kind = KINDS[s["kind"]]
    return {"id": s["id"], "type": kind, "tool": s["tool"], "ref": s["ref"],
            "excerpt": s["text"][:500],
            "table": s["name"] if kind == "database" else None,
            "document": s["name"] if kind == "document" else None,
            "passage_id": s["ref"] if kind == "document" else None,
            "heading": s.get("heading"), "model": s["name"] if kind == "model" else None}


def answer_out(answer: Answer) -> AssistantAnswer:
    body = answer.to_dict()
    body["sources"] = [source_out(s) for s in answer.sources]
    return AssistantAnswer(**body)


def _events(body: AssistantQuery, principal, language, metrics) -> Iterator[dict]:
    started = time.perf_counter()
    for event in language.assistant.stream(body.message, principal.permissions, body.context.hotel):
        if event["event"] == "tool":
            metrics.llm_tool_calls.labels(event["tool"]).inc()
        if event["event"] == "answer":
            answer = event["answer"]
            metrics.llm_answers.labels(answer.mode, "refused" if answer.refused else "answered").inc()
            metrics.llm_latency.labels("assistant").observe(time.perf_counter() - started)
        yield event


@router.post("/assistant/query", response_model=AssistantAnswer,
             responses=error_responses("llm:query", invalid(AssistantQuery, {}, "No message")),
             summary="Ask the staff assistant (permission llm:query)")
def query(body: Annotated[AssistantQuery, Body(openapi_examples=examples_for(AssistantQuery))],
          principal: LlmUser, language: LanguageDep, metrics: MetricsDep) -> AssistantAnswer:
    """An answer in the question's language (Vietnamese or English) with its sources (the
    passage, or the table and rows a tool read), the tools used and a confidence. Every
    claim cites a source, checked in code; with nothing that supports an answer the
    assistant says it does not know and what it searched. `mode` says whether the LLM wrote
    it or a template over the tool's rows did. Figures the caller's role may not read
    (prices, forecasts, cancellation scores need ml:read) are refused with the reason."""
    events = list(_events(body, principal, language, metrics))
    return answer_out(events[-1]["answer"])


@router.post("/assistant/query-stream", response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}}, "description":
                              "Server-sent events: `tool` (a tool called, with its arguments), "
                              "`tool_result` (rows read, time), then `answer` (the whole "
                              "answer, as /assistant/query returns it) and `done`."},
                        **error_responses("llm:query", invalid(AssistantQuery, {}, "No message"))},
             summary="Ask the staff assistant, as server-sent events (permission llm:query)")
def query_stream(body: Annotated[AssistantQuery, Body(openapi_examples=examples_for(AssistantQuery))],
                 principal: LlmUser, language: LanguageDep, metrics: MetricsDep,
                 request: Request) -> StreamingResponse:
    """The same answer as /assistant/query, as events while it is made: each tool call as it
    starts and ends, then the answer. The correlation id of the request is on every event."""
    cid = correlation_id.get()

    def stream() -> Iterator[str]:
        for event in _events(body, principal, language, metrics):
            data = ({"event": "answer", **answer_out(event["answer"]).model_dump()}
                    if event["event"] == "answer" else event)
            yield (f"event: {event['event']}\nid: {cid}\n"
                   f"data: {json.dumps(data, default=str, ensure_ascii=False)}\n\n")
        yield f"event: done\nid: {cid}\ndata: {{}}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/execute/task", response_model=TaskResponse,
             responses=error_responses("llm:query", invalid(TaskRequest, {}, "No instruction")),
             summary="Plan and run a task of allowed actions (permission llm:query)")
def execute_task(body: Annotated[TaskRequest, Body(openapi_examples=examples_for(TaskRequest))],
                 principal: LlmUser, language: LanguageDep, metrics: MetricsDep) -> TaskResponse:
    """The instruction becomes a plan of allowed actions (check a room's status, look up a
    booking, check arrivals, send a guest message, create a task); reads run now, writes are
    only queued for the workflows (lake table language/queued_actions), and only for a
    caller holding events:write; a step after a room check runs only if the room is ready.
    An instruction with a clause no action matches is refused whole (422), nothing run."""
    started = time.perf_counter()
    cid, who = correlation_id.get(), principal.subject

    def queue(action: str, arguments: dict) -> str:
        return language.queue_action(action, arguments, "execute/task", who, cid)

    runner = language.runner.with_queue(queue)
    try:
        out = runner.execute(body.instruction, body.context, principal.permissions, body.hotel)
    except PlanError as e:
        raise InvalidRequest(str(e), [ErrorDetail(field="body.instruction", problem=str(e))]) from None
    metrics.llm_latency.labels("execute_task").observe(time.perf_counter() - started)
    return TaskResponse(**out)
