"""Every failure answers in OpenAI's error shape with the right status, checked over raw HTTP."""

from datetime import timedelta

import httpx2 as httpx
import openai
import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from providers.registry import providers_reset
from tenants.models import ApiKey
from tests.conftest import usage_records
from tests.openapi import assert_valid

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def post(prism_url, api_key, transactional_db):
    def post(body=None, *, content=None, key=api_key, method="POST", path="/v1/chat/completions"):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.request(method, prism_url + path, json=body, content=content, headers=headers)

    return post


def assert_error(response, status, *, code=None, param=None, type=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert_valid("ErrorResponse", body)
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["code"] == code and body["error"]["param"] == param
    if type:
        assert body["error"]["type"] == type
    assert "Traceback" not in response.text
    return body["error"]


@pytest.mark.parametrize(
    "content, param",
    [
        (b"", None),
        (b"{not json", None),
        (b"[1, 2]", None),
        (b'{"messages": []}', "model"),
        (b'{"model": 4, "messages": [{"role": "user"}]}', "model"),
        (b'{"model": "gpt-4"}', "messages"),
        (b'{"model": "gpt-4", "messages": "hi"}', "messages"),
        (b'{"model": "gpt-4", "messages": [1]}', "messages[0]"),
        (b'{"model": "gpt-4", "messages": [{"role": "user"}], "stream": "yes"}', "stream"),
        (b'{"model": "gpt-4", "messages": [{"role": "user"}], "n": 0}', "n"),
        (b'{"model": "gpt-4", "messages": [{"role": "user"}], "n": 1.5}', "n"),
    ],
)
def test_bad_requests_answer_400_naming_the_param(post, content, param):
    assert_error(post(content=content), 400, param=param, type="invalid_request_error")
    assert usage_records(1)[0].status_code == 400


@pytest.mark.parametrize("key", [None, "sk-proj-openai-key", "prism-000000000000-nosuchkey"])
def test_missing_or_unknown_keys_answer_401(post, key):
    error = assert_error(post({"model": "gpt-4", "messages": MESSAGES}, key=key), 401, code="invalid_api_key")
    assert key is None or key not in error["message"]


def key_update(**fields):
    """Change the key as the admin would (a save, which drops the key cache)."""
    api_key = ApiKey.objects.get()
    for name, value in fields.items():
        setattr(api_key, name, value)
    api_key.save()


def test_revoked_and_expired_keys_answer_401(post, api_key):
    key_update(expires_at=timezone.now() - timedelta(seconds=1))
    assert "expired" in assert_error(post({"model": "gpt-4", "messages": MESSAGES}), 401, code="invalid_api_key")["message"]
    key_update(expires_at=None, revoked_at=timezone.now())
    assert "revoked" in assert_error(post({"model": "gpt-4", "messages": MESSAGES}), 401, code="invalid_api_key")["message"]


def test_unknown_models_and_models_the_key_may_not_use_answer_404(post):
    assert_error(post({"model": "llama-3", "messages": MESSAGES}), 404, code="model_not_found", param="model")
    key_update(allowed_models="gpt-3.5*")
    assert_error(post({"model": "gpt-4", "messages": MESSAGES}), 404, code="model_not_found", param="model")
    assert post({"model": "gpt-3.5-turbo", "messages": MESSAGES}).status_code == 200
    assert [r.status_code for r in usage_records(3)] == [404, 404, 200]


def test_upstream_errors_pass_through_with_their_headers(post):
    response = post({"model": "gpt-fault-429", "messages": MESSAGES})
    assert_error(response, 429, code="rate_limit_exceeded", type="requests")
    assert response.headers["retry-after"] == "1" and response.headers["x-ratelimit-remaining-requests"] == "9999"
    assert_error(post({"model": "gpt-fault-500", "messages": MESSAGES}), 500, type="server_error")
    assert [(r.status_code, r.error_type) for r in usage_records(2)] == [(429, "requests"), (500, "server_error")]


def test_an_upstream_answering_garbage_gives_a_clean_500(post):
    assert_error(post({"model": "gpt-fault-garbage", "messages": MESSAGES}), 500, code="upstream_error")
    assert_error(post({"model": "gpt-fault-garbage", "messages": MESSAGES, "stream": True}), 500, code="upstream_error")


def test_a_stream_cut_by_the_upstream_ends_with_an_error_event(openai_client):
    stream = openai_client.chat.completions.create(model="gpt-fault-cut", messages=MESSAGES, stream=True)
    with pytest.raises(openai.APIError, match="ended the stream early|cut the stream"):
        list(stream)
    [record] = usage_records(1)
    assert record.error_type == "upstream_error"


@pytest.fixture
async def providers_reread(settings):
    """Providers read their settings once: make them read the changed ones, and the restored ones after."""
    await providers_reset()
    yield settings
    await providers_reset()


async def test_an_unreachable_or_unconfigured_upstream_answers_503(post, providers_reread):
    providers_reread.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"
    assert_error(post({"model": "gpt-4", "messages": MESSAGES}), 503, code="service_unavailable")
    providers_reread.OPENAI_API_KEY = ""
    await providers_reset()
    response = post({"model": "gpt-4", "messages": MESSAGES})
    error = assert_error(response, 503, code="provider_not_configured")
    assert "OPENAI_API_KEY" in error["message"] and response.headers["x-should-retry"] == "false"
    await sync_to_async(usage_records)(2)  # stored before the test's tables are emptied, not while


def test_wrong_methods_unknown_paths_and_large_bodies(post, settings):
    assert_error(post(method="GET"), 405, code="method_not_allowed")
    assert_error(post(path="/v1/nothing-here"), 404)
    assert_error(post(method="DELETE", path="/v1/models"), 405, code="method_not_allowed")
    settings.PRISM_MAX_BODY_BYTES = 1000
    assert_error(post(content=b"{" + b" " * 2000 + b"}"), 413, code="request_too_large")
