"""The DSPy routing program over a request router trained on labelled messages (real
embedder): the LLM (DSPy's DummyLM) is asked only about messages the classifier is unsure
of, and its category is taken only when it is one of the classifier's two likeliest."""

from __future__ import annotations

import dataclasses

import dspy
import pytest
from dspy.utils.dummies import DummyLM

from language.request_routing import CATEGORIES, TEAMS
from language.routing_program import LlmRouting

pytestmark = pytest.mark.xdist_group("language_assistant")  # one worker builds the fixtures

UNSURE = "The minibar charge on my bill looks wrong and nobody at reception helped"
FIRE = "There is smoke in the corridor outside room 305, help!"
CONFIDENT = "Cứu với, có cháy ở tầng 3!"


class Broken(dspy.BaseLM):
    def forward(self, *args, **kwargs):
        raise ConnectionError("endpoint down")


@pytest.fixture(scope="module")
def hesitant(router):
    """The same classifier, with a confidence threshold no answer reaches: a person (or the
    LLM) must read every message."""
    return dataclasses.replace(router, min_confidence=0.99)


def test_without_an_llm_the_classifier_decides(router, hesitant):
    for r in (router, hesitant):
        for text in (UNSURE, FIRE):
            assert LlmRouting(r).classify(text) == {**r.classify(text), "routed_by": "classifier"}
    assert LlmRouting(hesitant).classify(UNSURE)["needs_human"] is True


def test_the_llm_is_not_asked_about_a_message_the_classifier_is_sure_of(router):
    routed = router.classify(CONFIDENT)
    assert not routed["needs_human"] and routed["category"] == "emergency"
    lm = DummyLM([{"category": "billing", "priority": "low"}])
    assert LlmRouting(router, lm).classify(CONFIDENT) == {**routed, "routed_by": "classifier"}
    assert lm.history == []


def test_an_llm_category_among_the_two_likeliest_settles_the_message(hesitant):
    classifier = hesitant.classify(UNSURE)
    assert classifier["needs_human"]
    first, second = hesitant.likeliest(UNSURE, 2)
    assert first == classifier["category"]
    # the LLM reads it as the classifier's second guess: taken
    lm = DummyLM([{"category": second, "priority": "high"}])
    routed = LlmRouting(hesitant, lm).classify(UNSURE)
    assert (routed["category"], routed["team"], routed["priority"]) == (second, TEAMS[second], "high")
    assert routed["request"]["urgency"] == "high"
    assert routed["needs_human"] is False and routed["routed_by"] == "classifier+llm"
    assert second in routed["reason"] and first in routed["reason"]
    assert routed["confidence"] == classifier["confidence"]  # the classifier's, as it was
    assert len(lm.history) == 1 and UNSURE in lm.history[0]["messages"][-1]["content"]


def test_an_llm_category_the_classifier_ruled_out_leaves_the_message_to_a_person(hesitant):
    classifier = hesitant.classify(UNSURE)
    candidates = hesitant.likeliest(UNSURE, 2)
    outside = next(c for c in CATEGORIES if c not in candidates and c != "emergency")
    routed = LlmRouting(hesitant, DummyLM([{"category": outside, "priority": "low"}])).classify(UNSURE)
    assert routed["needs_human"] is True and routed["routed_by"] == "classifier"
    assert (routed["category"], routed["team"], routed["priority"]) == (
        classifier["category"], classifier["team"], classifier["priority"])
    assert f"the LLM said {outside}, not one of {candidates}" in routed["reason"]


def test_an_emergency_the_llm_confirms_is_urgent_whatever_priority_it_says(hesitant):
    assert hesitant.classify(FIRE)["needs_human"]
    assert "emergency" in hesitant.likeliest(FIRE, 2)
    routed = LlmRouting(hesitant, DummyLM([{"category": "emergency", "priority": "low"}])).classify(FIRE)
    assert (routed["category"], routed["team"], routed["priority"]) == ("emergency", "security", "urgent")
    assert routed["request"]["urgency"] == "urgent" and routed["needs_human"] is False


def test_an_llm_that_fails_leaves_the_message_to_a_person(hesitant):
    routed = LlmRouting(hesitant, Broken("broken")).classify(UNSURE)
    assert routed["needs_human"] is True and routed["routed_by"] == "classifier"
    assert routed["reason"].endswith("the LLM could not help (ConnectionError)")
