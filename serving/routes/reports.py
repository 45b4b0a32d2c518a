"""/api/v1/reports: the general manager's reports as Dagster rendered them into the lake's
storage (``reports.report_store``), listed and fetched as PDF or HTML; and who receives them
by email (``reports.subscriptions``), one subscription per address.

The subscriptions' routes come before ``/{kind}/{period}``: ``subscriptions/<id>`` would
otherwise read as a kind and a period.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response, status
from pydantic import Field

from lake.properties import PropertyMaster
from reports.periods import KINDS, Period, parse
from reports.report_store import FORMATS, GROUP, StoredReport
from reports.subscriptions import Subscription as Stored
from serving.core.error_docs import documented, error_responses, invalid
from serving.core.errors import ErrorDetail, InvalidRequest, Message, NotFound
from serving.deps import Properties, ReportReader, ReportStoreDep, ReportWriter, SubscriptionsDep
from serving.routes.ops_tasks import described
from serving.schemas.report_schemas import (EXAMPLE_WEEK, Email, Language, Report, ReportFormat,
                                            ReportKind, ReportList, Subscription, SubscriptionId,
                                            SubscriptionList, SubscriptionRequest)

PREFIX = "/api/v1/reports"
router = APIRouter(prefix=PREFIX, tags=["reports"])

NOT_RENDERED = Message("the {kind} report for {period} ({property}, {language}) has not been "
                       "rendered: materialise partition {partition} of the Dagster asset "
                       "reports/{kind} (job reports_{kind}), or wait for its schedule")
BAD_PERIOD = Message("invalid period: {problem}")
UNKNOWN_PROPERTY = Message("unknown property code(s) {value}: use '" + GROUP + "' (the group's "
                           "report) or hotels of the group: {known}")
NO_SUBSCRIPTION = Message("no subscription '{subscription_id}': GET " + PREFIX
                          + "/subscriptions lists them")

Text = Annotated[str, Field(min_length=1, max_length=64)]


def _parse_error(kind: str, text: str) -> str:
    try:
        parse(kind, text)
    except ValueError as e:
        return str(e)
    raise ValueError(f"{text!r} is a {kind} period: no error to document")


# The documented errors' values: placeholder hotels, an id nothing has, a phrase no parser takes.
EXAMPLE_ID = "0123456789abcdef0123456789abcdef"
UNKNOWN_PROPERTY_EXAMPLE = documented(InvalidRequest, UNKNOWN_PROPERTY, "Unknown property",
                                      value="'XX'", known="HA (Hotel A), HB (Hotel B)")
BAD_PERIOD_EXAMPLE = documented(InvalidRequest, BAD_PERIOD, "Not a period",
                                problem=_parse_error("weekly", "last week"))
SUBSCRIPTION_EXAMPLES = {  # the group's report: an example that answers on any platform
    "the group": {"summary": "The group's reports, every kind, in English", "value": {
        "email": "gm@example.com", "properties": [GROUP], "kinds": list(KINDS), "language": "en"}},
    "change": {"summary": "The same address, now the monthly pack only, in Vietnamese", "value": {
        "email": "gm@example.com", "properties": [GROUP], "kinds": ["monthly"], "language": "vi"}},
}


def _code(value: str, properties: PropertyMaster) -> str | None:
    """GROUP, or the code of the hotel ``value`` names (code or name, any case); None when
    the group has no such property."""
    if value.strip().lower() == GROUP:
        return GROUP
    hotel = properties.find(value)
    return hotel.code if hotel else None


def _unknown(values: list[str], fields: list[str], properties: PropertyMaster) -> InvalidRequest:
    known = properties.known()
    return InvalidRequest(
        UNKNOWN_PROPERTY.format(value=", ".join(f"'{v}'" for v in values), known=known),
        [ErrorDetail(field=f, problem=f"unknown property; one of {GROUP}, {known}") for f in fields])


def _property(value: str, properties: PropertyMaster) -> str:
    code = _code(value, properties)
    if code is None:
        raise _unknown([value], ["query.property"], properties)
    return code


def _periods(kinds: list[str], text: str, field: str) -> list[Period]:
    """The periods of ``kinds`` that ``text`` names; 422 with the parser's reasons when none."""
    found, problems = [], []
    for kind in kinds:
        try:
            found.append(parse(kind, text))
        except ValueError as e:
            problems.append(str(e))
        except OverflowError:  # a month or week that would end past year 9999
            problems.append(f"{text!r} is out of range")
    if not found:
        problem = "; ".join(problems)
        raise InvalidRequest(BAD_PERIOD.format(problem=problem),
                             [ErrorDetail(field=field, problem=problem)])
    return found


