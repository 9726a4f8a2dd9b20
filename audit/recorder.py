"""Write an audit event for every change to the models that decide access, routing and cost.

Signals catch every path that saves through the ORM (the admin, the console, management commands
and services alike); usage (records and hourly totals) is not audited, it is written by the gateway.
"""

import datetime
import decimal

from django.apps import apps
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from .context import action_current, actor_current
from .models import AuditEvent

AUDITED_APPS = ["tenants", "console"]
NOT_AUDITED = {"tenants.usagerecord", "tenants.usagehour"}
SECRET_FIELDS = {"key_hash", "encrypted_key", "password"}
SECRET = "(secret)"


def audited_models():
    return [model for app in AUDITED_APPS for model in apps.get_app_config(app).get_models()
            if model._meta.label_lower not in NOT_AUDITED]


def _plain(field, value):
    """The value as JSON, the same whether it was just assigned (3) or read back (Decimal("3.0000"))."""
    value = field.to_python(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value.quantize(decimal.Decimal(10) ** -field.decimal_places))
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return str(value)


def _values(instance) -> dict:
    return {field.attname: (SECRET if field.name in SECRET_FIELDS else _plain(field, field.value_from_object(instance)))
            for field in instance._meta.concrete_fields if field.name != "id"}


def _tenant_id(instance):
    if instance._meta.label_lower == "tenants.tenant":
        return instance.pk
    return getattr(instance, "tenant_id", None)


def event_record(*, instance, action: str, changes: dict) -> AuditEvent:
    actor = actor_current()
    return AuditEvent.objects.create(
        actor=actor.user, actor_name=actor.name, source=actor.source, ip=actor.ip, user_agent=actor.user_agent,
        tenant_id=_tenant_id(instance), action=action_current() or action,
        object_type=instance._meta.label_lower, object_id=str(instance.pk), object_repr=str(instance)[:200],
        changes=changes,
    )


def _before_save(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        instance._audit_before = None
        return
    old = sender._base_manager.filter(pk=instance.pk).first()
    instance._audit_before = _values(old) if old else None


def _after_save(sender, instance, created, raw=False, update_fields=None, **kwargs):
    if raw:
        return
    new = _values(instance)
    before = getattr(instance, "_audit_before", None)
    if created or before is None:
        changes = {name: [None, value] for name, value in new.items() if value not in (None, "")}
        event_record(instance=instance, action=AuditEvent.CREATE, changes=changes)
        return
    changes = {name: [before[name], value] for name, value in new.items()
               if before.get(name) != value or (value == SECRET and name in _changed_secrets(update_fields))}
    if changes:
        event_record(instance=instance, action=AuditEvent.UPDATE, changes=changes)


def _changed_secrets(update_fields) -> set:
    """A secret's old and new values are both masked; a save naming it counts as a change."""
    return set(update_fields or ()) & SECRET_FIELDS


def _after_delete(sender, instance, **kwargs):
    changes = {name: [value, None] for name, value in _values(instance).items() if value not in (None, "")}
    event_record(instance=instance, action=AuditEvent.DELETE, changes=changes)


def _members_changed(sender, instance, action, pk_set, reverse, model, **kwargs):
    if action not in ("post_add", "post_remove") or not pk_set:
        return
    if reverse:  # user.tenants.add(tenant): one event per tenant
        for tenant in model.objects.filter(pk__in=pk_set):
            _members_event(tenant, action, [instance.get_username()])
        return
    _members_event(instance, action, sorted(model.objects.filter(pk__in=pk_set).values_list("username", flat=True)))


def _members_event(tenant, action, usernames):
    verb = "add member" if action == "post_add" else "remove member"
    change = [None, usernames] if action == "post_add" else [usernames, None]
    event_record(instance=tenant, action=verb, changes={"members": change})


def connect():
    for model in audited_models():
        pre_save.connect(_before_save, sender=model, dispatch_uid=f"audit-pre-{model._meta.label_lower}")
        post_save.connect(_after_save, sender=model, dispatch_uid=f"audit-post-{model._meta.label_lower}")
        post_delete.connect(_after_delete, sender=model, dispatch_uid=f"audit-del-{model._meta.label_lower}")
    members = apps.get_model("tenants", "Tenant").members.through
    m2m_changed.connect(_members_changed, sender=members, dispatch_uid="audit-members")
