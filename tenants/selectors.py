"""Reads for the hot path: a key's snapshot, a tenant's routing rules and the model prices, as plain frozen values."""

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q, Sum

from .credentials import credential_decrypt
from .database import lookup_deadline, off_request
from .models import ApiKey, ModelPrice, ProviderCredential, RoutingRule, UsageRecord, fallbacks_parse

MICRO = Decimal(1_000_000)


@dataclass(frozen=True)
class Quota:
    """The limits of a key or a tenant; None means unlimited."""

    scope: str
    id: int
    rpm: int | None
    tpm: int | None
    monthly_tokens: int | None
    budget_micros: int | None = None  # US dollars per budget period, in millionths
    budget_period: str = "monthly"
    alert_percent: int | None = None

    @classmethod
    def of(cls, scope: str, limits) -> "Quota":
        budget = limits.budget_usd
        return cls(scope, limits.id, limits.rpm_limit, limits.tpm_limit, limits.monthly_token_budget,
                   int(budget * MICRO) if budget is not None else None, limits.budget_period,
                   limits.budget_alert_percent)

    @property
    def unlimited(self) -> bool:
        return self.rpm is None and self.tpm is None and self.monthly_tokens is None


@dataclass(frozen=True)
class KeyInfo:
    id: int
    prefix: str
    key_hash: str
    tenant_id: int
    tenant_name: str
    tenant_active: bool
    allowed_models: tuple[str, ...]
    expires_at: datetime | None
    revoked: bool
    quotas: tuple[Quota, ...] = ()  # those with rate limits or a token budget
    budgets: tuple[Quota, ...] = ()  # those with a budget in dollars

    def allows(self, model: str) -> bool:
        if not self.allowed_models:
            return True
        return any(
            model.startswith(pattern[:-1]) if pattern.endswith("*") else model == pattern
            for pattern in self.allowed_models
        )


@dataclass(frozen=True)
class RouteRule:
    model_prefix: str
    provider: str
    upstream_model: str
    priority: int
    for_tenant: bool
    fallbacks: tuple[tuple[str, str], ...] = ()
    timeout: float | None = None
    endpoint: str = ""


@off_request(lookup_deadline)
def key_info_get(*, prefix: str) -> KeyInfo | None:
    api_key = ApiKey.objects.select_related("tenant").filter(prefix=prefix).first()
    if api_key is None:
        return None
    quotas = (Quota.of("key", api_key), Quota.of("tenant", api_key.tenant))
    return KeyInfo(
        id=api_key.id,
        prefix=api_key.prefix,
        key_hash=api_key.key_hash,
        tenant_id=api_key.tenant_id,
        tenant_name=api_key.tenant.name,
        tenant_active=api_key.tenant.is_active,
        allowed_models=tuple(m.strip() for m in api_key.allowed_models.split(",") if m.strip()),
        expires_at=api_key.expires_at,
        revoked=api_key.revoked_at is not None,
        quotas=tuple(quota for quota in quotas if not quota.unlimited),
        budgets=tuple(quota for quota in quotas if quota.budget_micros is not None),
    )


@off_request(lookup_deadline)
def route_rules_list(*, tenant_id: int) -> tuple[RouteRule, ...]:
    """The active rules that apply to a tenant: its own and the global ones."""
    rules = RoutingRule.objects.filter(Q(tenant_id=tenant_id) | Q(tenant__isnull=True), is_active=True)
    return tuple(
        RouteRule(
            model_prefix=rule.model_prefix,
            provider=rule.provider,
            upstream_model=rule.upstream_model,
            priority=rule.priority,
            for_tenant=rule.tenant_id is not None,
            fallbacks=tuple(fallbacks_parse(rule.fallbacks)),
            timeout=rule.timeout,
            endpoint=rule.endpoint,
        )
        for rule in rules
    )


@off_request()
def tokens_used_since(*, scope: str, id: int, since: datetime) -> int:
    """Tokens a key or a tenant used since `since`, by the stored usage records."""
    owner = {"key": "api_key_id", "tenant": "tenant_id"}[scope]
    records = UsageRecord.objects.filter(**{owner: id}, created_at__gte=since)
    return records.aggregate(tokens=Sum("total_tokens"))["tokens"] or 0


def budget_period_start(period: str, when: datetime) -> datetime | None:
    """When the budget period holding `when` (UTC) began: midnight, Monday, the 1st; None: the budget never resets."""
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    return {"daily": day, "weekly": day - timedelta(days=day.weekday()), "monthly": day.replace(day=1)}.get(period)


@off_request()
def cost_used_since(*, scope: str, id: int, since: datetime | None) -> int:
    """US dollars (in millionths) a key or a tenant spent since `since` (None: ever), by the stored usage records."""
    owner = {"key": "api_key_id", "tenant": "tenant_id"}[scope]
    records = UsageRecord.objects.filter(**{owner: id}, **({"created_at__gte": since} if since else {}))
    return int((records.aggregate(cost=Sum("cost"))["cost"] or 0) * MICRO)


@dataclass(frozen=True)
class Price:
    """A model's prices per million tokens (as ModelPrice), for the hot path."""

    model_prefix: str
    input_per_million: Decimal
    output_per_million: Decimal
    cached_input_per_million: Decimal | None = None
    cache_write_5m_per_million: Decimal | None = None
    cache_write_1h_per_million: Decimal | None = None
    reasoning_per_million: Decimal | None = None
    audio_input_per_million: Decimal | None = None
    audio_output_per_million: Decimal | None = None
    batch_multiplier: Decimal = Decimal(1)
    flex_multiplier: Decimal = Decimal(1)
    priority_multiplier: Decimal = Decimal(1)
    max_output_tokens: int | None = None


class Prices(dict):
    """Model prices by prefix, and the price of each model asked for, remembered (the usage writer and the
    budgets ask for the same few models on every request)."""

    KEPT = 10_000  # models remembered before they are all forgotten (a client may name any model)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._of = {}

    def of(self, model: str):
        """The price of `model`: the longest prefix that matches it, or None."""
        if model not in self._of:
            if len(self._of) >= self.KEPT:
                self._of = {}
            matches = [prefix for prefix in self if model.startswith(prefix)]
            self._of[model] = self[max(matches, key=len)] if matches else None
        return self._of[model]


@off_request(lookup_deadline)
def prices_get() -> Prices:
    """Every model price, by prefix."""
    names = [field.name for field in fields(Price)]
    return Prices((row["model_prefix"], Price(**row)) for row in ModelPrice.objects.values(*names))


@off_request(lookup_deadline)
def provider_keys_get(*, tenant_id: int) -> dict[str, str]:
    """A tenant's own provider keys, decrypted, by provider name."""
    credentials = ProviderCredential.objects.filter(tenant_id=tenant_id)
    return {credential.provider: credential_decrypt(credential.encrypted_key) for credential in credentials}
