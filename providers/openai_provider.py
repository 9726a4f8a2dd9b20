"""OpenAI, or any server speaking its API: the client's JSON goes out as bytes and the answer comes back as bytes."""

from django.conf import settings

from gateway.errors import ProviderNotConfigured

from .base import Provider
from .http_relay import HttpRelay


class OpenAIProvider(Provider):
    name = "openai_provider"
    operations = frozenset({"chat", "completions", "embeddings", "moderations", "responses"})
    models = (
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-nano",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "gpt-4o",
        "gpt-4o-mini",
        "o4-mini",
        "o3",
        "o3-mini",
        "o1",
        "gpt-4-turbo",
        "gpt-4",
        "gpt-3.5-turbo",
    )

    def __init__(self):
        self.http = HttpRelay()

    @property
    def configured(self) -> bool:
        return bool(settings.OPENAI_API_KEY)

    async def initialize(self):
        self.configure(base_url=settings.OPENAI_BASE_URL, api_key=settings.OPENAI_API_KEY, missing="set OPENAI_API_KEY")

    def configure(self, *, base_url: str, api_key: str, missing: str, key_header=("Authorization", "Bearer {}")):
        """Where requests go and how they authenticate; `missing` says what to set when the key is absent."""
        self.base_url = base_url.rstrip("/")
        self.api_key, self.missing, self.key_header = api_key, missing, key_header
        self.headers = self.headers_for(api_key)

    def headers_for(self, api_key: str) -> dict:
        return {self.key_header[0]: self.key_header[1].format(api_key), "Content-Type": "application/json"}

    def base(self, context) -> str:
        """The base URL for this request: the routing rule's endpoint, or the provider's own."""
        return context.route.endpoint.rstrip("/") if context.route and context.route.endpoint else self.base_url

    def target(self, context) -> str:
        """The URL of this request (Azure's names the deployment)."""
        return self.base(context) + context.upstream_path()

    async def close(self):
        await self.http.close()

    async def send(self, context):
        own_key = (context.route and context.route.api_key) or context.provider_keys.get(self.name)
        if not (own_key or self.api_key):
            raise ProviderNotConfigured(self.name, self.missing)
        headers = self.headers_for(own_key) if own_key else self.headers
        return await self.http.send(context, self.target(context), headers)
