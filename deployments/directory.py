"""The process's cache of the admin's deployment routes (like tenants/directory.py: no query per request)."""

from tenants.directory import Directory

from . import selectors


class DeploymentDirectory(Directory):
    async def routes(self, tenant_id: int | None) -> tuple[selectors.BalancedRoute, ...]:
        return await self._get(("deployment_routes", tenant_id), selectors.deployment_routes_list, tenant_id=tenant_id)


deployment_directory = DeploymentDirectory()
