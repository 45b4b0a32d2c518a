"""The LLM configuration: providers checked, an endpoint that is down reported with a reason,
no LLM a supported setting; and the bundled SmolLM2 served by xllamacpp in this process,
reached over HTTP, behind the assistant's LLM mode: whatever the small model writes, the
answer shown is either a checked LLM answer or the deterministic one saying why."""

from __future__ import annotations

import time

import dspy
import pytest

from language.assistant import Assistant
from language.llm import LOCAL_MODEL, LLMConfig, LocalServer, local_model_path
from tests.conftest import free_port

pytestmark = pytest.mark.xdist_group("language_assistant")  # one worker builds the fixtures


def test_a_provider_must_be_known_and_an_endpoint_needs_its_url():
    with pytest.raises(ValueError, match="unknown LLM provider 'martian'"):
        LLMConfig("martian", "http://127.0.0.1:1/v1")
    for provider in ("local", "openai"):
        with pytest.raises(ValueError, match=f"the {provider} LLM needs a base URL"):
            LLMConfig(provider)
    assert LLMConfig("openai", "http://llm.example/v1").capable is True
    assert LLMConfig("local", "http://127.0.0.1:1/v1").capable is False  # the 135M model


def test_no_llm_is_a_setting_not_an_error():
    config = LLMConfig("none")
    assert config.enabled is False and config.lm() is None
    status = config.status()
    assert status["reachable"] is False and status["model"] is None
    assert "no LLM configured" in status["reason"]


@pytest.mark.parametrize("provider, hint", [("local", True), ("openai", False)])
def test_an_endpoint_that_is_down_is_unreachable_with_the_reason(provider, hint):
    base_url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    status = LLMConfig(provider, base_url).status()
    assert status["reachable"] is False and status["base_url"] == base_url
    assert status["reason"].startswith(f"{base_url} does not answer: ")
    assert ("innsight serve" in status["reason"]) is hint


def test_the_lm_of_a_configured_endpoint_is_deterministic():
    lm = LLMConfig("local", "http://127.0.0.1:1/v1", timeout_s=7.0).lm()
    assert isinstance(lm, dspy.LM) and lm.model == f"openai/{LOCAL_MODEL}"
    assert lm.kwargs["temperature"] == 0.0 and lm.kwargs["max_tokens"] == 512


def test_the_bundled_model_behind_the_assistant_never_shows_an_unchecked_answer(data):
    assert local_model_path().stat().st_size > 50e6
    started = time.perf_counter()
    with LocalServer(free_port()) as server:
        config = LLMConfig("local", server.base_url, timeout_s=45.0)
        status = config.status()
        assert status["reachable"] is True and status["reason"] is None
        # the config's LM with short answers: at ~50 tokens/s (less on a busy machine) the
        # default 512 would take minutes over ReAct's steps
        lm = config.lm().copy(max_tokens=48)
        question = "Until what time can a guest check out late?"
        answer = Assistant(data, lm=lm, use_llm=True).answer(question, {"llm:query"})
    assert time.perf_counter() - started < 240
    assert answer.language == "en" and answer.response
    if answer.mode == "llm":
        assert answer.note is None
        if not answer.refused:  # a checked answer: every sentence cited and supported
            assert answer.citations["cited"] == answer.citations["supported"] > 0
            assert answer.sources and all(f"[{s['id']}]" in answer.response
                                          for s in answer.sources)
    else:
        assert answer.mode == "deterministic"
        assert answer.note.startswith(("deterministic: the LLM failed",
                                       "deterministic: the LLM's answer was not shown because"))
        # the fallback is the deterministic answer itself
        assert answer.response == Assistant(data).answer(question, {"llm:query"}).response
