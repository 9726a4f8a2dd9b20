"""The mock upstream's Responses API routes, with the store that `previous_response_id` and the GETs read.

`store: false` keeps nothing. A `background: true` response is answered `queued`; it has finished by the
time anyone retrieves it, unless it was cancelled first. Only background responses can be cancelled.
"""

import time
from dataclasses import dataclass

from . import mock_answers, mock_responses
from .mock_http import json_response, openai_error


@dataclass
class Stored:
    request: dict
    response: dict  # as it is now
    finished: dict  # as it is once done
    history: list[dict]  # the chat messages a later previous_response_id continues


class ResponseRoutes:
    def __init__(self, upstream):
        self.upstream = upstream
        self.stored: dict[str, Stored] = {}

    def add_to(self, router, prefix: str):
        route = self.upstream.openai
        router.add_post(f"{prefix}/responses", route(self.create))
        router.add_get(f"{prefix}/responses/{{response_id}}", route(self.retrieve))
        router.add_delete(f"{prefix}/responses/{{response_id}}", route(self.delete))
        router.add_post(f"{prefix}/responses/{{response_id}}/cancel", route(self.cancel))
        router.add_get(f"{prefix}/responses/{{response_id}}/input_items", route(self.input_items))

    async def create(self, request, data, fault):
        previous = data.get("previous_response_id")
        if previous is not None and previous not in self.stored:
            return openai_error(400, f"Previous response with id '{previous}' not found.", "invalid_request_error",
                                "previous_response_not_found", param="previous_response_id")
        history = self.stored[previous].history if previous else []
        response_id = f"resp_mock{self.upstream.next_id():024x}"
        answer = mock_responses.response(data, response_id=response_id, created_at=int(time.time()),
                                         history=history, length=self.upstream.tokens)
        shown = answer
        if data.get("background") and not data.get("stream"):
            shown = mock_responses.unfinished(answer, "queued")
        if data.get("store", True):
            self.stored[response_id] = Stored(data, shown, answer, mock_responses.history(data, answer, history))
        headers = {"x-request-id": f"req_mock_{self.upstream.next_id()}"}
        if not data.get("stream"):
            tokens = answer["usage"]["output_tokens"] if shown is answer else 0
            return await self.upstream.answer(shown, model=data["model"], tokens=tokens, headers=headers)
        obfuscate = (data.get("stream_options") or {}).get("include_obfuscation", True)
        events = [(mock_answers.typed_sse(event), event["type"] == "response.output_text.delta")
                  for event in mock_responses.events(answer, obfuscate=obfuscate)]
        return await self.upstream.stream(request, events, model=data["model"], fault=fault, headers=headers)

    def _found(self, request) -> Stored | None:
        return self.stored.get(request.match_info["response_id"])

    @staticmethod
    def _not_found(request):
        message = f"Response with id '{request.match_info['response_id']}' not found."
        return openai_error(404, message, "invalid_request_error", None)

    async def retrieve(self, request, data, fault):
        stored = self._found(request)
        if stored is None:
            return self._not_found(request)
        if stored.response["status"] == "queued":
            stored.response = stored.finished
        return json_response(stored.response)

    async def delete(self, request, data, fault):
        if self.stored.pop(request.match_info["response_id"], None) is None:
            return self._not_found(request)
        return json_response({"id": request.match_info["response_id"], "object": "response.deleted", "deleted": True})

    async def cancel(self, request, data, fault):
        stored = self._found(request)
        if stored is None:
            return self._not_found(request)
        if not stored.request.get("background"):
            return openai_error(400, "Only responses created with background=true can be cancelled.",
                                "invalid_request_error", None)
        if stored.response["status"] == "completed":
            return openai_error(400, "Cannot cancel a completed response.", "invalid_request_error", None)
        stored.response = stored.finished = {**stored.response, "status": "cancelled"}
        return json_response(stored.response)

    async def input_items(self, request, data, fault):
        """The stored input, newest first unless `order=asc`, `limit` at a time, `after` an item id."""
        stored = self._found(request)
        if stored is None:
            return self._not_found(request)
        items = mock_responses.input_items(stored.request, response_id=request.match_info["response_id"])
        if request.query.get("order", "desc") == "desc":
            items.reverse()
        ids = [item["id"] for item in items]
        after = request.query.get("after")
        if after in ids:
            items = items[ids.index(after) + 1:]
        limit = int(request.query.get("limit", 20))
        page = items[:limit]
        return json_response({"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                              "last_id": page[-1]["id"] if page else None, "has_more": len(items) > limit})
