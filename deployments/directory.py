"""The process's cache of the admin's deployment routes (like tenants/directory.py: no query per request)."""

from tenants.directory import Directory

from . import selectors
from .config import router_file


class DeploymentDirectory(Directory):
    async def routes(self, tenant_id: int | None) -> tuple[selectors.BalancedRoute, ...]:
        return await self._get(("deployment_routes", tenant_id), selectors.deployment_routes_list, tenant_id=tenant_id)


deployment_directory = DeploymentDirectory()


async def deployment_find(*, name: str, tenant_id: int | None) -> selectors.DeploymentInfo | None:
    """A deployment this tenant's routes reach, by name: where a stored response it created goes back to."""
    routes = await deployment_directory.routes(tenant_id) + router_file().routes
    return next((d for route in routes for group in route.groups for d in group if d.name == name), None)
