"""The parts of a Responses request as chat parameters; a malformed or untranslatable part is a 400 naming it."""

from gateway.errors import InvalidRequest

ROLES = ("user", "assistant", "system", "developer")
TEXT_PARTS = ("input_text", "output_text")
TOOL_CHOICES = ("auto", "none", "required")
FUNCTION_FIELDS = ("description", "parameters", "strict")  # a function tool's, beside its name, in either API


def invalid(param: str, expected: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid value for '{param}': expected {expected}.", param=param)


def string(value, param: str) -> str:
    if not isinstance(value, str):
        raise invalid(param, "a string")
    return value


def chat_messages(instructions, items) -> list[dict]:
    """The chat `messages` for `instructions` (a leading system message) and `input` (a string or items)."""
    messages = [{"role": "system", "content": string(instructions, "instructions")}] if instructions is not None else []
    if isinstance(items, str):
        return messages + [{"role": "user", "content": items}]
    if not isinstance(items, list):
        raise invalid("input", "a string or an array of input items")
    for index, item in enumerate(items):
        param = f"input[{index}]"
        if not isinstance(item, dict):
            raise invalid(param, "an object")
        kind = item.get("type", "message")
        if kind == "message":
            messages.append(_message(item, param))
        elif kind == "function_call":
            _add_call(messages, item, param)
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": string(item.get("call_id"), f"{param}.call_id"),
                             "content": _tool_output(item.get("output"), f"{param}.output")})
        elif kind != "reasoning":  # reasoning items are the model's own thoughts, readable only by OpenAI's models
            raise InvalidRequest(f"Input items of type {kind!r} are not available for this model; send messages, "
                                 "function calls and their outputs.", param=f"{param}.type")
    return messages


def _message(item: dict, param: str) -> dict:
    role = item.get("role")
    if role not in ROLES:
        raise invalid(f"{param}.role", "one of " + ", ".join(ROLES))
    return {"role": role, "content": _content(item.get("content"), f"{param}.content")}


def _content(content, param: str) -> str | list[dict]:
    """Chat content for Responses content: a string, or a list of parts."""
    if isinstance(content, list):
        return [_part(part, f"{param}[{index}]") for index, part in enumerate(content)]
    return string(content, param)


def _part(part, param: str) -> dict:
    if not isinstance(part, dict):
        raise invalid(param, "an object")
    kind = part.get("type")
    if kind in TEXT_PARTS:
        return {"type": "text", "text": string(part.get("text"), f"{param}.text")}
    if kind == "refusal":
        return {"type": "refusal", "refusal": string(part.get("refusal"), f"{param}.refusal")}
    if kind == "input_image" and part.get("image_url") is not None:
        image = {"url": string(part["image_url"], f"{param}.image_url")}
        if part.get("detail") is not None:
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "input_file" and part.get("file_data") is not None:
        file = {"file_data": string(part["file_data"], f"{param}.file_data")}
        if part.get("filename") is not None:
            file["filename"] = string(part["filename"], f"{param}.filename")
        return {"type": "file", "file": file}
    if kind in ("input_image", "input_file"):
        raise InvalidRequest("Uploaded files are not available to this model; send the file's content inline "
                             "('image_url' as a data URL, or 'file_data').", param=param)
    raise invalid(f"{param}.type", "input_text, input_image, input_file, output_text or refusal")


def _add_call(messages: list[dict], item: dict, param: str) -> None:
    """Add a function call to the assistant message before it, as chat has the calls of one turn in one message."""
    call = {"id": string(item.get("call_id"), f"{param}.call_id"), "type": "function",
            "function": {"name": string(item.get("name"), f"{param}.name"),
                         "arguments": string(item.get("arguments"), f"{param}.arguments")}}
    if messages and messages[-1]["role"] == "assistant":
        messages[-1].setdefault("tool_calls", []).append(call)
    else:
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})


def _tool_output(output, param: str) -> str | list[dict]:
    content = _content(output, param)
    if isinstance(content, list) and any(part["type"] != "text" for part in content):
        raise InvalidRequest("Only text function call outputs can be sent to this model.", param=param)
    return content


def chat_tools(tools) -> list[dict]:
    if not isinstance(tools, list):
        raise invalid("tools", "an array")
    translated = []
    for index, tool in enumerate(tools):
        param = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise invalid(param, "an object")
        if tool.get("type") != "function":
            raise InvalidRequest(f"Tools of type {tool.get('type')!r} are not available for this model; "
                                 "only 'function' tools are.", param=f"{param}.type")
        function = {"name": string(tool.get("name"), f"{param}.name")}
        function.update({key: tool[key] for key in FUNCTION_FIELDS if tool.get(key) is not None})
        translated.append({"type": "function", "function": function})
    return translated


def chat_tool_choice(choice):
    if isinstance(choice, str) and choice in TOOL_CHOICES:
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": string(choice.get("name"), "tool_choice.name")}}
    raise InvalidRequest("This model can only be given 'auto', 'none', 'required' or a function as 'tool_choice'.",
                         param="tool_choice")


def chat_text_options(text) -> dict:
    """`response_format` and `verbosity` from the Responses `text` parameter."""
    if text is None:
        return {}
    if not isinstance(text, dict):
        raise invalid("text", "an object")
    options = {"verbosity": text["verbosity"]} if text.get("verbosity") is not None else {}
    shape = text.get("format")
    if shape is None:
        return options
    if not isinstance(shape, dict):
        raise invalid("text.format", "an object")
    if shape.get("type") == "json_object":
        options["response_format"] = {"type": "json_object"}
    elif shape.get("type") == "json_schema":
        if not isinstance(shape.get("schema"), dict):
            raise invalid("text.format.schema", "an object")
        schema = {"name": string(shape.get("name"), "text.format.name"), "schema": shape["schema"]}
        schema.update({key: shape[key] for key in ("description", "strict") if shape.get(key) is not None})
        options["response_format"] = {"type": "json_schema", "json_schema": schema}
    elif shape.get("type") != "text":
        raise InvalidRequest("'text.format.type' must be 'text', 'json_object' or 'json_schema'.",
                             param="text.format.type")
    return options
