"""The process's cache of the admin's deployment routes (like tenants/directory.py: no query per request)."""

from tenants.directory import Directory

from . import selectors
from .config import router_file


class DeploymentDirectory(Directory):
    async def routes(self, tenant_id: int | None) -> tuple[selectors.BalancedRoute, ...]:
        return await self._get(("deployment_routes", tenant_id), selectors.deployment_routes_list, tenant_id=tenant_id)


deployment_directory = DeploymentDirectory()


async def balanced_routes(tenant_id: int | None) -> tuple[selectors.BalancedRoute, ...]:
    """The routes over deployments a tenant's requests may take: the admin's, then config.yml's."""
    return await deployment_directory.routes(tenant_id) + router_file.get().routes
