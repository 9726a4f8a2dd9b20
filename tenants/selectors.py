"""Reads for the hot path: a key's snapshot and a tenant's routing rules, as plain frozen values."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from .models import ApiKey, RoutingRule


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
    )


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
        )
        for rule in rules
    )
