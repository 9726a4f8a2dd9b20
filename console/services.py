"""Writes from the console: keys issued, changed, rotated and revoked by members; members invited and removed."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction

from audit.context import audit_action
from tenants import services as tenant_services
from tenants.models import ApiKey, Tenant
from tenants.services import key_issue, key_revoke

from .models import KeyOwner, Membership


def key_create(*, tenant: Tenant, user, label: str, allowed_models: list[str], **limits) -> tuple[ApiKey, str]:
    """Issue a key owned by `user`; the raw key is returned once and never stored."""
    with transaction.atomic(), audit_action("issue"):
        api_key, raw = key_issue(tenant=tenant, label=label, allowed_models=allowed_models, **limits)
        KeyOwner.objects.create(api_key=api_key, user=user)
    return api_key, raw


def key_update(*, api_key: ApiKey, label: str, allowed_models: list[str], **limits) -> ApiKey:
    api_key.label = label
    api_key.allowed_models = ",".join(allowed_models)
    for field, value in limits.items():
        setattr(api_key, field, value)
    api_key.save()
    return api_key


def key_rotate(*, api_key: ApiKey, user, grace: timedelta) -> tuple[ApiKey, str]:
    """Rotate as the tenant services do (tenants.services.key_rotate), recorded as the console's action, the new
    key owned by `user`."""
    with transaction.atomic(), audit_action("rotate"):
        new, raw, _ = tenant_services.key_rotate(prefix=api_key.prefix, grace=grace)
        KeyOwner.objects.create(api_key=new, user=user)
    return new, raw


def key_disable(*, api_key: ApiKey) -> ApiKey:
    with audit_action("revoke"):
        return key_revoke(prefix=api_key.prefix)


def member_invite(*, tenant: Tenant, email: str, role: str) -> Membership:
    """Give the user with this email `role` in the tenant, creating an account that signs in by SSO or reset."""
    users = get_user_model().objects
    user = users.filter(email__iexact=email).first()
    with transaction.atomic(), audit_action("invite"):
        if user is None:
            user = users.create_user(username=email.lower(), email=email.lower())
        membership, _ = Membership.objects.update_or_create(tenant=tenant, user=user, defaults={"role": role})
        tenant.members.add(user)
    return membership


def member_remove(*, tenant: Tenant, user) -> None:
    with transaction.atomic(), audit_action("remove member"):
        tenant.members.remove(user)
        Membership.objects.filter(tenant=tenant, user=user).delete()
