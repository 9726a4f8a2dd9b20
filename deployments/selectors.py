"""Reads for the hot path: deployments and their routes as plain frozen values, from the admin's tables."""

from dataclasses import dataclass

from django.db.models import Prefetch, Q

from tenants.credentials import credential_decrypt

from .models import Deployment, DeploymentRoute


@dataclass(frozen=True)
class DeploymentInfo:
    key: str  # where its health and counters are kept, shared by every process: "config/east", "admin/12"
    name: str
    provider: str
    base_url: str = ""
    api_key: str = ""
    upstream_model: str = ""
    weight: int = 1
    rpm: int | None = None
    tpm: int | None = None
    timeout: float | None = None
    region: str = ""


@dataclass(frozen=True)
class BalancedRoute:
    """A model (or a prefix ending in *) served by ordered groups of deployments: the first serves, the rest
    are fallbacks."""

    model: str
    groups: tuple[tuple[DeploymentInfo, ...], ...]
    strategy: str = "weighted"
    affinity: str = ""
    priority: int = 0
    for_tenant: bool = False
    from_admin: bool = False

    def specificity(self, model: str) -> int:
        """How closely the route names `model`: an exact name beats any prefix; -1 if it does not match."""
        if self.model.endswith("*"):
            return len(self.model) - 1 if model.startswith(self.model[:-1]) else -1
        return len(self.model) + 1 if model == self.model else -1


def deployment_info(deployment: Deployment) -> DeploymentInfo:
    return DeploymentInfo(
        key=f"admin/{deployment.id}", name=deployment.name, provider=deployment.provider,
        base_url=deployment.base_url,
        api_key=credential_decrypt(deployment.encrypted_key) if deployment.encrypted_key else "",
        upstream_model=deployment.upstream_model, weight=deployment.weight, rpm=deployment.rpm, tpm=deployment.tpm,
        timeout=deployment.timeout, region=deployment.region,
    )


def deployment_routes_list(*, tenant_id: int | None) -> tuple[BalancedRoute, ...]:
    """The active routes that apply to a tenant (its own and the global ones), with their enabled deployments."""
    routes = DeploymentRoute.objects.filter(Q(tenant_id=tenant_id) | Q(tenant__isnull=True), is_active=True)
    enabled = Prefetch("groups__deployments", queryset=Deployment.objects.filter(is_enabled=True))
    found = []
    for route in routes.prefetch_related(enabled):
        groups = tuple(tuple(deployment_info(d) for d in group.deployments.all()) for group in route.groups.all())
        found.append(BalancedRoute(
            model=route.model, groups=tuple(group for group in groups if group), strategy=route.strategy,
            affinity=route.affinity, priority=route.priority, for_tenant=route.tenant_id is not None, from_admin=True,
        ))
    return tuple(found)


def deployments_list() -> list[DeploymentInfo]:
    """Every deployment staff defined, for the health listing."""
    return [deployment_info(d) for d in Deployment.objects.all()]
