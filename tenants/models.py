"""Who may call Prism (tenants and their keys), where models go, and what was used."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone

from providers.config import provider_names


BUDGET_PERIODS = [("daily", "daily"), ("weekly", "weekly"), ("monthly", "monthly"), ("none", "none")]


class Limits(models.Model):
    """Limits shared by tenants and keys; empty means unlimited."""

    rpm_limit = models.PositiveIntegerField("requests per minute", null=True, blank=True)
    tpm_limit = models.PositiveIntegerField("tokens per minute", null=True, blank=True)
    monthly_token_budget = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Tokens per calendar month (UTC)."
    )
    budget_usd = models.DecimalField(
        "budget (USD)", max_digits=12, decimal_places=2, null=True, blank=True,
        help_text="US dollars per budget period, at the prices recorded; empty: no dollar budget.",
    )
    budget_period = models.CharField(max_length=10, choices=BUDGET_PERIODS, default="monthly", blank=True,
                                     help_text="Periods start at 00:00 UTC (weeks on Monday); none: one budget for ever.")
    budget_alert_percent = models.PositiveSmallIntegerField(
        "budget alert (%)", null=True, blank=True, default=80, validators=[MaxValueValidator(100)],
        help_text="Notify once per period when spending reaches this share of the budget; empty: never.",
    )

    class Meta:
        abstract = True

    def clean(self):
        self.budget_period = self.budget_period or "monthly"  # a form that left it out


class Tenant(Limits):
    name = models.CharField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True, help_text="An inactive tenant's keys all stop working.")
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="tenants",
        help_text="Users who see this tenant's usage in the dashboard (staff see every tenant).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ApiKey(Limits):
    """A Prism API key; only its public prefix and a keyed hash of the whole key are stored."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    label = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=32, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    allowed_models = models.TextField(
        blank=True,
        help_text="Comma-separated model names this key may use (a trailing * matches a prefix). "
        "Empty: every model.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.prefix} ({self.label})" if self.label else self.prefix

    @property
    def is_revoked(self):
        return self.revoked_at is not None

    @property
    def is_expired(self):
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def state(self) -> str:
        return "revoked" if self.is_revoked else "expired" if self.is_expired else "active"


def provider_choices():
    return [(name, name) for name in provider_names()]


def fallbacks_parse(text: str) -> list[tuple[str, str]]:
    """[(provider, model)] from "provider:model, provider:model"."""
    return [tuple(part.strip().split(":", 1)) for part in text.split(",") if part.strip()]


def fallbacks_validate(text: str):
    for part in text.split(","):
        provider, _, model = part.strip().partition(":")
        if part.strip() and (provider not in provider_names() or not model):
            raise ValidationError(f"{part.strip()!r} is not provider:model with a known provider.")


