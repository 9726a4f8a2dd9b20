"""Prism as users run it: its own process under daphne or uvicorn, stopped with SIGTERM."""

import openai
import pytest

from tenants.models import UsageRecord
from tests.conftest import PrismProcess, usage_records

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
def test_usage_waiting_in_memory_is_stored_when_the_server_stops(server, upstream, api_key, transactional_db):
    # A long flush interval keeps the records in memory until the server is told to stop.
    prism = PrismProcess(upstream.url, server=server, PRISM_USAGE_FLUSH_INTERVAL="60")
    try:
        client = openai.OpenAI(base_url=f"{prism.url}/v1", api_key=api_key, max_retries=0)
        for _ in range(5):
            client.chat.completions.create(model="gpt-4", messages=MESSAGES)
        streamed = client.chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True)
        assert [chunk.choices[0].finish_reason for chunk in streamed][-1] == "stop"
        assert UsageRecord.objects.count() == 0
    finally:
        prism.stop()
    records = usage_records(6, timeout=1)
    assert sum(record.total_tokens for record in records) == 6 * 10  # 2 prompt and 8 completion tokens each
