"""Reads for the hot path: a key's snapshot and a tenant's routing rules, as plain frozen values."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, Sum

from .credentials import credential_decrypt
from .database import lookup_deadline, off_request
from .models import ApiKey, ProviderCredential, RoutingRule, UsageRecord, fallbacks_parse


@dataclass(frozen=True)
class Quota:
    """The limits of a key or a tenant; None means unlimited."""

    scope: str
    id: int
    rpm: int | None
    tpm: int | None
    monthly_tokens: int | None

    @classmethod
    def of(cls, scope: str, limits) -> "Quota":
        return cls(scope, limits.id, limits.rpm_limit, limits.tpm_limit, limits.monthly_token_budget)

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
    quotas: tuple[Quota, ...] = ()

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
        quotas=tuple(
            quota for quota in (Quota.of("key", api_key), Quota.of("tenant", api_key.tenant)) if not quota.unlimited
        ),
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


@off_request(lookup_deadline)
def provider_keys_get(*, tenant_id: int) -> dict[str, str]:
    """A tenant's own provider keys, decrypted, by provider name."""
    credentials = ProviderCredential.objects.filter(tenant_id=tenant_id)
    return {credential.provider: credential_decrypt(credential.encrypted_key) for credential in credentials}
