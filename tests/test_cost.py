"""Every token class stored as the upstream reported it, through every door, and priced to the cent."""

import uuid
from decimal import Decimal

import anthropic
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from gateway.operations import anthropic_usage, openai_usage, responses_usage
from tenants.models import ModelPrice, UsageRecord
from tenants.selectors import Prices, prices_get
from tenants.services import usage_cost, usage_records_create
from tests.conftest import record, usage_records

MESSAGES = [{"role": "user", "content": "one two three four five six seven eight"}]
CHAT_MODEL = "gpt-4o-cached-5-reasoning-7"  # the mock reports 5 cached prompt tokens and 7 reasoning tokens
STREAM_OPTIONS = ["absent", None, {}, {"include_usage": False}, {"include_usage": True}]


@pytest.fixture(autouse=True)
def shipped_prices(request):
    """The price table Prism ships (tenants/prices.yml), for the tests that use the database."""
    if {"db", "transactional_db", "openai_client", "api_key"} & set(request.fixturenames):
        request.getfixturevalue("transactional_db")
        call_command("loadprices")


def classes(record: UsageRecord) -> dict:
    return {name: getattr(record, name) for name in
            ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "cache_write_tokens",
             "cache_write_1h_tokens", "reasoning_tokens", "audio_input_tokens", "audio_output_tokens")}


def openai_classes(usage) -> dict:
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens, "cached_tokens": usage.prompt_tokens_details.cached_tokens,
            "cache_write_tokens": 0, "cache_write_1h_tokens": 0,
            "reasoning_tokens": usage.completion_tokens_details.reasoning_tokens,
            "audio_input_tokens": usage.prompt_tokens_details.audio_tokens,
            "audio_output_tokens": usage.completion_tokens_details.audio_tokens}


@pytest.mark.parametrize("options", STREAM_OPTIONS)
def test_chat_streams_store_the_upstreams_classes_whatever_the_client_asked(options, openai_client):
    answer = openai_client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, service_tier="flex")
    expected = openai_classes(answer.usage)
    assert expected["cached_tokens"] == 5 and expected["reasoning_tokens"] == 7
    extra = {} if options == "absent" else {"stream_options": options}
    chunks = list(openai_client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, stream=True,
                                                        service_tier="flex", **extra))
    asked = isinstance(options, dict) and options.get("include_usage") is True
    assert [chunk.usage is not None for chunk in chunks].count(True) == asked
    if asked:
        assert openai_classes(chunks[-1].usage) == expected
    whole, streamed = usage_records(2)
    assert classes(whole) == classes(streamed) == expected
    assert whole.service_tier == streamed.service_tier == "flex" and streamed.usage_source == "upstream"


@pytest.mark.parametrize("stream", [False, True])
def test_responses_store_cached_and_reasoning_tokens(stream, openai_client):
    model = "o4-mini-cached-3"  # an o-series model: 64 reasoning tokens
    if stream:
        with openai_client.responses.stream(model=model, input="one two three four") as events:
            usage = events.get_final_response().usage
    else:
        usage = openai_client.responses.create(model=model, input="one two three four").usage
    [stored] = usage_records(1)
    assert classes(stored) == {
        "prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens, "cached_tokens": usage.input_tokens_details.cached_tokens,
        "cache_write_tokens": 0, "cache_write_1h_tokens": 0,
        "reasoning_tokens": usage.output_tokens_details.reasoning_tokens,
        "audio_input_tokens": 0, "audio_output_tokens": 0,
    }
    assert stored.cached_tokens == 3 and stored.reasoning_tokens == 64 and stored.service_tier == "default"


