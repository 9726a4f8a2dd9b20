"""Deployments of a model (an upstream with its own URL, key and capacity) and the routes that balance over them."""

from django.core.exceptions import ValidationError
from django.db import models

from tenants.models import Tenant, provider_choices

STRATEGIES = ["weighted", "least-busy", "lowest-latency", "capacity"]


def affinity_validate(value: str):
    if value and value not in ("user", "prefix") and not (value.startswith("header:") and len(value) > 7):
        raise ValidationError(f"{value!r} is not user, prefix or header:<name>.")


class Deployment(models.Model):
    """One upstream serving a model: a provider at a base URL, with its own key, weight and capacity."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="deployments",
                               help_text="Empty: a global deployment; else one of the tenant's own.")
    name = models.CharField(max_length=100)
    provider = models.CharField(max_length=50, choices=provider_choices)
    base_url = models.URLField(blank=True, help_text="Empty: the provider's own.")
    encrypted_key = models.TextField(blank=True, editable=False)
    upstream_model = models.CharField(max_length=100, blank=True,
                                      help_text="Send this model name upstream; empty: the requested one.")
    weight = models.PositiveIntegerField(default=1, help_text="Share of traffic; 0: only when the others are out.")
    rpm = models.PositiveIntegerField("requests per minute", null=True, blank=True, help_text="Empty: unlimited.")
    tpm = models.PositiveIntegerField("tokens per minute", null=True, blank=True, help_text="Empty: unlimited.")
    timeout = models.FloatField(null=True, blank=True, help_text="Seconds a call may take.")
    region = models.CharField("region or tag", max_length=50, blank=True)
    is_enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["tenant__name", "name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="one_deployment_name_per_tenant")]

    def __str__(self):
        return f"{self.tenant}: {self.name}" if self.tenant_id else self.name


class DeploymentRoute(models.Model):
    """Sends a model (or, ending in *, a prefix) to ordered groups of deployments: the first serves, the rest
    are fallbacks."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True,
                               related_name="deployment_routes", help_text="Empty: the route applies to every tenant.")
    model = models.CharField(max_length=100, help_text="A model name, or a prefix ending in *.")
    strategy = models.CharField(max_length=20, choices=[(name, name) for name in STRATEGIES], default="weighted")
    affinity = models.CharField(max_length=100, blank=True, validators=[affinity_validate],
                                help_text="Keeps a conversation on one deployment: user, header:x-session-id or "
                                "prefix (of the prompt). Empty: none.")
    priority = models.IntegerField(default=0, help_text="Among routes for the same model, the highest wins.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["tenant__name", "model", "-priority"]

    def __str__(self):
        return f"{self.model} ({self.strategy})"


class DeploymentGroup(models.Model):
    """Deployments that share a route's traffic; groups are tried in order of `position`."""

    route = models.ForeignKey(DeploymentRoute, on_delete=models.CASCADE, related_name="groups")
    position = models.PositiveSmallIntegerField(default=0)
    deployments = models.ManyToManyField(Deployment, related_name="groups")

    class Meta:
        ordering = ["route", "position", "id"]

    def __str__(self):
        return f"{self.route} #{self.position}"
