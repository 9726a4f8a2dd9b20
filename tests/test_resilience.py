"""What Prism does when the upstream or the client misbehaves, injected for real by the mock upstream."""

import asyncio
import time
import uuid

import aiohttp
import openai
import pytest
from asgiref.sync import sync_to_async

from tenants.models import RoutingRule
from tests.conftest import usage_records

MESSAGES = [{"role": "user", "content": "hi"}]


def unique(model: str) -> str:
    return f"{model}-{uuid.uuid4().hex[:8]}"


def sent_to_upstream(upstream, model: str) -> int:
    return sum(1 for _, body in upstream.received if model.encode() in body)


def test_a_flaky_upstream_is_retried_until_it_answers(openai_client, upstream, settings):
    settings.PRISM_RETRY_BACKOFF = 0.01
    model = unique("gpt-flaky-2")
    assert openai_client.chat.completions.create(model=model, messages=MESSAGES).choices
    assert sent_to_upstream(upstream, model) == 3
    streamed = unique("gpt-flaky-1")
    assert list(openai_client.chat.completions.create(model=streamed, messages=MESSAGES, stream=True))
    assert sent_to_upstream(upstream, streamed) == 2
    assert [r.status_code for r in usage_records(2)] == [200, 200]


def test_retries_give_up_after_the_configured_count(openai_client, upstream, settings):
    settings.PRISM_RETRY_BACKOFF, settings.PRISM_UPSTREAM_RETRIES = 0.01, 1
    model = unique("gpt-flaky-5")
    with pytest.raises(openai.InternalServerError):
        openai_client.chat.completions.create(model=model, messages=MESSAGES)
    assert sent_to_upstream(upstream, model) == 2
    assert usage_records(1)[0].status_code == 503


def test_the_upstreams_retry_after_is_honoured(openai_client, upstream, settings):
    settings.PRISM_UPSTREAM_RETRIES = 1
    started = time.monotonic()
    with pytest.raises(openai.RateLimitError):
        openai_client.chat.completions.create(model="gpt-fault-429", messages=MESSAGES)
    assert time.monotonic() - started >= 1  # the mock asks for Retry-After: 1
    settings.PRISM_RETRY_MAX_WAIT = 0.5  # now it asks too much: no retry
    started = time.monotonic()
    with pytest.raises(openai.RateLimitError):
        openai_client.chat.completions.create(model="gpt-fault-429", messages=MESSAGES)
    assert time.monotonic() - started < 1
    usage_records(2)


def test_a_failing_route_falls_back_and_the_record_says_who_served(openai_client, tenant, settings):
    settings.PRISM_RETRY_BACKOFF = 0.01
    RoutingRule.objects.create(tenant=tenant, model_prefix="gpt-4", provider="openai_provider",
                               upstream_model="gpt-fault-503", fallbacks="openai_provider:gpt-fault-500, mock_provider:mock-2")
    completion = openai_client.chat.completions.create(model="gpt-4", messages=MESSAGES)
    assert completion.model == "mock-2"
    [record] = usage_records(1)
    assert (record.requested_model, record.provider, record.served_model, record.status_code) == (
        "gpt-4", "mock_provider", "mock-2", 200)


def test_a_routing_rules_timeout_answers_504(openai_client, tenant, settings):
    settings.PRISM_UPSTREAM_RETRIES = 0
    RoutingRule.objects.create(tenant=tenant, model_prefix="gpt-slow", provider="openai_provider", timeout=0.3)
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as raised:
        openai_client.chat.completions.create(model="gpt-slow-delay-1000", messages=MESSAGES)
    assert raised.value.status_code == 504 and raised.value.code == "timeout"
    assert time.monotonic() - started < 1
    assert usage_records(1)[0].status_code == 504


def test_a_stalled_stream_ends_with_an_error_event(openai_client, settings):
    settings.PRISM_UPSTREAM_READ_TIMEOUT = 0.3
    stream = openai_client.chat.completions.create(model="gpt-delay-1000", messages=MESSAGES, stream=True)
    with pytest.raises(openai.APIError, match="did not answer in time"):
        list(stream)
    assert usage_records(1)[0].error_type == "timeout"


async def test_a_client_hanging_up_mid_stream_cancels_the_upstream_within_a_second(prism_url, api_key, upstream, transactional_db):
    model = unique("gpt-delay-200")
    async with aiohttp.ClientSession() as session:
        response = await session.post(f"{prism_url}/v1/chat/completions", headers={"Authorization": f"Bearer {api_key}"},
                                      json={"model": model, "messages": MESSAGES, "stream": True})
        chunks = []
        async for chunk in response.content.iter_any():
            chunks.append(chunk)
            if b'"content":"Hello ' in b"".join(chunks):
                break
        response.close()  # hang up
    hung_up = time.monotonic()
    while model not in upstream.cancelled:
        assert time.monotonic() - hung_up < 1, "the upstream stream was not cancelled"
        await asyncio.sleep(0.02)
    [record] = await sync_to_async(usage_records, thread_sensitive=False)(1)
    assert (record.status_code, record.error_type) == (499, "client_disconnected")
    assert 1 <= record.completion_tokens <= 3
