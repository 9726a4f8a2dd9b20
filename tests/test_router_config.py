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


def test_a_prefix_added_to_the_file_routes_without_a_restart(config_file, openai_client):
    with pytest.raises(openai.NotFoundError):
        openai_client.chat.completions.create(model="llama-3", messages=MESSAGES)
    rewrite(config_file, "prefix_map: {mock: mock_provider, llama: mock_provider}\n")
    deadline, calls = time.monotonic() + 10, 1
    while True:
        calls += 1
        try:
            completion = openai_client.chat.completions.create(model="llama-3", messages=MESSAGES)
            break
        except openai.NotFoundError:
            assert time.monotonic() < deadline, "the new prefix was never used"
            time.sleep(0.2)
    assert completion.choices[0].message.content
    assert openai_client.models.retrieve("llama-3").owned_by == "mock_provider"
    usage_records(calls)
