"""Azure OpenAI: OpenAI's wire format, where the model names a deployment and the key goes in `api-key`.

Route a model to it with a routing rule whose upstream model is the deployment's name (and whose
endpoint, if set, names another Azure resource than AZURE_OPENAI_ENDPOINT).
"""

from urllib.parse import quote

from django.conf import settings

from gateway.errors import ProviderNotConfigured

from .openai_provider import OpenAIProvider


class AzureOpenAIProvider(OpenAIProvider):
    name = "azure_openai_provider"
    models = ()
    operations = frozenset({"chat", "completions", "embeddings", "responses"})

    @property
    def configured(self) -> bool:
        """The key is set; the endpoint is AZURE_OPENAI_ENDPOINT or, as often, the routing rule's."""
        return bool(settings.AZURE_OPENAI_API_KEY)

    async def initialize(self):
        self.configure(
            base_url=settings.AZURE_OPENAI_ENDPOINT,
            api_key=settings.AZURE_OPENAI_API_KEY,
            missing="set AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY",
            key_header=("api-key", "{}"),
        )
        self.api_version = settings.AZURE_OPENAI_API_VERSION

    def target(self, context) -> str:
        """Responses are on Azure's v1 API; the other operations on the deployment's own path."""
        if not self.base(context):
            raise ProviderNotConfigured(self.name, self.missing)
        if context.upstream_operation.name == "responses":
            return f"{self.base(context)}/openai/v1{context.upstream_path()}"
        deployment = quote(context.request_data["model"], safe="")
        path = context.upstream_operation.path
        return f"{self.base(context)}/openai/deployments/{deployment}{path}?api-version={self.api_version}"