def test_embeddings_store_their_input_tokens(openai_client):
    usage = openai_client.embeddings.create(model="text-embedding-3-small", input=["one two", "three"]).usage
    [stored] = usage_records(1)
    assert (stored.prompt_tokens, stored.completion_tokens, stored.total_tokens) == (
        usage.prompt_tokens, 0, usage.total_tokens)
    assert stored.cost == Decimal(usage.prompt_tokens) * Decimal("0.02") / 1_000_000  # the shipped price


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_messages_store_cache_reads_and_writes_per_ttl(stream, anthropic_upstream, prism_url, api_key,
                                                                 transactional_db):
    unique = uuid.uuid4().hex
    system = [{"type": "text", "text": f"one two three {unique}", "cache_control": {"type": "ephemeral"}},
              {"type": "text", "text": "four five six seven", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    request = {"model": "claude-haiku-4-5", "max_tokens": 50, "system": system,
               "messages": [{"role": "user", "content": "Hello there"}]}
    usages = []
    with anthropic.Anthropic(base_url=prism_url, api_key=api_key, max_retries=0) as claude:
        for _ in range(2):  # the first writes the cache, the second reads it
            if stream:
                with claude.messages.stream(**request) as events:
                    usages.append(events.get_final_message().usage)
            else:
                usages.append(claude.messages.create(**request).usage)
    stored = usage_records(2)
    for usage, record_ in zip(usages, stored):
        cache_read, cache_written = usage.cache_read_input_tokens or 0, usage.cache_creation_input_tokens or 0
        assert classes(record_) == {
            "prompt_tokens": usage.input_tokens + cache_read + cache_written,
            "completion_tokens": usage.output_tokens,
            "total_tokens": usage.input_tokens + cache_read + cache_written + usage.output_tokens,
            "cached_tokens": cache_read, "cache_write_tokens": cache_written,
            "cache_write_1h_tokens": usage.cache_creation.ephemeral_1h_input_tokens if usage.cache_creation else 0,
            "reasoning_tokens": 0, "audio_input_tokens": 0, "audio_output_tokens": 0,
        }
        assert record_.service_tier == "standard"
    assert (stored[0].cache_write_tokens, stored[0].cache_write_1h_tokens, stored[0].cached_tokens) == (9, 4, 0)
    assert (stored[1].cache_write_tokens, stored[1].cached_tokens) == (0, 9)
    assert stored[0].cost == (Decimal(stored[0].prompt_tokens - 9) * 1 + 5 * Decimal("1.25") + 4 * 2
                              + stored[0].completion_tokens * 5) / 1_000_000


def test_a_mixed_request_costs_what_a_hand_computation_says_to_the_cent(openai_client):
    """20,000 prompt tokens of which 15,000 cached, 3,000 reasoning tokens, on o3 at $2 / $0.50 / $8 per million."""
    prompt = " ".join(["word"] * 19_999)  # 19,999 words and the message's one: 20,000 tokens
    answer = openai_client.chat.completions.create(model="o3-cached-15000-reasoning-3000",
                                                   messages=[{"role": "user", "content": prompt}], max_tokens=500)
    usage = answer.usage
    assert (usage.prompt_tokens, usage.prompt_tokens_details.cached_tokens) == (20_000, 15_000)
    assert (usage.completion_tokens, usage.completion_tokens_details.reasoning_tokens) == (3_500, 3_000)
    # By hand: 5,000 fresh x $2 = $0.010; 15,000 cached x $0.50 = $0.0075; 3,500 out x $8 = $0.028.
    [stored] = usage_records(1)
    assert stored.cost == Decimal("0.0455")
    assert stored.cost.quantize(Decimal("0.01")) == Decimal("0.05")
    assert (stored.input_cost, stored.cached_input_cost, stored.output_cost, stored.reasoning_cost) == (
        Decimal("0.01"), Decimal("0.0075"), Decimal("0.004"), Decimal("0.024"))


def test_the_served_tier_scales_the_price(api_key, transactional_db):
    from tenants.models import ApiKey

    key = ApiKey.objects.get()
    flex = {**record(key, "flex", model="o3", prompt=1_000_000, completion=0), "service_tier": "flex"}
    priority = {**record(key, "priority", model="o3", prompt=1_000_000, completion=0), "service_tier": "priority"}
    usage_records_create(records=[flex, priority])
    assert UsageRecord.objects.get(request_id="flex").cost == Decimal("1.00")
    assert UsageRecord.objects.get(request_id="priority").cost == Decimal("3.50")


def test_audio_and_1h_cache_writes_are_priced_apart():
    prices = Prices(m=ModelPrice(model_prefix="m", input_per_million=Decimal(1), output_per_million=Decimal(10),
                                 cache_write_5m_per_million=Decimal("1.25"), cache_write_1h_per_million=Decimal(2),
                                 audio_input_per_million=Decimal(40), audio_output_per_million=Decimal(80)))
    usage = {"served_model": "m-1", "requested_model": "m-1", "prompt_tokens": 1_000_000, "cache_write_tokens": 300_000,
             "cache_write_1h_tokens": 100_000, "audio_input_tokens": 100_000, "completion_tokens": 1_000_000,
             "audio_output_tokens": 500_000}
    cost = usage_cost(usage, prices)
    assert cost["input_cost"] == Decimal("0.6") and cost["cache_write_cost"] == Decimal("0.45")
    assert cost["audio_cost"] == Decimal("44") and cost["output_cost"] == Decimal("5")
    assert cost["cost"] == Decimal("50.05")


def test_a_model_with_no_price_is_stored_unpriced_not_free(api_key, transactional_db):
    from tenants.models import ApiKey

    usage_records_create(records=[record(ApiKey.objects.get(), "r1", model="unknown-llm")])
    stored = UsageRecord.objects.get()
    assert stored.cost is None and stored.input_cost is None


def test_normalisers_keep_every_class_once():
    assert openai_usage({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
                         "prompt_tokens_details": {"cached_tokens": 4, "audio_tokens": 3},
                         "completion_tokens_details": {"reasoning_tokens": 2, "audio_tokens": 1}}) == {
        "prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "cached_tokens": 4, "cache_write_tokens": 0,
        "audio_input_tokens": 3, "reasoning_tokens": 2, "audio_output_tokens": 1}
    assert responses_usage({"input_tokens": 8, "output_tokens": 3, "total_tokens": 11,
                            "input_tokens_details": {"cached_tokens": 2},
                            "output_tokens_details": {"reasoning_tokens": 1}})["reasoning_tokens"] == 1
    assert anthropic_usage({"input_tokens": 3, "output_tokens": 2, "cache_read_input_tokens": 5,
                            "cache_creation_input_tokens": 7, "service_tier": "priority",
                            "cache_creation": {"ephemeral_5m_input_tokens": 4, "ephemeral_1h_input_tokens": 3}}) == {
        "prompt_tokens": 15, "completion_tokens": 2, "total_tokens": 17, "cached_tokens": 5,
        "cache_write_tokens": 7, "cache_write_1h_tokens": 3, "reasoning_tokens": 0, "service_tier": "priority"}


def test_loadprices_imports_a_json_or_yaml_table(db, tmp_path):
    table = tmp_path / "prices.json"
    table.write_text('{"models": {"acme-llm": {"input": "1.5", "output": 6, "cached_input": 0.15, "flex": 0.5,'
                     ' "max_output_tokens": 8192}}}')
    call_command("loadprices", str(table))
    price = prices_get()["acme-llm"]
    assert (price.input_per_million, price.cached_input_per_million, price.flex_multiplier,
            price.reasoning_per_million, price.max_output_tokens) == (
        Decimal("1.5"), Decimal("0.15"), Decimal("0.5"), None, 8192)
    table.write_text("models:\n  acme-llm: {input: 1, price_typo: 2, output: 2}\n")
    with pytest.raises(CommandError, match="unknown price_typo"):
        call_command("loadprices", str(table))


def test_the_dashboard_the_usage_api_and_the_csv_show_cost_per_class_unpriced_and_estimated(db, admin_client):
    from tenants.models import Tenant
    from tenants.services import key_issue

    key, raw = key_issue(tenant=Tenant.objects.create(name="acme"))
    cut = {**record(key, "cut", model="gpt-4o", prompt=1_000_000, completion=100_000), "usage_source": "estimated",
           "cached_tokens": 400_000}
    usage_records_create(records=[cut, record(key, "unpriced", model="unknown-llm", prompt=100, completion=300)])
    [costs] = admin_client.get("/v1/usage", HTTP_AUTHORIZATION=f"Bearer {raw}").json()["costs"]
    assert [Decimal(costs[name]) for name in ("input_cost", "cached_input_cost", "output_cost")] == [
        Decimal("1.5"), Decimal("0.5"), Decimal("1")]
    assert costs["unpriced_requests"] == 1 and costs["estimated_requests"] == 1
    assert costs["estimated_share"] == 1_100_000 / 1_100_400
    page = admin_client.get("/dashboard/").content.decode()
    assert "unpriced" in page and "(estimated)" in page and "$0.5000" in page
    csv = admin_client.get("/dashboard/export/costs.csv").content.decode()
    assert csv.splitlines()[0].startswith("input_cost,cached_input_cost,cache_write_cost")
