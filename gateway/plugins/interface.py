"""The plugin interface: a request context, and plugins that each do their part and hand it on."""

import itertools
import json
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson

from gateway.errors import InvalidRequest
from gateway.operations import CHAT, Operation
from tenants.selectors import KeyInfo


_ids = {}


def _request_ids_reset():
    _ids.update(prefix=secrets.token_hex(8), count=itertools.count())


_request_ids_reset()
os.register_at_fork(after_in_child=_request_ids_reset)


def request_id_new() -> str:
    """A unique request id: a random prefix per process, then a counter (cheaper than uuid4 per request)."""
    return f"req_{_ids['prefix']}{next(_ids['count']):08x}"


@dataclass
class ProviderResponse:
    """What an upstream answered, ready to relay: a whole body, or a stream of SSE bytes."""

    status: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None


@dataclass
class Route:
    provider_name: str
    provider: "Plugin"
    upstream_model: str
    timeout: float | None = None
    fallbacks: tuple[tuple[str, str], ...] = ()
    endpoint: str = ""  # a routing rule's base URL for the provider, instead of its own
    api_key: str = ""  # a deployment's own key for the provider, instead of the tenant's or the provider's
    deployment: str = ""  # the deployment that serves, by name
    plan: Any = None  # the deployments' plan that chose this route, and chooses the next one if it fails


@dataclass
class RequestContext:
    """One request on its way through the pipeline: a chat completion unless `operation` says otherwise.

    `body` holds the client's JSON bytes, forwarded untouched unless a plugin changes
    `request_data` and clears it; `response` holds what the provider answered. Plugins add
    `response_headers` to every answer, `checks`, awaited together just before the provider is
    called (a shared counter's answer, see gateway/counters.py), and `finishers`, awaited once the
    answer is sent.
    A `translation` serves the operation through a provider's chat completions instead.
    """

    request_data: dict
    operation: Operation = CHAT
    translation: Any = None
    body: bytes | None = None
    request_id: str = field(default_factory=request_id_new)
    api_key: KeyInfo | None = None
    provider_keys: dict[str, str] = field(default_factory=dict)  # the tenant's own keys, by provider
    route: Route | None = None
    response: ProviderResponse | None = None
    response_data: dict | None = None
    usage: dict | None = None
    error: Exception | None = None
    response_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    checks: list[Callable[["RequestContext"], Awaitable[None]]] = field(default_factory=list)
    finishers: list[Callable[["RequestContext"], Awaitable[None]]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    started_at: float = field(default_factory=time.perf_counter)
    first_byte_at: float | None = None
    requested_model: str = ""

    def __post_init__(self):
        self.requested_model = self.requested_model or str(self.request_data.get("model", ""))

    @property
    def tenant_id(self) -> int | None:
        return self.api_key.tenant_id if self.api_key else None

    @property
    def model(self) -> str:
        return self.request_data["model"]

    @property
    def stream(self) -> bool:
        return self.request_data.get("stream") is True

    @property
    def upstream_operation(self) -> Operation:
        """What the provider is asked to do: the operation itself, or chat when it is translated."""
        return CHAT if self.translation is not None else self.operation

    def upstream_path(self) -> str:
        """The upstream operation's path, with the ids of the door's URL (and its query, where it is forwarded)."""
        operation = self.upstream_operation
        if "{" in operation.path:  # ids from the door's URL, quoted: a decoded "?" or "#" stays part of the id
            ids = {name: quote(value, safe="") for name, value in self.metadata["path"].items()}
            path = operation.path.format(**ids)
        else:
            path = operation.path
        query = self.metadata.get("query") if operation.forwards_query else None
        return f"{path}?{query}" if query else path

    def body_bytes(self) -> bytes:
        if self.body is None:
            try:
                self.body = orjson.dumps(self.request_data)
            except orjson.JSONEncodeError:  # integers beyond 64 bits or deep nesting, which only json writes
                try:
                    self.body = json.dumps(self.request_data, ensure_ascii=False).encode()
                except RecursionError:
                    raise InvalidRequest("The request body is nested too deeply.") from None
        return self.body

    def request_data_update(self, **changes):
        """Change the request sent upstream; the body is then re-encoded from `request_data`."""
        self.request_data = {**self.request_data, **changes}
        self.body = None


Next = Callable[[RequestContext], Awaitable[None]] | None


class Plugin:
    """A step of the pipeline: do one thing to the context, then await `next(context)`."""

    async def initialize(self) -> None:
        """Prepare what the plugin needs (clients, configuration) once per process."""

    async def handle(self, context: RequestContext, next: Next) -> None:
        raise NotImplementedError("subclasses of Plugin must provide a handle() method")
