"""Who does what in a tenant through the console: a role per membership, and who issued each key."""

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "viewer: reads usage"
    DEVELOPER = "developer", "developer: usage, and manages their own keys"
    ADMIN = "admin", "admin: every key, member and limit of the tenant"


class Membership(models.Model):
    """A user's role in a tenant. A user in Tenant.members without one is a viewer."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="one_membership_per_tenant")]
        ordering = ["tenant__name", "user__username"]

    def __str__(self):
        return f"{self.user} in {self.tenant}: {self.role}"


class KeyOwner(models.Model):
    """The member who issued a key in the console; developers manage only the keys they own."""

    api_key = models.OneToOneField("tenants.ApiKey", on_delete=models.CASCADE, related_name="owner")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    def __str__(self):
        return f"{self.api_key} issued by {self.user}"
