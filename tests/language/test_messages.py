"""Guest and staff messages: every template in every language writes all its facts in the text
and the HTML; amounts and dates as the locale writes them (Babel); variables from JSON checked
with errors that say what to send; HTML escaped; an LLM's polish kept only when the facts are."""

from __future__ import annotations

import unicodedata

import dspy
import pytest
from dspy.utils.dummies import DummyLM
from markupsafe import escape

from language.messages import (LANGUAGES, TEMPLATES, HotelVoice, InvalidVariable, Message,
                               MissingVariables, polish, render)

SAIGON = HotelVoice("Hotel Lotus Saigon", "VND", check_in_time="15:00", check_out_time="11:00")
LISBON = HotelVoice("Casa Alfama", "EUR")
# Every variable of every template, as the API's JSON brings them.
FULL = {
    "booking_confirmation": {"guest_name": "John Doe", "room_type": "Deluxe Double",
                             "check_in": "2025-02-01", "check_out": "2025-02-04",
                             "total_amount": 5000000, "booking_id": "BK-1029", "nights": 3,
                             "adults": 2, "breakfast_included": True},
    "apology": {"guest_name": "Nguyễn Văn An", "issue": "the noise from the works on your floor",
                "compensation": "a complimentary dinner for two", "room_number": "1204",
                "booking_id": "BK-77"},
    "checkin_instructions": {"guest_name": "Jane Smith", "check_in": "2025-03-15",
                             "room_type": "Superior Twin", "check_in_time": "13:30",
                             "room_number": "305", "booking_id": "BK-3"},
    "checkin_ready": {"guest_name": "Jane Smith", "room_number": "305", "floor": "3"},
    "request_received": {"guest_name": "Jane Smith", "request": "2 extra towels",
                         "team": "housekeeping", "room_number": "305", "expected_by": "14:30"},
    "supervisor_notice": {"topic": "Air conditioning broken", "room_number": "1204",
                          "details": "The guest reports warm air since 22:00.", "priority": "high"},
}


def test_every_template_has_its_variables_described_and_every_language():
    assert set(FULL) == set(TEMPLATES)
    assert LANGUAGES == ("en", "vi")
    for name, spec in TEMPLATES.items():
        assert set(FULL[name]) == set(spec.variables), name
        assert spec.required and all(v.description for v in spec.variables.values())


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_writes_all_its_facts_in_text_and_html(template, language):
    message = render(template, FULL[template], language, SAIGON)
    assert (message.template, message.language, message.polished) == (template, language, False)
    assert message.subject and "\n" not in message.subject
    worded = {"breakfast_included", "priority", "team"}  # written as the template's words, not as facts
    assert set(message.facts) >= set(FULL[template]) - worded | {"hotel"}
    for name, value in message.facts.items():
        assert value in message.text, (name, value)
        assert str(escape(value)) in message.html, (name, value)
    assert message.html.startswith("<!DOCTYPE html>") and f'lang="{language}"' in message.html
    assert "{{" not in message.text + message.html and "\n\n\n" not in message.text


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_vietnamese_is_written_with_its_diacritics(template):
    message = render(template, FULL[template], "vi", SAIGON)
    greeting = "Kính gửi Anh/Chị" if TEMPLATES[template].audience == "staff" else "Kính gửi Quý khách"
    assert message.text.startswith(greeting)
    assert "Trân trọng," in message.text
    assert unicodedata.is_normalized("NFC", message.text + message.subject)
    # the letters only Vietnamese has, in the template's own words (not only in the values)
    assert set("ươđâêôă") & set(message.subject.lower() + message.text.replace(SAIGON.name, ""))


@pytest.mark.parametrize("hotel, amount, language, written", [
    (SAIGON, 5000000, "vi", "5.000.000\u00a0₫"),
    (SAIGON, "5000000", "en", "₫5,000,000"),
    (LISBON, 1234.5, "en", "€1,234.50"),
    (LISBON, "1234.5", "vi", "1.234,50\u00a0€"),
])
def test_amounts_in_the_hotels_currency_as_the_language_writes_them(hotel, amount, language, written):
    message = render("booking_confirmation", {**FULL["booking_confirmation"], "total_amount": amount},
                     language, hotel)
    assert message.facts["total_amount"] == written
    assert written in message.text


