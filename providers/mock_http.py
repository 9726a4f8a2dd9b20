"""What every route of the mock upstream shares: faults chosen by the model's name, and errors in each vendor's shape."""

import re

import orjson
from aiohttp import web

FAULT = re.compile(r"-fault-(\w+)")
DELAY = re.compile(r"-delay-(\d+)")
FLAKY = re.compile(r"-flaky-(\d+)")
OPENAI_ERRORS = {
    "429": ("Rate limit reached for requests.", "requests", "rate_limit_exceeded"),
    "500": ("The server had an error while processing your request.", "server_error", None),
    "503": ("The engine is currently overloaded, please try again later.", "server_error", None),
}
ANTHROPIC_ERRORS = {
    "429": ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
    "500": ("api_error", "Internal server error"),
    "529": ("overloaded_error", "Overloaded"),
}
RATE_LIMIT_HEADERS = {
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-remaining-requests": "9999",
    "x-ratelimit-reset-requests": "6ms",
}
GARBAGE = b"<html>Bad gateway</html>"


class Faults:
    """The fault a model's name asks for; `-flaky-<n>` counts the requests of each exact name."""

    def __init__(self):
        self._failures = {}

    def of(self, model: str, *, flaky_status: str) -> str | None:
        flaky = FLAKY.search(model)
        if flaky and self._failures.setdefault(model, 0) < int(flaky.group(1)):
            self._failures[model] += 1
            return flaky_status
        fault = FAULT.search(model)
        return fault.group(1) if fault else None


def delay_of(model: str, default: float) -> float:
    """Seconds to wait before each token."""
    found = DELAY.search(model)
    return int(found.group(1)) / 1000 if found else default


def json_response(body: dict, *, status: int = 200, headers=None) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json", headers=headers)


def openai_error(status: int, message: str, type_: str, code: str | None, *, param: str | None = None,
                 headers=None) -> web.Response:
    return json_response({"error": {"message": message, "type": type_, "param": param, "code": code}},
                         status=status, headers=headers)


def openai_fault(fault: str) -> web.Response:
    headers = {"Retry-After": "1", **RATE_LIMIT_HEADERS} if fault == "429" else None
    return openai_error(int(fault), *OPENAI_ERRORS[fault], headers=headers)


def anthropic_error(status: int, kind: str, message: str, *, request_id: str, headers=None) -> web.Response:
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}
    return json_response(body, status=status, headers={"request-id": request_id, **(headers or {})})


def anthropic_fault(fault: str, *, request_id: str) -> web.Response:
    headers = {"retry-after": "1"} if fault in ("429", "529") else None
    return anthropic_error(int(fault), *ANTHROPIC_ERRORS[fault], request_id=request_id, headers=headers)
