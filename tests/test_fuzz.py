"""Thousands of generated bodies and headers: never a 500 or a traceback, and a usage record per accepted request."""

import json

import httpx2 as httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tenants.models import UsageRecord
from tests.conftest import usage_records
from tests.openapi import assert_valid

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
messages = st.lists(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "assistant", "tool"])},
                          optional={"content": json_values, "name": json_values}),
    max_size=3,
) | json_values
requests = st.fixed_dictionaries(
    {"model": st.sampled_from(["mock-1", "mock-2", "gpt-unknown-to-nobody"]) | json_values, "messages": messages},
    optional={name: json_values for name in ["stream", "n", "stop", "max_tokens", "tools", "tool_choice",
                                             "functions", "function_call", "logprobs", "top_logprobs", "stream_options"]},
)
bodies = requests.map(lambda body: json.dumps(body).encode()) | json_values.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=200)
header_values = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80).map(str.strip)
headers = st.dictionaries(
    st.sampled_from(["content-type", "accept", "x-stainless-lang", "openai-organization", "x-anything"]),
    header_values,
    max_size=3,
)


@pytest.fixture
def http(prism_url, api_key, transactional_db):
    with httpx.Client(base_url=prism_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=10) as client:
        yield client


def check(response):
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    if response.status_code >= 400:
        assert_valid("ErrorResponse", response.json())


def test_generated_requests_never_break_prism(http):
    sent = 0

    @settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(body=bodies, extra_headers=headers)
    def fuzz(body, extra_headers):
        nonlocal sent
        check(http.post("/v1/chat/completions", content=body, headers=extra_headers))
        sent += 1

    fuzz()
    assert len(usage_records(sent, timeout=30)) == sent  # every request carried a valid key


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    authorization=header_values,
    method=st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "POST"]),
    path=st.sampled_from(["/v1/chat/completions", "/v1/models", "/v1/models/x", "/v1/nope", "/nope"]),
)
def test_generated_keys_methods_and_paths_answer_in_openais_shape(http, authorization, method, path):
    response = http.request(method, path, headers={"Authorization": authorization}, content=b"{}")
    check(response)
    assert UsageRecord.objects.count() == 0 or response.status_code != 401