def test_dates_times_and_nights_as_the_language_writes_them():
    variables = {k: v for k, v in FULL["booking_confirmation"].items() if k != "nights"}
    en = render("booking_confirmation", variables, "en", SAIGON)
    vi = render("booking_confirmation", variables, "vi", SAIGON)
    assert en.facts["check_in"] == "Saturday, 1 February 2025"
    assert vi.facts["check_in"] == "Thứ Bảy, 1 tháng 2, 2025"
    assert "Check-in: Saturday, 1 February 2025, from 15:00" in en.text  # the hotel's time
    assert "Check-out: Tuesday, 4 February 2025, by 11:00" in en.text
    assert "3 nights" in en.text and "3 đêm" in vi.text  # computed from the dates
    one = render("booking_confirmation", {**variables, "check_out": "2025-02-02", "adults": 1},
                 "en", SAIGON)
    assert "1 night\n" in one.text and "1 adult\n" in one.text
    # the check-in time a caller sends beats the hotel's
    checkin = render("checkin_instructions", FULL["checkin_instructions"], "en", SAIGON)
    assert checkin.facts["check_in_time"] == "13:30" and "15:00" not in checkin.text


def test_optional_variables_may_be_left_out():
    required = {k: v for k, v in FULL["booking_confirmation"].items()
                if k in TEMPLATES["booking_confirmation"].required}
    message = render("booking_confirmation", {**required, "booking_id": None}, "en", LISBON)
    assert "Booking reference" not in message.text and "Breakfast" not in message.text
    assert "booking_id" not in message.facts
    notice = render("supervisor_notice", {"topic": "Lift stuck", "details": "Lift B stopped at floor 2."},
                    "en", LISBON)
    assert notice.subject == "Lift stuck" and "Priority: normal" in notice.text


def test_missing_and_unknown_variables_name_what_to_send():
    variables = {k: v for k, v in FULL["booking_confirmation"].items()
                 if k not in ("check_in", "total_amount")}
    with pytest.raises(MissingVariables) as missing:
        render("booking_confirmation", {**variables, "check_in": " "}, "en", SAIGON)
    assert missing.value.missing == ["check_in", "total_amount"] and missing.value.unknown == []
    assert missing.value.template == "booking_confirmation"
    assert ("needs check_in (a date, YYYY-MM-DD), total_amount (a number in the hotel's currency)"
            in str(missing.value))
    assert "optional: booking_id (text)" in str(missing.value)
    with pytest.raises(MissingVariables) as unknown:
        render("checkin_ready", {"guest_name": "A", "room_number": "1", "checkin": "x"}, "en", SAIGON)
    assert unknown.value.unknown == ["checkin"] and unknown.value.missing == []
    assert "does not take checkin" in str(unknown.value)


@pytest.mark.parametrize("change, variable, problem", [
    ({"check_out": "2025-01-30"}, "check_out", "after check_in"),
    ({"check_out": "2025-02-01"}, "check_out", "after check_in"),
    ({"check_in": "2025-02-30"}, "check_in", "not a calendar date"),
    ({"check_in": "01/02/2025"}, "check_in", "YYYY-MM-DD"),
    ({"total_amount": -10}, "total_amount", "negative"),
    ({"total_amount": "5.000.000"}, "total_amount", "no thousands separators"),
    ({"total_amount": "NaN"}, "total_amount", "finite"),
    ({"total_amount": True}, "total_amount", "number"),
    ({"adults": 0}, "adults", "at least 1"),
    ({"adults": 2.5}, "adults", "whole number"),
    ({"nights": 5}, "nights", "is 3"),
    ({"breakfast_included": "maybe"}, "breakfast_included", "true or false"),
    ({"guest_name": ["John"]}, "guest_name", "text"),
    ({"guest_name": "x" * 201}, "guest_name", "too long"),
])
def test_invalid_variables_say_which_and_why(change, variable, problem):
    with pytest.raises(InvalidVariable) as invalid:
        render("booking_confirmation", {**FULL["booking_confirmation"], **change}, "en", SAIGON)
    assert invalid.value.variable == variable and problem in invalid.value.problem
    assert str(invalid.value).startswith(f"{variable}: ")


