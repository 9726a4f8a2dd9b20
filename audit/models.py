"""The audit trail: one row per change to what decides who may call Prism and what it costs."""

from django.conf import settings
from django.db import models


class AppendOnlyError(Exception):
    """The application may add audit events, never change or remove them."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit events cannot be changed")

    def delete(self):
        raise AppendOnlyError("audit events cannot be deleted")

    _raw_delete = delete


class AuditEvent(models.Model):
    """Who changed what, when and from where; `changes` maps a field to [old, new], secrets masked."""

    CREATE, UPDATE, DELETE = "create", "update", "delete"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # No database constraints: an event outlives the user, tenant or object it names.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                              db_constraint=False, related_name="+")
    actor_name = models.CharField(max_length=150, help_text="The user, or the management command, at the time.")
    source = models.CharField(max_length=20, help_text="admin, console, command or system.")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    tenant = models.ForeignKey("tenants.Tenant", null=True, blank=True, on_delete=models.DO_NOTHING,
                               db_constraint=False, related_name="+")
    action = models.CharField(max_length=30)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    changes = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "created_at"])]

    def __str__(self):
        return f"{self.actor_name} {self.action} {self.object_type} {self.object_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events cannot be deleted")
