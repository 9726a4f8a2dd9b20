"""Generated bodies at every door, and through the translations: never a 500, always the door's error shape."""

import json

import httpx2 as httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.conftest import usage_records
from tests.openapi import assert_valid

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
items = st.lists(st.fixed_dictionaries({}, optional={"role": st.sampled_from(["user", "assistant", "system", "tool"]),
                                                    "type": st.sampled_from(["message", "function_call_output", "text",
                                                                             "tool_use", "tool_result", "image"]),
                                                    "content": json_values, "call_id": json_values}), max_size=3)
# Models served natively and translated: the mock (chat only, translated for responses, completions and
# messages), OpenAI-format gpt-4o and Anthropic's claude (translated for chat, responses and completions).
MODELS = st.sampled_from(["mock-1", "gpt-4o", "claude-haiku-4-5", "text-embedding-3-small"]) | json_values
FIELDS = ["stream", "n", "stop", "max_tokens", "tools", "tool_choice", "temperature", "stream_options", "system",
          "instructions", "previous_response_id", "store", "prompt", "encoding_format", "dimensions", "thinking"]
requests = st.fixed_dictionaries(
    {"model": MODELS},
    optional={"messages": items | json_values, "input": items | json_values, **{name: json_values for name in FIELDS}},
)
DOORS = ["/v1/chat/completions", "/v1/responses", "/v1/completions", "/v1/embeddings", "/v1/moderations",
         "/v1/messages", "/v1/messages/count_tokens"]


def check(door: str, response) -> None:
    assert response.status_code < 500 or response.status_code == 503, response.text
    assert "Traceback" not in response.text
    if response.status_code < 400 or response.headers.get("content-type", "").startswith("text/event-stream"):
        return
    body = response.json()
    if door.startswith("/v1/messages"):
        assert body["type"] == "error" and set(body["error"]) == {"type", "message"}, body
    else:
        assert_valid("ErrorResponse", body)


def test_generated_bodies_at_every_door(prism_url, api_key, anthropic_upstream, transactional_db):
    sent = 0
    with httpx.Client(base_url=prism_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=20) as http:

        @settings(max_examples=700, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(door=st.sampled_from(DOORS), body=requests)
        def fuzz(door, body):
            nonlocal sent
            check(door, http.post(door, content=json.dumps(body).encode()))
            sent += 1

        fuzz()
    assert len(usage_records(sent, timeout=30)) == sent


@pytest.mark.parametrize("body, status", [
    ({"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "hi"}], "tools": [1]}, 400),
    ({"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": 5}]}, 400),
    ({"model": "claude-haiku-4-5", "messages": [{"role": "tool", "content": "x"}]}, 400),
    ({"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}, 400),
    ({"model": "claude-haiku-4-5", "messages": [{"role": "assistant", "tool_calls": [{"function": {}}]}]}, 400),
    (b'{"model": "mock-1", "messages": [{"role": "user", "content": "hi"}], "stream": true, "stream_options": {},'
     b' "deep": ' + b"[" * 1000 + b"]" * 1000 + b"}", 200),
])
def test_shapes_that_broke_the_translations(body, status, prism_url, api_key, anthropic_upstream, transactional_db):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = httpx.post(f"{prism_url}/v1/chat/completions", content=content,
                          headers={"Authorization": f"Bearer {api_key}"})
    check("/v1/chat/completions", response)
    assert response.status_code == status
    usage_records(1)
