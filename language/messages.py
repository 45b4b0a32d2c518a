"""Guest and staff messages from templates: a booking confirmation, an apology, check-in
instructions, a room-ready notification and a notice to a supervisor, each in every language
that has templates (``language/templates/<language>/``), as a subject, plain text and HTML.

The templates read well on their own: a hotel with no LLM sends them as they are. Values come
from JSON (dates as ISO text, amounts as numbers) and are checked against ``TEMPLATES``, then
written for the message's locale by Babel (``5.000.000 ₫`` in Vietnamese, ``₫5,000,000`` in
English; long dates with the weekday). Jinja2 renders each template twice, as text and as
autoescaped HTML (``parts.txt`` / ``parts.html`` write the same paragraphs and details rows).

``polish`` lets an LLM (a ``dspy.LM``) rewrite the text, and keeps the rewrite only if every
fact (``Message.facts``, each as written in the message) is still there verbatim and no new
number appeared; otherwise the template's message stands, with the reason.

A new language is a folder of templates (and, when Babel's default region for it is not the
hotels', an entry in ``LOCALES``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import dspy
import jinja2
from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal, is_currency
from markupsafe import Markup

TEMPLATE_DIR = Path(__file__).parent / "templates"
# Babel's locale per message language. English is written the British way (1 February 2025,
# 14:00): day before month as in Vietnam and Portugal, and no 12-hour clock. Plain "pt" is
# Brazilian in Babel, hence pt_PT. A language not listed uses Babel's default for it.
LOCALES = {"en": "en_GB", "vi": "vi_VN", "pt": "pt_PT"}
KINDS = {"str": "text", "date": "a date, YYYY-MM-DD", "amount": "a number in the hotel's currency",
         "int": "a whole number", "bool": "true or false", "time": "a time of day, HH:MM",
         "choice": "one of"}
# Kinds whose value the message writes as words of the template (not a fact to keep verbatim).
WORDED = {"bool", "choice"}
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")  # 5.000.000 and 1,234.50 are one number each
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True)
class Variable:
    """One variable a template takes: its kind (a key of ``KINDS``) and what it means."""

    kind: str
    description: str
    required: bool = True
    choices: tuple[str, ...] = ()
    default: Any = None
    minimum: int | None = None  # for int
    max_length: int = 200  # for str

    def expects(self) -> str:
        if self.kind == "choice":
            return f"one of {', '.join(self.choices)}"
        return KINDS[self.kind]


@dataclass(frozen=True)
class TemplateSpec:
    """A template: what it is for, who reads it, its variables, and the facts it adds
    (``derived``: computed, like the nights, or the hotel's, like its check-in time)."""

    description: str
    audience: str  # "guest" | "staff"
    variables: dict[str, Variable]
    derived: tuple[str, ...] = ()

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(n for n, v in self.variables.items() if v.required)

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(n for n, v in self.variables.items() if not v.required)

    def describe(self) -> str:
        """``guest_name (text), ...; optional: booking_id (text), ...``: what to send."""
        def names(which):
            return ", ".join(f"{n} ({self.variables[n].expects()})" for n in which)
        return names(self.required) + (f"; optional: {names(self.optional)}" if self.optional else "")


def _required(kind: str, description: str, **kw) -> Variable:
    return Variable(kind, description, True, **kw)


def _optional(kind: str, description: str, **kw) -> Variable:
    return Variable(kind, description, False, **kw)


FREE_TEXT = 1000
TEMPLATES: dict[str, TemplateSpec] = {
    "booking_confirmation": TemplateSpec(
        "Confirms a booking to the guest: room, dates, nights, total.", "guest", {
            "guest_name": _required("str", "the guest's name as it should be addressed"),
            "room_type": _required("str", "the room type booked, e.g. Deluxe Double"),
            "check_in": _required("date", "arrival day"),
            "check_out": _required("date", "departure day, after check_in"),
            "total_amount": _required("amount", "the stay's total price"),
            "booking_id": _optional("str", "the booking reference"),
            "nights": _optional("int", "nights of the stay; computed from the dates when absent",
                                minimum=1),
            "adults": _optional("int", "number of adults", minimum=1),
            "breakfast_included": _optional("bool", "whether the rate includes breakfast"),
        }, derived=("nights", "check_in_time", "check_out_time")),
    "apology": TemplateSpec(
        "Apologises to a guest for something that went wrong, with an optional gesture.", "guest", {
            "guest_name": _required("str", "the guest's name as it should be addressed"),
            "issue": _required("str", "what went wrong, as words that follow 'our apologies for' / "
                                      "'xin lỗi Quý khách về': e.g. 'the noise from the works on "
                                      "your floor'", max_length=FREE_TEXT),
            "compensation": _optional("str", "what the hotel offers, as words that follow 'we would "
                                             "like to offer you': e.g. 'a complimentary dinner for two'",
                                      max_length=FREE_TEXT),
            "room_number": _optional("str", "the guest's room"),
            "booking_id": _optional("str", "the booking reference"),
        }),
    "checkin_instructions": TemplateSpec(
        "Before arrival: check-in time, documents to bring, early check-in.", "guest", {
            "guest_name": _required("str", "the guest's name as it should be addressed"),
            "check_in": _required("date", "arrival day"),
            "room_type": _required("str", "the room type booked"),
            "check_in_time": _optional("time", "from when the room is available; the hotel's "
                                               "check-in time when absent"),
            "room_number": _optional("str", "the room, when already assigned"),
            "booking_id": _optional("str", "the booking reference"),
        }, derived=("check_in_time", "check_out_time")),
    "checkin_ready": TemplateSpec(
        "Tells the guest their room is ready.", "guest", {
            "guest_name": _required("str", "the guest's name as it should be addressed"),
            "room_number": _required("str", "the room that is ready"),
            "floor": _optional("str", "the room's floor"),
        }),
    "request_received": TemplateSpec(
        "Acknowledges a guest's request: which team has it and by when.", "guest", {
            "guest_name": _required("str", "the guest's name as it should be addressed"),
            "request": _required("str", "what the guest asked for, in a few words", max_length=FREE_TEXT),
            "team": _required("choice", "the team that has it", choices=(
                "housekeeping", "engineering", "front_office", "concierge", "fnb", "finance",
                "guest_relations", "security")),
            "room_number": _optional("str", "the guest's room"),
            "expected_by": _optional("time", "when it should be done, the hotel's local time"),
        }),
    "supervisor_notice": TemplateSpec(
        "Staff notice to a supervisor: what, where, how urgent.", "staff", {
            "topic": _required("str", "the matter in a few words, the notice's subject line"),
            "details": _required("str", "what happened and what is needed", max_length=FREE_TEXT),
            "room_number": _optional("str", "the room concerned"),
            "priority": _optional("choice", "how urgent", choices=("low", "normal", "high", "urgent"),
                                  default="normal"),
        }),
}


def _languages() -> tuple[str, ...]:
    """The languages with a template for every message."""
    return tuple(sorted(d.name for d in TEMPLATE_DIR.iterdir()
                        if d.is_dir() and all((d / f"{t}.j2").is_file() for t in TEMPLATES)))


LANGUAGES = _languages()


@dataclass(frozen=True)
class HotelVoice:
    """What the caller knows of the property a message speaks for."""

    name: str
    currency: str  # ISO 4217: VND, EUR
    check_in_time: str = "14:00"
    check_out_time: str = "12:00"

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("the hotel needs a name")
        if not is_currency(self.currency):
            raise ValueError(f"unknown currency {self.currency!r}: an ISO 4217 code like VND or EUR")
        for which in ("check_in_time", "check_out_time"):
            if not CLOCK.fullmatch(getattr(self, which)):
                raise ValueError(f"the hotel's {which} {getattr(self, which)!r} is not HH:MM")


class MissingVariables(ValueError):
    """Required variables absent (``missing``) or names the template does not take (``unknown``)."""

    def __init__(self, template: str, missing: list[str], unknown: list[str]):
        self.template, self.missing, self.unknown = template, missing, unknown
        spec = TEMPLATES[template]
        problems = []
        if missing:
            problems.append("needs " + ", ".join(
                f"{n} ({spec.variables[n].expects()})" for n in missing))
        if unknown:
            problems.append("does not take " + ", ".join(unknown))
        super().__init__(f"template {template!r} {' and '.join(problems)}; it takes: {spec.describe()}")


class InvalidVariable(ValueError):
    """A variable present but unusable: not a date, a negative amount, check-out before check-in."""

    def __init__(self, variable: str, problem: str):
        self.variable, self.problem = variable, problem
        super().__init__(f"{variable}: {problem}")


@dataclass(frozen=True)
class Message:
    """A rendered message. ``facts``: each value as the message writes it (the names,
    dates, amounts, rooms, references), which a polished text must keep verbatim."""

    template: str
    language: str
    subject: str
    text: str
    html: str
    facts: dict[str, str] = field(default_factory=dict)
    polished: bool = False
    polish_note: str | None = None


def locale_for(language: str) -> str:
    """The Babel locale of a message language; ValueError naming the supported ones."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; supported: {', '.join(LANGUAGES)}")
    return LOCALES.get(language, language)


def _spec(template: str) -> TemplateSpec:
    if template not in TEMPLATES:
        raise ValueError(f"unknown template {template!r}; known: {', '.join(TEMPLATES)}")
    return TEMPLATES[template]


def _coerce(name: str, var: Variable, value: Any) -> Any:
    """The typed value of one variable from JSON; None when absent (null or blank)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    kind = var.kind
    if kind == "str":
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InvalidVariable(name, f"expected text, got {type(value).__name__}")
        text = " ".join(str(value).split())  # written on one line: the fact is what the message shows
        if len(text) > var.max_length:
            raise InvalidVariable(name, f"too long ({len(text)} characters; at most {var.max_length})")
        return text
    if kind == "date":
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if not isinstance(value, str) or not ISO_DATE.fullmatch(value.strip()):
            raise InvalidVariable(name, f"expected a date as YYYY-MM-DD, got {value!r}")
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidVariable(name, f"{value!r} is not a calendar date") from None
    if kind == "amount":
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            raise InvalidVariable(name, f"expected a number, got {type(value).__name__}")
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise InvalidVariable(name, f"expected a number like 1234.50 (no thousands separators, "
                                        f"no currency), got {value!r}") from None
        if not amount.is_finite():
            raise InvalidVariable(name, f"expected a finite number, got {value!r}")
        if amount < 0:
            raise InvalidVariable(name, f"must not be negative, got {value!r}")
        return amount
    if kind == "int":
        if isinstance(value, bool):
            raise InvalidVariable(name, "expected a whole number, got true/false")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise InvalidVariable(name, f"expected a whole number, got {value!r}") from None
        if not number.is_finite() or number != number.to_integral_value():
            raise InvalidVariable(name, f"expected a whole number, got {value!r}")
        if var.minimum is not None and number < var.minimum:
            raise InvalidVariable(name, f"must be at least {var.minimum}, got {value!r}")
        return int(number)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise InvalidVariable(name, f"expected true or false, got {value!r}")
    if kind == "time":
        if isinstance(value, time):
            return value
        match = CLOCK.fullmatch(value.strip()) if isinstance(value, str) else None
        if not match:
            raise InvalidVariable(name, f"expected a time as HH:MM, got {value!r}")
        return time(int(match[1]), int(match[2]))
    if kind == "choice":
        choice = str(value).strip().lower()
        if choice not in var.choices:
            raise InvalidVariable(name, f"expected one of {', '.join(var.choices)}, got {value!r}")
        return choice
    raise AssertionError(f"unknown variable kind {kind!r}")


def validate(template: str, variables: dict) -> dict[str, Any]:
    """The template's variables typed (absent optional ones None, defaults applied), or
    MissingVariables / InvalidVariable saying what to send."""
    spec = _spec(template)
    unknown = sorted(set(variables) - set(spec.variables))
    missing = [name for name in spec.required
               if variables.get(name) is None or str(variables[name]).strip() == ""]
    if missing or unknown:
        raise MissingVariables(template, missing, unknown)
    values = {name: _coerce(name, var, variables.get(name)) for name, var in spec.variables.items()}
    for name, var in spec.variables.items():
        if values[name] is None and var.default is not None:
            values[name] = var.default
    if values.get("check_in") and "check_out" in values:
        nights = (values["check_out"] - values["check_in"]).days
        if nights < 1:
            raise InvalidVariable("check_out", f"must be after check_in ({values['check_in']}), "
                                               f"got {values['check_out']}")
        if values.get("nights") not in (None, nights):
            raise InvalidVariable("nights", f"is {values['nights']} but {values['check_in']} to "
                                            f"{values['check_out']} is {nights}")
        values["nights"] = nights
    return values


def _oneline(value):
    """Whitespace runs (line breaks of a template or a guest's text) to one space; the no-break
    spaces Babel puts in amounts stay. Keeps Markup as Markup (collapsing adds no markup)."""
    out = re.sub(r"[ \t\r\n]+", " ", str(value)).strip()
    return Markup(out) if isinstance(value, Markup) else out


def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["oneline"] = _oneline
    return env


TEXT, HTML = _environment(False), _environment(True)


def _tidy(text: str) -> str:
    """No trailing spaces, paragraphs one blank line apart."""
    text = "\n".join(line.rstrip() for line in text.strip().splitlines())
    return re.sub(r"\n{3,}", "\n\n", text)


def _format(var: Variable, value: Any, locale: str, currency: str) -> str:
    if var.kind == "date":
        return format_date(value, "full", locale=locale)
    if var.kind == "amount":
        return format_currency(value, currency, locale=locale)
    if var.kind == "int":
        return format_decimal(value, locale=locale)
    if var.kind == "time":
        return format_time(value, "short", locale=locale)
    return str(value)


def render(template: str, variables: dict, language: str, hotel: HotelVoice) -> Message:
    """The message ``template`` in ``language`` for ``hotel``, from JSON-like ``variables``."""
    spec = _spec(template)
    locale = locale_for(language)
    values = validate(template, variables)
    if "check_in_time" in spec.derived and values.get("check_in_time") is None:
        values["check_in_time"] = _coerce("check_in_time", Variable("time", ""), hotel.check_in_time)
    if "check_out_time" in spec.derived:
        values["check_out_time"] = _coerce("check_out_time", Variable("time", ""), hotel.check_out_time)
    kinds = {**{n: Variable("time", "") for n in ("check_in_time", "check_out_time")},
             "nights": Variable("int", ""), **spec.variables}
    written = {name: (value if kinds[name].kind in WORDED or value is None
                      else _format(kinds[name], value, locale, hotel.currency))
               for name, value in values.items()}
    facts = {name: written[name] for name in (*spec.variables, *spec.derived)
             if written.get(name) is not None and kinds[name].kind not in WORDED}
    facts["hotel"] = hotel.name
    context = {**written, "hotel": hotel.name, "values": values, "language": language}
    name = f"{language}/{template}.j2"
    text_template = TEXT.get_template(name)
    subject = _oneline("".join(text_template.blocks["subject"](
        text_template.new_context({**context, "output": "txt"}))))
    text = _tidy(text_template.render(**context, output="txt"))
    html = HTML.get_template(name).render(**context, output="html")
    return Message(template, language, subject, text, html, facts)


class PolishMessage(dspy.Signature):
    """Rewrite a hotel's message so it reads warm, natural and professional to a native speaker
    of its language, and stays concise. Keep its meaning and order. Write every value of
    `facts` exactly as given (same characters, same format). Add no new fact, number, date,
    price, promise or offer. Plain text, paragraphs separated by one blank line, no subject."""

    text: str = dspy.InputField(desc="the message as the hotel's template wrote it")
    language: str = dspy.InputField(desc="the language to write in")
    facts: dict[str, str] = dspy.InputField(desc="values that must appear verbatim")
    polished: str = dspy.OutputField(desc="the rewritten message, plain text, in the same language")


def _spaces(text: str) -> str:
    # An LLM writes a plain space where Babel put a no-break space: the same fact.
    return re.sub(r"\s+", " ", text)


def _rejection(message: Message, polished: str) -> str | None:
    """Why the polished text cannot replace the template's (None: it can)."""
    if not polished.strip():
        return "the LLM returned no text"
    changed = [f"{name} ({value!r})" for name, value in message.facts.items()
               if _spaces(value) not in _spaces(polished)]
    if changed:
        return f"the LLM changed or left out {', '.join(changed)}; kept the template"
    new = sorted(set(NUMBER.findall(polished)) - set(NUMBER.findall(message.text)))
    if new:
        return f"the LLM added numbers not in the message ({', '.join(new)}); kept the template"
    return None


def polish(message: Message, lm) -> Message:
    """The message with its text rewritten by ``lm`` (a ``dspy.LM``) when every fact survives;
    otherwise the template's message with ``polish_note`` saying why. ``lm`` None: unchanged."""
    if lm is None:
        return message
    language = Locale.parse(locale_for(message.language)).english_name
    try:
        with dspy.context(lm=lm):
            polished = dspy.Predict(PolishMessage)(text=message.text, language=language,
                                                   facts=message.facts).polished
    except Exception as e:  # any failure of the LLM or its parsing: the template still serves
        reason = (str(e).strip().splitlines() or [""])[0][:200]
        return replace(message, polished=False,
                       polish_note=f"the LLM failed ({type(e).__name__}: {reason}); kept the template")
    polished = _tidy(str(polished or ""))
    if (why := _rejection(message, polished)) is not None:
        return replace(message, polished=False, polish_note=why)
    paragraphs = [block.splitlines() for block in re.split(r"\n\s*\n", polished)]
    html = HTML.get_template("polished.html").render(language=message.language,
                                                     subject=message.subject, paragraphs=paragraphs)
    return replace(message, text=polished, html=html, polished=True, polish_note=None)
