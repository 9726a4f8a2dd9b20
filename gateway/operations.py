"""The operations Prism serves, each described once: its upstream path, its checks, how its usage is read.

One endpoint serves them all (gateway/endpoint.py) and one pipeline runs them; what differs between
`/v1/chat/completions`, `/v1/responses`, `/v1/embeddings`, `/v1/completions`, `/v1/moderations` and
`/v1/messages` is only what this module says about them. Usage is normalised to one dict, whichever
format reported it: prompt, completion and total tokens plus the classes that change the price.
"""

from dataclasses import dataclass
from typing import Callable

from . import requests
from .formats import ANTHROPIC, OPENAI, ErrorFormat


def _int(value) -> int:
    return value if type(value) is int and value > 0 else 0


def _details(usage: dict, name: str) -> dict:
    details = usage.get(name)
    return details if isinstance(details, dict) else {}


def openai_usage(usage: dict | None) -> dict | None:
    """Chat, completions and embeddings: OpenAI's cached and audio input tokens are inside prompt_tokens,
    reasoning and audio output tokens inside completion_tokens."""
    if not isinstance(usage, dict):
        return None
    prompt, completion = _int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens"))
    prompt_details = _details(usage, "prompt_tokens_details")
    completion_details = _details(usage, "completion_tokens_details")
    return {
        "prompt_tokens": prompt, "completion_tokens": completion,
        "total_tokens": _int(usage.get("total_tokens")) or prompt + completion,
        "cached_tokens": _int(prompt_details.get("cached_tokens")),
        "cache_write_tokens": _int(prompt_details.get("cache_write_tokens")),  # Responses' name; Claude through chat
        "audio_input_tokens": _int(prompt_details.get("audio_tokens")),
        "reasoning_tokens": _int(completion_details.get("reasoning_tokens")),
        "audio_output_tokens": _int(completion_details.get("audio_tokens")),
    }


def responses_usage(usage: dict | None) -> dict | None:
    """The Responses API's names for the same classes."""
    if not isinstance(usage, dict):
        return None
    return openai_usage({
        "prompt_tokens": usage.get("input_tokens"), "completion_tokens": usage.get("output_tokens"),
        "total_tokens": usage.get("total_tokens"), "prompt_tokens_details": usage.get("input_tokens_details"),
        "completion_tokens_details": usage.get("output_tokens_details"),
    })


def anthropic_usage(usage: dict | None) -> dict | None:
    """Anthropic's cache reads and writes are not inside input_tokens: the prompt is their sum.

    Cache writes are split by how long they are kept (`cache_creation`); the tier the answer was served on
    comes with the usage."""
    if not isinstance(usage, dict):
        return None
    fresh, output = _int(usage.get("input_tokens")), _int(usage.get("output_tokens"))
    read, written = _int(usage.get("cache_read_input_tokens")), _int(usage.get("cache_creation_input_tokens"))
    prompt = fresh + read + written
    tier = usage.get("service_tier")
    return {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output,
            "cached_tokens": read, "cache_write_tokens": written,
            "cache_write_1h_tokens": _int(_details(usage, "cache_creation").get("ephemeral_1h_input_tokens")),
            "reasoning_tokens": _int(_details(usage, "output_tokens_details").get("thinking_tokens")),
            **({"service_tier": tier} if isinstance(tier, str) else {})}


def no_usage(usage: dict | None) -> None:
    """Reading or deleting a stored response, or counting tokens, uses none."""
    return None


@dataclass(frozen=True)
class StreamFormat:
    """How a stream of server-sent events ends, and where its events carry usage.

    The usage objects found are merged in order (Anthropic's message_start has the input side and
    message_delta the output), then read with the operation's `usage_of`.
    """

    ends: tuple[bytes, ...]  # bytes found only in the last event of a complete stream
    usage_in: Callable[[dict], dict | None]  # the usage object of one parsed event, if it has one
    piece: bytes  # found once in each event that delivers text or arguments (about a token each)...
    empty_piece: bytes  # ...and once in each such event that delivers nothing (a role-only first chunk)
    asks_for_usage: bool = False  # OpenAI's chat and completions send usage only when asked (stream_options)


def _response_usage_in(event):
    response = event.get("response")
    return response.get("usage") if isinstance(response, dict) else None


def _message_usage_in(event):
    message = event.get("message")
    return event.get("usage") or (message.get("usage") if isinstance(message, dict) else None)


OPENAI_SSE = StreamFormat(ends=(b"data: [DONE]",), usage_in=lambda event: event.get("usage"),
                          piece=b'"delta":{"', empty_piece=b'"delta":{"role"', asks_for_usage=True)
COMPLETIONS_SSE = StreamFormat(ends=(b"data: [DONE]",), usage_in=lambda event: event.get("usage"),
                               piece=b'"text":"', empty_piece=b'"text":""', asks_for_usage=True)
RESPONSES_SSE = StreamFormat(ends=(b'"response.completed"', b'"response.failed"', b'"response.incomplete"'),
                             usage_in=_response_usage_in, piece=b'.delta"', empty_piece=b'"delta":""')
ANTHROPIC_SSE = StreamFormat(ends=(b'"message_stop"',), usage_in=_message_usage_in, piece=b'"delta":{"type":"',
                             empty_piece=b'_delta","text":""')


@dataclass(frozen=True)
class Operation:
    """One kind of call: `path` is where it goes under an upstream's base URL ({id} from the door's URL)."""

    name: str
    path: str
    check: Callable[[object], dict] | None = None  # validates the client's JSON body; None: no body
    usage_of: Callable[[dict | None], dict | None] = openai_usage  # from a whole answer's usage object
    stream: StreamFormat | None = None
    errors: ErrorFormat = OPENAI
    method: str = "POST"
    stateful: bool = False  # acts on a stored response: routed to the upstream that created it
    forwards_query: bool = False  # the door's query string goes upstream too
    default_model: str = ""  # for operations whose model is optional


CHAT = Operation("chat", "/chat/completions", requests.chat_check, stream=OPENAI_SSE)
COMPLETIONS = Operation("completions", "/completions", requests.completions_check, stream=COMPLETIONS_SSE)
EMBEDDINGS = Operation("embeddings", "/embeddings", requests.embeddings_check)
MODERATIONS = Operation("moderations", "/moderations", requests.moderations_check,
                        default_model="omni-moderation-latest")
RESPONSES = Operation("responses", "/responses", requests.responses_check, usage_of=responses_usage,
                      stream=RESPONSES_SSE)
RESPONSE_GET = Operation("responses", "/responses/{id}", method="GET", stateful=True, usage_of=no_usage,
                         forwards_query=True)
RESPONSE_DELETE = Operation("responses", "/responses/{id}", method="DELETE", stateful=True, usage_of=no_usage)
RESPONSE_CANCEL = Operation("responses", "/responses/{id}/cancel", stateful=True, usage_of=no_usage)
RESPONSE_INPUT_ITEMS = Operation("responses", "/responses/{id}/input_items", method="GET", stateful=True,
                                 usage_of=no_usage, forwards_query=True)
MESSAGES = Operation("messages", "/messages", requests.messages_check, usage_of=anthropic_usage,
                     stream=ANTHROPIC_SSE, errors=ANTHROPIC, forwards_query=True)
COUNT_TOKENS = Operation("count_tokens", "/messages/count_tokens", requests.count_tokens_check, usage_of=no_usage,
                         errors=ANTHROPIC, forwards_query=True)
