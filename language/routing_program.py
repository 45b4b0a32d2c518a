"""The DSPy routing program, used where an LLM is configured: it reads the messages the
classifier is unsure of (``needs_human``) and may settle them.

The classifier (``language.request_routing``) decides every message; the LLM is asked
only when the classifier's confidence is below its threshold, and its category is taken
only when it is one of the classifier's two likeliest: a weak or wrong LLM can at worst
leave a message to a person, never send it to a team the classifier ruled out.
"""

from __future__ import annotations

from typing import Literal

import dspy

from language.request_routing import CATEGORIES, TEAMS, RequestRouter

Category = Literal[CATEGORIES]  # type: ignore[valid-type]
Priority = Literal["low", "normal", "high", "urgent"]


class RouteGuestMessage(dspy.Signature):
    """Route a hotel guest's message (Vietnamese or English) to the department that handles
    it, and say how urgent it is."""

    message: str = dspy.InputField()
    category: Category = dspy.OutputField()
    priority: Priority = dspy.OutputField()


class LlmRouting:
    """The classifier, with the LLM as a second reader of the messages it is unsure of."""

    def __init__(self, router: RequestRouter, lm=None):
        self.router, self.lm = router, lm
        self.program = dspy.Predict(RouteGuestMessage)

    def classify(self, text: str) -> dict:
        routed = {**self.router.classify(text), "routed_by": "classifier"}
        if not routed["needs_human"] or self.lm is None:
            return routed
        candidates = self.router.likeliest(text, 2)
        try:
            with dspy.context(lm=self.lm):
                answer = self.program(message=text)
        except Exception as e:  # the LLM down or unparsable: a person reads it, as before
            return {**routed, "reason": f"{routed['reason']}; the LLM could not help ({type(e).__name__})"}
        if answer.category not in candidates:
            return {**routed, "reason": f"{routed['reason']}; the LLM said {answer.category}, "
                                        f"not one of {candidates}"}
        priority = "urgent" if answer.category == "emergency" else answer.priority
        return {**routed, "category": answer.category, "team": TEAMS[answer.category],
                "priority": priority, "request": {**routed["request"], "urgency": priority},
                "needs_human": False, "routed_by": "classifier+llm",
                "reason": f"the classifier hesitated between {candidates}; the LLM chose "
                          f"{answer.category}"}
