"""Anthropic's Messages requests checked as Anthropic would check them, so that no translation meets a shape it
cannot read: a malformed body is a 400 naming the field (Anthropic's dotted path), never a 500."""

from gateway.errors import InvalidRequest

ROLES = ("user", "assistant", "system")
# The fields a content block of a known type must have; blocks of other types are Anthropic's to judge.
BLOCK_FIELDS = {"text": {"text": str}, "image": {"source": dict}, "document": {"source": dict},
                "tool_use": {"id": str, "name": str, "input": dict}, "tool_result": {"tool_use_id": str},
                "thinking": {"thinking": str, "signature": str}, "redacted_thinking": {"data": str}}
SOURCE_FIELDS = {"base64": ("data", "media_type"), "url": ("url",), "file": ("file_id",), "text": ("data",)}


def fail(path: str, problem: str):
    raise InvalidRequest(f"{path}: {problem}", param=path)


def _check_text_blocks(value, path: str) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, list):
        fail(path, "Input should be a string or a list of text blocks.")
    for index, block in enumerate(value):
        if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
            fail(f"{path}.{index}", "Input should be a text block: {\"type\": \"text\", \"text\": \"...\"}.")


def _check_blocks(blocks: list, path: str, *, in_tool_result=False) -> None:
    for index, block in enumerate(blocks):
        where = f"{path}.{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            fail(where, "Input should be a content block: an object with a 'type'.")
        kind = block["type"]
        if in_tool_result and kind in ("tool_use", "tool_result"):
            fail(f"{where}.type", f"A tool result cannot hold a '{kind}' block.")
        for field, value_type in BLOCK_FIELDS.get(kind, {}).items():
            if not isinstance(block.get(field), value_type):
                fail(f"{where}.{field}", f"Field required: a {'string' if value_type is str else 'object'}.")
        source = block.get("source") if kind in ("image", "document") else None
        fields = SOURCE_FIELDS.get(source.get("type"), [None]) if source is not None else ()
        if not all(isinstance(source.get(field), str) for field in fields):
            fail(f"{where}.source", "Input should be a base64, url or file source with its fields.")
        content = block.get("content") if kind == "tool_result" else None
        if isinstance(content, list):
            _check_blocks(content, f"{where}.content", in_tool_result=True)
        elif content is not None and not isinstance(content, str):
            fail(f"{where}.content", "Input should be a string or a list of content blocks.")


def _check_tools(tools, choice) -> None:
    if not isinstance(tools, list):
        fail("tools", "Input should be a list of tools.")
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str) or not tool["name"]:
            fail(f"tools.{index}.name", "Field required: a tool's name.")
        if tool.get("type") in (None, "custom") and not isinstance(tool.get("input_schema"), dict):
            fail(f"tools.{index}.input_schema", "Field required: a JSON schema object.")
    if choice is None:
        return
    if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
        fail("tool_choice", "Input should be an object whose type is 'auto', 'any', 'tool' or 'none'.")
    if choice["type"] == "tool" and not isinstance(choice.get("name"), str):
        fail("tool_choice.name", "Field required: the name of the tool to use.")
    if not isinstance(choice.get("disable_parallel_tool_use", False), bool):
        fail("tool_choice.disable_parallel_tool_use", "Input should be a boolean.")


def _check_options(data: dict) -> None:
    kinds = {"stream": (bool,), "temperature": (int, float), "top_p": (int, float), "top_k": (int,),
             "metadata": (dict,), "thinking": (dict,), "output_config": (dict,), "stop_sequences": (list,)}
    for name, value_types in kinds.items():
        value = data.get(name)
        if value is not None and (type(value) not in value_types):
            fail(name, f"Input should be a valid {value_types[-1].__name__}.")
    if not all(isinstance(s, str) for s in data.get("stop_sequences") or []):
        fail("stop_sequences", "Input should be a list of strings.")
    if not isinstance((data.get("metadata") or {}).get("user_id"), str | None):
        fail("metadata.user_id", "Input should be a string.")
    thinking = data.get("thinking")
    if thinking is not None and not isinstance(thinking.get("type"), str):
        fail("thinking.type", "Field required: 'enabled', 'adaptive' or 'disabled'.")
    if thinking is not None and thinking["type"] == "enabled":
        budget = thinking.get("budget_tokens")
        if type(budget) is not int or budget < 1024:
            fail("thinking.enabled.budget_tokens", "Input should be an integer of at least 1024.")


def messages_request_check(data, *, counting: bool = False) -> dict:
    """Refuse what Anthropic would refuse, so no translation meets a shape it cannot read; `counting` is
    for /v1/messages/count_tokens, which needs no max_tokens. Unknown fields pass."""
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    if not isinstance(data.get("model"), str) or not data["model"]:
        fail("model", "Field required: a string.")
    max_tokens = data.get("max_tokens")
    if not counting and (type(max_tokens) is not int or max_tokens < 0):  # 0 only warms Anthropic's cache
        fail("max_tokens", "Field required: an integer of at least 0.")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        fail("messages", "Field required: a non-empty list of messages.")
    for index, message in enumerate(messages):
        path = f"messages.{index}"
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            fail(f"{path}.role", "Input should be 'user', 'assistant' or 'system'.")
        content = message.get("content")
        if message["role"] == "system":
            _check_text_blocks(content, f"{path}.content")
        elif isinstance(content, list):
            _check_blocks(content, f"{path}.content")
        elif not isinstance(content, str):
            fail(f"{path}.content", "Input should be a string or a list of content blocks.")
    if data.get("system") is not None:
        _check_text_blocks(data["system"], "system")
    if data.get("tools") is not None or data.get("tool_choice") is not None:
        _check_tools([] if data.get("tools") is None else data["tools"], data.get("tool_choice"))
    _check_options(data)
    return data
