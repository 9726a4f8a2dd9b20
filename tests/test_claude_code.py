"""Claude Code itself, non-interactive (`claude -p`), pointed at Prism with a Prism key.

scripts/test.sh installs it from npm into .cache (PRISM_CLAUDE_CODE names the binary); like the other
service-backed tests, these fail rather than skip under PRISM_REQUIRE_SERVICES=1 when it is missing.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from prism_site.settings import BASE_DIR
from tests.conftest import REQUIRE_SERVICES, usage_records


@pytest.fixture(scope="session")
def claude_binary() -> str:
    binary = os.environ.get("PRISM_CLAUDE_CODE")
    if not binary:
        installed = subprocess.run([BASE_DIR / "scripts" / "claude_code.sh"], capture_output=True, text=True)
        binary = installed.stdout.strip() if installed.returncode == 0 else ""
    if not binary or not Path(binary).exists():
        (pytest.fail if REQUIRE_SERVICES else pytest.skip)("Claude Code is not installed (scripts/claude_code.sh)")
    return binary


def claude(binary, prism_url, key, tmp_path, prompt, *, model, auth="ANTHROPIC_API_KEY", tools=()) -> dict:
    """Run one non-interactive Claude Code session against Prism; its JSON result."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "ANTHROPIC_BASE_URL": prism_url, auth: key,
           "ANTHROPIC_MODEL": model, "DISABLE_TELEMETRY": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
    command = [binary, "-p", prompt, "--output-format", "json"]
    if tools:
        command += ["--allowedTools", *tools]
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["is_error"] is False, result
    return result


@pytest.mark.parametrize("auth", ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"])
def test_a_plain_turn_with_either_auth_style(auth, claude_binary, anthropic_upstream, prism_url, api_key, tmp_path,
                                             transactional_db):
    result = claude(claude_binary, prism_url, api_key, tmp_path, "Say hello", model="claude-haiku-4-5", auth=auth)
    assert result["result"]
    records = usage_records(result["num_turns"], timeout=20) if result["num_turns"] > 1 else usage_records(1)
    assert {record.operation for record in records} == {"messages"}
    assert all(record.status_code == 200 and record.is_stream for record in records)
    headers, _ = anthropic_upstream.received[-1]
    assert "claude-code-20250219" in headers["anthropic-beta"].split(",") and headers["x-api-key"] != api_key


def test_a_turn_that_uses_a_tool(claude_binary, anthropic_upstream, prism_url, api_key, tmp_path, transactional_db):
    (tmp_path / "notes.txt").write_text("The answer is 42.\n")
    result = claude(claude_binary, prism_url, api_key, tmp_path, "Read notes.txt", model="claude-haiku-4-5",
                    tools=["Read"])
    assert result["num_turns"] >= 2  # the model called a tool, Claude Code answered it, the model replied
    bodies = [json.loads(body) for _, body in anthropic_upstream.received if body.startswith(b"{")]
    assert any(block.get("type") == "tool_result" for body in bodies for message in body.get("messages", [])
               if isinstance(message.get("content"), list) for block in message["content"])


def test_claude_code_on_an_openai_model(claude_binary, upstream, prism_url, api_key, tmp_path, transactional_db):
    result = claude(claude_binary, prism_url, api_key, tmp_path, "Say hello", model="gpt-4o")
    assert result["result"]
    records = usage_records(1) if result["num_turns"] == 1 else usage_records(result["num_turns"], timeout=20)
    assert {(record.operation, record.provider) for record in records} == {("messages", "openai_provider")}
