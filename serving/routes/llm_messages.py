"""POST /api/v1/llm/generate/email | apology | checkin-instructions | notification: guest and
staff messages in Vietnamese or English from templates (subject, text, HTML), optionally
polished by the LLM with the facts kept verbatim."""


from typing import Annotated

from fastapi import APIRouter, Body

from language.messages import InvalidVariable, MissingVariables
from serving.core.error_docs import error_responses, invalid
from serving.core.errors import ErrorDetail, InvalidRequest
from serving.deps import LanguageDep, LlmUser, Properties
from serving.schemas.llm_schemas import MESSAGE_PATHS, MESSAGE_REQUESTS, MessageResponse
from serving.schemas.request_examples import examples_for

router = APIRouter(tags=["llm: messages"])

def _route(path: str, templates: tuple[str, ...]):
    Request = MESSAGE_REQUESTS[path]

    def generate(body: Annotated[Request, Body(openapi_examples=examples_for(Request))],
                 _: LlmUser, language: LanguageDep, properties: Properties) -> MessageResponse:
        try:
            message = language.message(body.template_type, body.variables, body.language,
                                       body.hotel, body.polish, properties)
        except MissingVariables as e:
            raise InvalidRequest(str(e), [ErrorDetail(field=f"body.variables.{n}", problem="missing")
                                          for n in e.missing]
                                 + [ErrorDetail(field=f"body.variables.{n}", problem="not taken")
                                    for n in e.unknown]) from None
        except InvalidVariable as e:
            raise InvalidRequest(str(e), [ErrorDetail(field=f"body.variables.{e.variable}",
                                                      problem=e.problem)]) from None
        return MessageResponse(template_type=message.template, language=message.language,
                               subject=message.subject, body=message.text, html_body=message.html,
                               facts=message.facts, polished=message.polished,
                               polish_note=message.polish_note)

    generate.__doc__ = (f"Renders {', '.join(templates)} in Vietnamese or English: subject, "
                        "plain text and HTML, amounts in the hotel's currency and dates as the "
                        "language writes them; `facts` lists each value as written. With "
                        "`polish` and an LLM configured the text is rewritten, and kept only "
                        "if every fact survives verbatim (`polish_note` says why not).")
    router.add_api_route(f"/generate/{path}", generate, methods=["POST"],
                         response_model=MessageResponse, name=f"generate_{path.replace('-', '_')}",
                         responses=error_responses("llm:query", invalid(Request, {}, "No variables")),
                         summary=f"Write {' or '.join(t.replace('_', ' ') for t in templates[:3])}"
                                 f"{' ...' if len(templates) > 3 else ''} (permission llm:query)")


for _path, _templates in MESSAGE_PATHS.items():
    _route(_path, _templates)