def _report(r: StoredReport) -> Report | None:
    """The listing's entry; None for a file that is not a report of a known kind and period."""
    try:
        period = parse(r.kind, r.period)
    except (ValueError, OverflowError):
        return None
    return Report(kind=r.kind, period=period.key, period_label=period.label, property=r.property,
                  language=r.language, format=r.format, size=r.size,
                  url=f"{PREFIX}/{r.kind}/{period.key}?property={r.property}"
                      f"&language={r.language}&format={r.format}")


# -- subscriptions -----------------------------------------------------------------------------


def _subscription(s: Stored) -> Subscription:
    return Subscription(subscription_id=s.subscription_id, email=s.email,
                        properties=list(s.properties), kinds=list(s.kinds), language=s.language,
                        created_at=s.created_at, created_by=s.created_by)


def _subscription_errors():
    return described(error_responses(
        "reports:write", documented(NotFound, NO_SUBSCRIPTION, "Unknown subscription",
                                    subscription_id=EXAMPLE_ID),
        invalid(SubscriptionId, "not an id!", "Not a subscription id",
                where=("path", "subscription_id"))),
        s404="No subscription has this id.")


@router.post("/subscriptions", response_model=Subscription, status_code=status.HTTP_201_CREATED,
             responses=described({
                 200: {"model": Subscription,
                       "description": "The address was subscribed already: it receives these now."},
                 **error_responses(
                     "reports:write", UNKNOWN_PROPERTY_EXAMPLE,
                     invalid(SubscriptionRequest, {"email": "gm@example.com", "properties": [],
                                                   "kinds": ["daily"]}, "No property"))},
                 s422="The body is malformed, or names a property the group does not have."),
             summary="Subscribe an address to reports, or change what it receives "
                     "(permission reports:write)")
def subscribe(body: Annotated[SubscriptionRequest, Body(openapi_examples=SUBSCRIPTION_EXAMPLES)],
              principal: ReportWriter, subscriptions: SubscriptionsDep, properties: Properties,
              response: Response) -> Subscription:
    """The address receives the reports of these properties and kinds by email, in this
    language, as each is rendered. One subscription per address: sending it again for an
    address already subscribed replaces its properties, kinds and language (200); a new
    address answers 201. Hotels may be named by code or name; they are kept as codes."""
    codes = [_code(p, properties) for p in body.properties]
    unknown = [i for i, code in enumerate(codes) if code is None]
    if unknown:
        raise _unknown([body.properties[i] for i in unknown],
                       [f"body.properties.{i}" for i in unknown], properties)
    stored, created = subscriptions.subscribe(body.email, codes, body.kinds, body.language,
                                              by=principal.subject)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return _subscription(stored)


@router.get("/subscriptions", response_model=SubscriptionList,
            responses=described(error_responses(
                "reports:write", invalid(Email, "not an address", "Not an email address",
                                         where=("query", "email"))),
                s422="The address is malformed."),
            summary="List the subscriptions (permission reports:write)")
def list_subscriptions(_: ReportWriter, subscriptions: SubscriptionsDep,
                       email: Email | None = Query(None, description=(
                           "Only this address's subscription (any case)."))) -> SubscriptionList:
    """Who receives which reports, by address."""
    found = subscriptions.list(email=email)
    return SubscriptionList(subscriptions=[_subscription(s) for s in found], count=len(found))


@router.get("/subscriptions/{subscription_id}", response_model=Subscription,
            responses=_subscription_errors(),
            summary="One subscription (permission reports:write)")
def get_subscription(subscription_id: SubscriptionId, _: ReportWriter,
                     subscriptions: SubscriptionsDep) -> Subscription:
    """What the address receives, and who subscribed it when."""
    found = subscriptions.get(subscription_id)
    if found is None:
        raise NotFound(NO_SUBSCRIPTION.format(subscription_id=subscription_id))
    return _subscription(found)


@router.delete("/subscriptions/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT,
               response_class=Response, responses=_subscription_errors(),
               summary="End a subscription (permission reports:write)")