def test_other_invalid_values_and_unknown_language_or_template():
    with pytest.raises(InvalidVariable, match="one of low, normal, high, urgent"):
        render("supervisor_notice", {**FULL["supervisor_notice"], "priority": "asap"}, "en", SAIGON)
    with pytest.raises(InvalidVariable, match="HH:MM"):
        render("checkin_instructions", {**FULL["checkin_instructions"], "check_in_time": "2pm"},
               "en", SAIGON)
    with pytest.raises(ValueError, match="unsupported language 'fr'; supported: en, vi"):
        render("checkin_ready", FULL["checkin_ready"], "fr", SAIGON)
    with pytest.raises(ValueError, match="unknown template 'invoice'; known: booking_confirmation"):
        render("invoice", {}, "en", SAIGON)
    with pytest.raises(ValueError, match="currency"):
        HotelVoice("Somewhere", "XYZ")
    with pytest.raises(ValueError, match="check_in_time"):
        HotelVoice("Somewhere", "EUR", check_in_time="2 pm")


def test_html_escapes_what_the_caller_sends():
    hostile = "<script>alert('x')</script>"
    message = render("apology", {**FULL["apology"], "guest_name": hostile,
                                 "issue": 'the "broken" <b>shower</b>'}, "en", SAIGON)
    assert "<script>" not in message.html and "<b>" not in message.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in message.html
    assert "&lt;b&gt;shower&lt;/b&gt;" in message.html
    assert f"Dear {hostile}," in message.text  # plain text is not HTML: written as sent


# -- polish ----------------------------------------------------------------------------------

def booking(language: str = "en") -> Message:
    return render("booking_confirmation", FULL["booking_confirmation"], language, SAIGON)


def rewrite(message: Message, old: str, new: str) -> str:
    assert old in message.text
    return message.text.replace(old, new)


def test_no_llm_leaves_the_message_as_it_is():
    message = booking()
    assert polish(message, None) is message


def test_a_polish_that_keeps_every_fact_is_taken():
    message = booking("vi")
    # the LLM rewrites a sentence and writes plain spaces where Babel put no-break ones
    text = rewrite(message, "Chúng tôi luôn sẵn lòng hỗ trợ.",
                   "Chúng tôi luôn sẵn lòng hỗ trợ Quý khách.\nRất mong sớm được gặp Quý khách!")
    text = text.replace("\u00a0", " ")
    lm = DummyLM([{"polished": text}])
    out = polish(message, lm)
    assert out.polished and out.polish_note is None
    assert out.text == text and out.subject == message.subject and out.facts == message.facts
    assert "Rất mong sớm được gặp Quý khách!" in out.html and "<br>" in out.html
    assert out.html.count("<p ") == len(text.split("\n\n"))
    # the LLM was asked in the message's language, with the facts to keep
    prompt = lm.history[-1]["messages"][-1]["content"]
    assert "Vietnamese" in prompt and "BK-1029" in prompt and message.text in prompt


@pytest.mark.parametrize("old, new, why", [
    ("₫5,000,000", "₫500,000", "total_amount"),
    ("Saturday, 1 February 2025", "Sunday, 2 February 2025", "check_in"),
    ("John Doe", "Mr Doe", "guest_name"),
    ("simply reply to this email", "enjoy 10% off when you reply to this email",
     "numbers not in the message (10)"),
])
def test_a_polish_that_changes_a_fact_or_adds_a_number_is_refused(old, new, why):
    message = booking()
    out = polish(message, DummyLM([{"polished": rewrite(message, old, new)}]))
    assert out.polished is False and why in out.polish_note and "kept the template" in out.polish_note
    assert (out.text, out.html) == (message.text, message.html)


def test_an_llm_that_fails_leaves_the_template():
    class Broken(dspy.BaseLM):
        def forward(self, *args, **kwargs):
            raise ConnectionError("endpoint down")

    message = booking()
    out = polish(message, Broken("broken"))
    assert out.polished is False and "endpoint down" in out.polish_note
    assert out.text == message.text
