"""config.yml is read again when it changes, at most once a second, so routing edits need no restart."""

import os
import time

import openai
import pytest

from providers import config as router_config
from tests.conftest import usage_records

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def config_file(tmp_path, settings):
    path = tmp_path / "config.yml"
    path.write_text("prefix_map: {mock: mock_provider}\n")
    settings.PRISM_ROUTER_CONFIG = str(path)
    return path


def rewrite(path, text):
    """Write the file and give it a later modification time than it had (some file systems count seconds)."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(router_config, "clock", lambda: now[0])
    return now


def test_the_file_is_read_again_once_it_changed_and_a_second_passed(config_file, clock):
    first = router_config.router_config_load()
    assert first["prefix_map"] == {"mock": "mock_provider"}
    rewrite(config_file, "prefix_map: {mock: mock_provider, llama: mock_provider}\n")
    clock[0] += 0.5
    assert router_config.router_config_load() is first  # not looked at within the second
    clock[0] += 0.6
    assert router_config.router_config_load()["prefix_map"] == {"mock": "mock_provider", "llama": "mock_provider"}
    clock[0] += 5
    assert router_config.router_config_load() is router_config.router_config_load()  # unchanged: not parsed again


def test_a_broken_edit_keeps_the_last_good_config(config_file, clock, caplog):
    good = router_config.router_config_load()
    rewrite(config_file, "prefix_map: [unclosed\n")
    clock[0] += 2
    assert router_config.router_config_load() is good
    assert "Keeping the previous routing configuration" in caplog.text
    rewrite(config_file, "- a list, not a mapping\n")
    clock[0] += 2
    assert router_config.router_config_load() is good


def chat_until(client, done, timeout=10.0) -> tuple[int, int]:
    """Call llama-3 until the answer's status is in `done` (config edits apply within a second): (status, calls)."""
    deadline, calls = time.monotonic() + timeout, 0
    while True:
        calls += 1
        try:
            client.chat.completions.create(model="llama-3", messages=MESSAGES)
            status = 200
        except openai.APIStatusError as error:
            status = error.status_code
        if status in done:
            return status, calls
        assert time.monotonic() < deadline, f"still {status} after {timeout} s"
        time.sleep(0.2)


def test_a_prefix_added_to_the_file_routes_without_a_restart(config_file, openai_client):
    assert chat_until(openai_client, {404}, timeout=0) == (404, 1)
    rewrite(config_file, "prefix_map: {mock: mock_provider, llama: mock_provider}\n")
    _, calls = chat_until(openai_client, {200})
    assert openai_client.models.retrieve("llama-3").owned_by == "mock_provider"
    usage_records(1 + calls)


def test_a_server_whose_entry_changed_is_called_at_its_new_address(config_file, openai_client, upstream, settings):
    settings.PRISM_UPSTREAM_RETRIES = 0
    server = "providers: {{local: {{base_url: '{url}', models: [llama-3]}}}}\nprefix_map: {{llama: local}}\n"
    rewrite(config_file, server.format(url="http://127.0.0.1:9/v1"))  # nothing listens there
    _, unreachable = chat_until(openai_client, {502, 503})
    rewrite(config_file, server.format(url=upstream.url))
    _, answered = chat_until(openai_client, {200})
    usage_records(unreachable + answered)
