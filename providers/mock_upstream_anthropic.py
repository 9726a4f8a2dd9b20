"""The mock upstream's Anthropic routes: Messages (streamed and not) and count_tokens, with one prompt cache."""

from . import mock_anthropic, mock_answers
from .mock_http import json_response

REQUIRED = ("model", "messages", "max_tokens")


class AnthropicRoutes:
    def __init__(self, upstream):
        self.upstream = upstream
        self.cache = mock_anthropic.PromptCache()

    def add_to(self, router):
        router.add_post("/v1/messages", self.upstream.anthropic(self.messages))
        router.add_post("/v1/messages/count_tokens", self.upstream.anthropic(self.count_tokens))

    async def messages(self, request, data, fault, request_id):
        _require(data, REQUIRED)
        message_id = f"msg_mock{self.upstream.next_id():024x}"
        answer = mock_anthropic.message(data, message_id=message_id, cache=self.cache, length=self.upstream.tokens)
        headers = {"request-id": request_id}
        if not data.get("stream"):
            return await self.upstream.answer(answer, model=data["model"],
                                              tokens=answer["usage"]["output_tokens"], headers=headers)
        events = [(mock_answers.typed_sse(event), event["type"] == "content_block_delta")
                  for event in mock_anthropic.events(answer)]
        return await self.upstream.stream(request, events, model=data["model"], fault=fault, headers=headers)

    async def count_tokens(self, request, data, fault, request_id):
        _require(data, REQUIRED[:2])
        return json_response({"input_tokens": mock_anthropic.input_tokens(data)}, headers={"request-id": request_id})


def _require(data: dict, fields) -> None:
    """Refuse, as Anthropic does, a body without a required field or with no messages."""
    for field in fields:
        if field not in data:
            raise ValueError(f"{field}: Field required")
    if not isinstance(data["messages"], list) or not data["messages"]:
        raise ValueError("messages: at least one message is required")