class RoutingRule(models.Model):
    """Sends models whose name starts with `model_prefix` to a provider, for one tenant or all."""

    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="routing_rules",
        help_text="Empty: the rule applies to every tenant.",
    )
    model_prefix = models.CharField(max_length=100)
    provider = models.CharField(max_length=50, choices=provider_choices)
    upstream_model = models.CharField(
        max_length=100, blank=True, help_text="Send this model name upstream instead of the requested one."
    )
    priority = models.IntegerField(default=0, help_text="Among rules with the same prefix, the highest wins.")
    fallbacks = models.CharField(
        max_length=500,
        blank=True,
        validators=[fallbacks_validate],
        help_text="Tried in order when the provider fails with a retryable error: "
        "comma-separated provider:model, e.g. openai_provider:gpt-4o-mini, mock_provider:mock-1.",
    )
    timeout = models.FloatField(null=True, blank=True, help_text="Seconds the whole upstream call may take.")
    endpoint = models.URLField(
        blank=True, help_text="Another base URL for the provider (an Azure resource, a second server); empty: its own."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["tenant__name", "model_prefix", "-priority"]

    def __str__(self):
        target = f"{self.provider}:{self.upstream_model}" if self.upstream_model else self.provider
        return f"{self.model_prefix}* → {target}"


class ProviderCredential(models.Model):
    """A tenant's own key for a provider, used instead of Prism's; stored encrypted, never shown again."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="provider_credentials")
    provider = models.CharField(max_length=50, choices=provider_choices)
    encrypted_key = models.TextField(editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "provider"], name="one_credential_per_provider")]

    def __str__(self):
        return f"{self.tenant}: {self.provider}"


def _price(name: str, fallback: str = ""):
    return models.DecimalField(name, max_digits=12, decimal_places=4, null=True, blank=True,
                               help_text=f"Empty: the {fallback} price." if fallback else "")


class ModelPrice(models.Model):
    """What a model costs, in US dollars per million tokens of each class; applied when a usage record is written."""

    model_prefix = models.CharField(max_length=100, unique=True, help_text="The longest matching prefix applies.")
    input_per_million = models.DecimalField(max_digits=12, decimal_places=4)
    output_per_million = models.DecimalField(max_digits=12, decimal_places=4)
    cached_input_per_million = _price("cached input per million", "input")
    cache_write_5m_per_million = _price("cache write (5 min) per million", "input")
    cache_write_1h_per_million = _price("cache write (1 h) per million", "input")
    reasoning_per_million = _price("reasoning per million", "output")
    audio_input_per_million = _price("audio input per million", "input")
    audio_output_per_million = _price("audio output per million", "output")
    batch_multiplier = models.DecimalField(max_digits=6, decimal_places=3, default=1,
                                           help_text="Applied to answers served on the batch tier.")
    flex_multiplier = models.DecimalField(max_digits=6, decimal_places=3, default=1,
                                          help_text="Applied to answers served on the flex tier.")
    priority_multiplier = models.DecimalField(max_digits=6, decimal_places=3, default=1,
                                              help_text="Applied to answers served on the priority tier.")
    max_output_tokens = models.PositiveIntegerField(
        null=True, blank=True, help_text="The model's output cap: what a dollar budget reserves when a request sets none."
    )

    class Meta:
        ordering = ["model_prefix"]

    def __str__(self):
        return f"{self.model_prefix}: ${self.input_per_million} in, ${self.output_per_million} out per 1M tokens"


# The token counts of a usage record: prompt and completion hold every class below them, each counted once.
TOKEN_CLASSES = ["prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "cache_write_tokens",
                 "cache_write_1h_tokens", "reasoning_tokens", "audio_input_tokens", "audio_output_tokens"]


def _cost(what: str):
    return models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True, help_text=f"US dollars for {what}.")


class UsageRecord(models.Model):
    """One request through the gateway, with the upstream's own token counts."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="usage_records")
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="usage_records")
    request_id = models.CharField(max_length=64, unique=True)
    requested_model = models.CharField(max_length=100)
    served_model = models.CharField(max_length=100, blank=True)
    provider = models.CharField(max_length=50, blank=True)
    deployment = models.CharField(max_length=100, blank=True, help_text="The deployment that served, if any.")
    operation = models.CharField(max_length=20, default="chat", help_text="chat, responses, embeddings, "
                                 "completions, moderations, messages or count_tokens.")
    prompt_tokens = models.PositiveIntegerField(default=0, help_text="All input tokens, cached ones included.")
    completion_tokens = models.PositiveIntegerField(default=0, help_text="All output tokens, reasoning included.")
    total_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0, help_text="Input tokens read from the provider's cache.")
    cache_write_tokens = models.PositiveIntegerField(default=0, help_text="Input tokens written to the cache.")
    cache_write_1h_tokens = models.PositiveIntegerField(default=0, help_text="Of the cache writes, those kept 1 hour.")
    reasoning_tokens = models.PositiveIntegerField(default=0)
    audio_input_tokens = models.PositiveIntegerField(default=0, help_text="Of the input tokens, audio ones.")
    audio_output_tokens = models.PositiveIntegerField(default=0, help_text="Of the output tokens, audio ones.")
    service_tier = models.CharField(max_length=20, blank=True, help_text="The tier the answer was served on.")
    usage_source = models.CharField(max_length=10, default="upstream", help_text="upstream: the provider's "
                                    "own count; estimated: Prism's, for a stream that ended before its usage.")
    status_code = models.PositiveSmallIntegerField()
    error_type = models.CharField(max_length=50, blank=True)
    is_stream = models.BooleanField(default=False)
    latency_ms = models.PositiveIntegerField()
    ttft_ms = models.PositiveIntegerField(null=True, blank=True, help_text="Time to first token, for streams.")
    cost = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True,
                               help_text="US dollars, at the prices of the day; empty: the model has no price.")
    input_cost = _cost("fresh input")
    cached_input_cost = _cost("cached input")
    cache_write_cost = _cost("cache writes")
    output_cost = _cost("output less reasoning and audio")
    reasoning_cost = _cost("reasoning")
    audio_cost = _cost("audio input and output")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "created_at"]),
            models.Index(fields=["api_key", "created_at"]),
            models.Index(fields=["created_at"]),
        ]

    def __str__(self):
        return self.request_id


class UsageHour(models.Model):
    """Usage added up per hour, tenant, key and model, kept current by the usage writer for the dashboard."""

    hour = models.DateTimeField()
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="+")
    model = models.CharField(max_length=100)
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    total_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=18, decimal_places=8, default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "tenant", "api_key", "model"], name="usage_hour_unique")]
        indexes = [models.Index(fields=["tenant", "hour"])]
