"""Any server speaking OpenAI's API (vLLM, Ollama, Groq, Together, Mistral, ...), declared in config.yml:

    providers:
      groq:
        base_url: https://api.groq.com/openai/v1
        api_key_env: GROQ_API_KEY          # omit for servers that need no key
        models: [llama-3.1-8b-instant]     # listed by /v1/models
        renames: {groq-fast: llama-3.1-8b-instant}
    prefix_map:
      llama: groq
      groq-: groq

Requests pass through byte for byte, as with OpenAI, unless a rename changes the model.
"""

import os

from .openai_provider import OpenAIProvider

NO_KEY = "none"  # local servers need none, but OpenAI's wire format expects an Authorization header


class OpenAICompatibleProvider(OpenAIProvider):
    def __init__(self, *, name: str, base_url: str, api_key_env: str = "", models=(), renames=None):
        super().__init__()
        self.name, self.configured_url, self.api_key_env = name, base_url, api_key_env
        self.renames = dict(renames or {})
        self.models = tuple(models) + tuple(self.renames)

    @property
    def configured(self) -> bool:
        """Servers that need no key always are; the others once their key's variable is set."""
        return not self.api_key_env or bool(os.environ.get(self.api_key_env))

    async def initialize(self):
        api_key = os.environ.get(self.api_key_env, "") if self.api_key_env else NO_KEY
        self.configure(base_url=self.configured_url, api_key=api_key, missing=f"set {self.api_key_env}")

    async def send(self, context):
        renamed = self.renames.get(context.request_data["model"])
        if renamed:
            context.request_data_update(model=renamed)
        return await super().send(context)
