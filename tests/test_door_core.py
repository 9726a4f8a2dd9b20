"""What every door shares: usage whatever the client's stream_options, request ids, relayed upstream
errors, CORS, model names, and providers that are not configured."""

import asyncio
import threading

import httpx2 as httpx
import openai
import orjson
import pytest
from aiohttp import web

from gateway.streaming import SSERelay
from providers.registry import providers_reset
from tests.conftest import usage_records
from tests.openapi import assert_valid

MESSAGES = [{"role": "user", "content": "one two three"}]


def stream_chunks(response) -> list[dict]:
    lines = [line for line in response.text.split("\n") if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    return [orjson.loads(line[6:]) for line in lines[:-1]]


@pytest.mark.parametrize("options", ["absent", None, {}, {"include_usage": False}, {"include_usage": True},
                                     {"include_usage": False, "x_extra": 1}])
def test_streams_are_counted_from_the_upstream_whatever_the_client_sent(options, prism_url, api_key, upstream,
                                                                       transactional_db):
    body = {"model": "gpt-4", "messages": MESSAGES, "stream": True}
    if options != "absent":
        body["stream_options"] = options
    response = httpx.post(f"{prism_url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {api_key}"})
    chunks = stream_chunks(response)
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk)
    asked = isinstance(options, dict) and options.get("include_usage") is True
    assert any(chunk.get("usage") for chunk in chunks) == asked
    assert all("usage" not in chunk for chunk in chunks) or asked
    sent = orjson.loads(upstream.received[-1][1])
    assert sent["stream_options"]["include_usage"] is True
    if isinstance(options, dict):
        assert sent["stream_options"] == {**options, "include_usage": True}
    [record] = usage_records(1)
    assert (record.prompt_tokens, record.usage_source, record.operation) == (4, "upstream", "chat")


def test_the_openai_sdk_with_stream_options_none_is_counted_exactly(openai_client, upstream):
    stream = openai_client.chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True, stream_options=None)
    words = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    [record] = usage_records(1)
    assert record.completion_tokens == len(words.split()) and record.prompt_tokens == 4


def test_every_answer_carries_a_request_id_the_sdks_read(openai_client, prism_url):
    with pytest.raises(openai.NotFoundError) as raised:
        openai_client.chat.completions.create(model="unknown-model", messages=MESSAGES)
    assert raised.value.request_id.startswith("req_")
    assert raised.value.response.headers["x-prism-request-id"] == raised.value.request_id
    response = openai_client.chat.completions.with_raw_response.create(model="gpt-4", messages=MESSAGES)
    assert response.request_id.startswith("req_mock_")  # the upstream's own, when it sends one
    usage_records(2)


@pytest.mark.parametrize("model", ["gpt-4\u0000", "gpt-4\n", "x" * 300])
def test_model_names_with_control_characters_or_too_long_are_refused(model, openai_client):
    with pytest.raises(openai.BadRequestError) as raised:
        openai_client.chat.completions.create(model=model, messages=MESSAGES)
    assert raised.value.body["param"] == "model"


@pytest.fixture
def odd_upstream():
    """An upstream that answers 413 with a plain-text body and 422 with JSON, as proxies and servers do."""
    async def handler(request):
        model = (await request.json())["model"]
        if model.endswith("413"):
            return web.Response(status=413, text="Request Entity Too Large")
        return web.json_response({"detail": [{"loc": ["body"], "msg": "bad"}]}, status=422)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


async def test_an_upstreams_4xx_is_relayed_with_its_status_and_body(odd_upstream, prism_url, api_key, settings,
                                                                    transactional_db):
    settings.OPENAI_BASE_URL = odd_upstream
    await providers_reset()
    async with httpx.AsyncClient() as client:
        for model, status, text in (("gpt-413", 413, "Request Entity Too Large"), ("gpt-422", 422, '"bad"')):
            response = await client.post(f"{prism_url}/v1/chat/completions", json={"model": model, "messages": MESSAGES},
                                         headers={"Authorization": f"Bearer {api_key}"})
            assert response.status_code == status and text in response.text
    await providers_reset()


def test_a_provider_without_a_key_is_not_retried_by_the_sdk_and_recorded_once(prism_url, api_key, settings,
                                                                                  transactional_db):
    settings.OPENAI_API_KEY = ""
    asyncio.run(providers_reset())
    with openai.OpenAI(base_url=f"{prism_url}/v1", api_key=api_key, max_retries=2) as client:
        with pytest.raises(openai.InternalServerError) as raised:
            client.chat.completions.create(model="gpt-4", messages=MESSAGES)
    assert "OPENAI_API_KEY" in raised.value.message
    [record] = usage_records(1)
    assert (record.status_code, record.error_type) == (503, "provider_not_configured")
    asyncio.run(providers_reset())


def test_cors_answers_preflight_and_marks_answers_for_allowed_origins_only(prism_url, api_key, settings,
                                                                           transactional_db):
    settings.PRISM_CORS_ORIGINS = ["https://app.example.com"]
    url = f"{prism_url}/v1/chat/completions"
    preflight = httpx.options(url, headers={"Origin": "https://app.example.com",
                                            "Access-Control-Request-Method": "POST",
                                            "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert httpx.options(url, headers={"Origin": "https://evil.example"}).status_code == 403
    answer = httpx.post(url, json={"model": "mock-1", "messages": MESSAGES},
                        headers={"Authorization": f"Bearer {api_key}", "Origin": "https://app.example.com"})
    assert answer.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "x-request-id" in answer.headers["access-control-expose-headers"]
    other = httpx.post(url, json={"model": "mock-1", "messages": MESSAGES},
                       headers={"Authorization": f"Bearer {api_key}", "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    usage_records(2)


def test_events_ending_in_crlf_are_relayed_and_the_stream_is_complete():
    relay = SSERelay(hide_usage=False)
    sent = relay.feed(b'data: {"choices":[{"delta":{"content":"a"}}]}\r\n\r\ndata: [DONE]\r')
    sent += relay.feed(b"\n\r\n")
    assert relay.done and sent.count(b"\n\n") == 2 and b"\r" not in sent


def test_a_role_only_first_chunk_is_not_counted_as_a_token():
    relay = SSERelay(hide_usage=False)
    relay.feed(b'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n'
               b'data: {"choices":[{"delta":{"content":"Hello"}}]}\n\n'
               b'data: {"choices":[{"delta":{"content":" there"}}]}\n\n')
    assert relay.delivered == 2


async def test_a_client_that_hangs_up_after_the_end_of_a_stream_is_not_recorded_as_gone():
    """The SDKs close the connection once [DONE] arrives, sometimes before the upstream has closed its own."""
    from gateway.plugins.interface import ProviderResponse, RequestContext
    from gateway.streaming import stream_relay
    from gateway.usage_writer import usage_record
    from tenants.selectors import KeyInfo

    upstream_open = asyncio.Event()

    async def upstream():
        yield b'data: {"choices":[{"delta":{"content":"hi"}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\n'
        yield b"data: [DONE]\n\n"
        await upstream_open.wait()  # the upstream keeps its connection open a moment longer

    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        while not any(b"[DONE]" in message.get("body", b"") for message in sent):
            await asyncio.sleep(0.001)
        return {"type": "http.disconnect"}

    context = RequestContext(request_data={"model": "gpt-4", "stream": True})
    context.api_key = KeyInfo(1, "p", "h", 1, "acme", True, (), None, False)
    context.response = ProviderResponse(200, stream=upstream())
    await stream_relay(context, send, receive)
    record = usage_record(context)
    assert (record["status_code"], record["total_tokens"], record["usage_source"]) == (200, 2, "upstream")