def unsubscribe(subscription_id: SubscriptionId, _: ReportWriter,
                subscriptions: SubscriptionsDep) -> Response:
    """The address receives no more reports (those already sent stay sent)."""
    if not subscriptions.remove(subscription_id):
        raise NotFound(NO_SUBSCRIPTION.format(subscription_id=subscription_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- reports -----------------------------------------------------------------------------------


@router.get("", response_model=ReportList,
            responses=described(error_responses(
                "reports:read", invalid(ReportKind, "hourly", "Not a kind", where=("query", "kind")),
                BAD_PERIOD_EXAMPLE, UNKNOWN_PROPERTY_EXAMPLE),
                s422="A filter is malformed, or names a property the group does not have."),
            summary="List the rendered reports, newest first (permission reports:read)")
def list_reports(_: ReportReader, store: ReportStoreDep, properties: Properties,
                 kind: ReportKind | None = Query(None, description="daily, weekly or monthly."),
                 period: Text | None = Query(None, description=(
                     "Only this period: YYYY-MM-DD (a day, or a period's first day), YYYY-Www "
                     "(an ISO week), YYYY-MM (a month). Without `kind`: the reports of every "
                     "kind whose period it names.")),
                 prop: Text | None = Query(None, alias="property", description=(
                     f"A hotel's code (or name), or `{GROUP}`."))) -> ReportList:
    """Each report the platform rendered and kept, with the URL to fetch it. Dagster renders
    them: the partitioned assets reports/daily, reports/weekly and reports/monthly, one
    partition per period, on their schedules."""
    wanted = None if period is None else {
        (p.kind, p.key) for p in _periods([kind] if kind else list(KINDS), period, "query.period")}
    code = None if prop is None else _property(prop, properties)
    found = [r for r in map(_report, store.list(kind)) if r is not None
             and (wanted is None or (r.kind, r.period) in wanted)
             and (code is None or r.property == code)]
    return ReportList(reports=found, count=len(found))


@router.get("/{kind}/{period}", response_class=Response,
            responses=described({
                200: {"description": "The report: a PDF to print or file, or the HTML page.",
                      "content": {media: {"schema": {"type": "string", "format": "binary"}}
                                  for media in ("application/pdf", "text/html")}},
                **error_responses(
                    "reports:read",
                    documented(NotFound, NOT_RENDERED, "Not rendered", kind="weekly",
                               period=EXAMPLE_WEEK.label, property=GROUP, language="en",
                               partition=EXAMPLE_WEEK.key),
                    invalid(ReportKind, "hourly", "Not a kind", where=("path", "kind")),
                    BAD_PERIOD_EXAMPLE, UNKNOWN_PROPERTY_EXAMPLE)},
                s404="This report (period, property, language) has not been rendered: the "
                     "message says how to render it.",
                s422="The kind or period is malformed, or the property is not the group's."),
            summary="Fetch a report as PDF or HTML (permission reports:read)")
def get_report(kind: Annotated[ReportKind, Path(description="daily, weekly or monthly.")],
               period: Annotated[str, Path(max_length=32, description=(
                   "YYYY-MM-DD for a day (or a week's Monday, a month's first day), YYYY-Www "
                   "for an ISO week, YYYY-MM for a month."))],
               _: ReportReader, store: ReportStoreDep, properties: Properties,
               prop: Text = Query(GROUP, alias="property", description=(
                   f"A hotel's code (or name), or `{GROUP}` for the group's report.")),
               fmt: ReportFormat = Query("pdf", alias="format", description=(
                   "pdf (to print or file) or html (to read in a browser).")),
               language: Language = Query("en", description="en or vi.")) -> Response:
    """The rendered report, inline, named `<kind>-<period>-<property>.<language>.<format>`
    (the period's first day)."""
    [found] = _periods([kind], period, "path.period")
    code = _property(prop, properties)
    content = store.read(kind, found, code, language, fmt)
    if content is None:
        raise NotFound(NOT_RENDERED.format(kind=kind, period=found.label, property=code,
                                           language=language, partition=found.key))
    name = f"{kind}-{found.key}-{code}.{language}.{fmt}"
    return Response(content, media_type=FORMATS[fmt],
                    headers={"Content-Disposition": f'inline; filename="{name}"'})
