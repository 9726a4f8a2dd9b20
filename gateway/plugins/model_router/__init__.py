"""The model router: picks the provider (and upstream model name) for the requested model.

A model routed over deployments (deployments/: the admin's or config.yml's) gets the deployment its
route's strategy chooses; the others go where the routing rules or config.yml's prefix map send them.

A stored response (read, deleted, cancelled, or continued with `previous_response_id`) goes back to
the upstream that created it. A provider that lacks the operation is reached through chat, translated.
"""

from dataclasses import dataclass, replace

from deployments.balancer import Plan
from deployments.config import router_file
from deployments.directory import deployment_directory, deployment_find
from deployments.selectors import BalancedRoute
from django.conf import settings

from gateway.errors import ModelNotFound
from gateway.operations import RESPONSES
from gateway.response_owners import Owner, owner_of, response_owners
from gateway.translation import translate
from providers.config import router_config_load
from providers.registry import provider_get
from tenants.directory import directory
from tenants.selectors import RouteRule

from ..interface import Plugin, Route


@dataclass(frozen=True)
class Target:
    provider: str
    upstream_model: str
    timeout: float | None = None
    fallbacks: tuple[tuple[str, str], ...] = ()
    endpoint: str = ""
    api_key: str = ""
    deployment: str = ""


def prefix_map_load(path=None) -> dict[str, str]:
    return router_config_load(path)["prefix_map"]


def route_resolve(model: str, *, rules: tuple[RouteRule, ...], prefix_map: dict[str, str],
                  balanced: tuple[BalancedRoute, ...] = ()) -> Target | BalancedRoute | None:
    """A tenant's rules beat global rules, which beat config.yml; then the longest prefix (an exact model name
    beats every prefix), then priority; a route over deployments beats a rule that ties with it."""
    candidates = [
        ((2 if rule.for_tenant else 1, len(rule.model_prefix), rule.priority, 0),
         Target(rule.provider, rule.upstream_model or model, rule.timeout, rule.fallbacks, rule.endpoint))
        for rule in rules
        if model.startswith(rule.model_prefix)
    ]
    candidates += [((0, len(prefix), 0, 0), Target(provider, model)) for prefix, provider in prefix_map.items()
                   if model.startswith(prefix)]
    candidates += [((2 if route.for_tenant else 1 if route.from_admin else 0, specificity, route.priority, 1), route)
                   for route in balanced if (specificity := route.specificity(model)) >= 0]
    if not candidates:
        return None
    return max(candidates, key=lambda candidate: candidate[0])[1]


def model_not_found(model: str) -> ModelNotFound:
    return ModelNotFound(f"The model `{model}` does not exist or you do not have access to it.", param="model")


class ModelRouter(Plugin):
    async def initialize(self):
        router_file()  # a config.yml that does not load stops the first request, not a later one

    async def target(self, context) -> Target | BalancedRoute | None:
        """Where the context's model goes for its key, or None if the key may not use it."""
        model = context.model
        if context.api_key is not None and not context.api_key.allows(model):
            return None
        rules = await directory.route_rules(context.tenant_id) if context.api_key else ()
        config = router_file()
        balanced = await deployment_directory.routes(context.tenant_id) + config.routes
        return route_resolve(model, rules=rules, prefix_map=config.prefix_map, balanced=balanced)

    async def owner_target(self, context) -> Target | None:
        """For a stored response, its creator's upstream; None for a request that names none."""
        if context.operation.stateful:
            owner = await owner_of(context.metadata["path"].get("id"), context.tenant_id)
            context.requested_model = owner.model
        elif context.operation is RESPONSES and context.request_data.get("previous_response_id") is not None:
            if context.api_key is not None and not context.api_key.allows(context.model):
                raise model_not_found(context.model)
            owner = await owner_of(context.request_data["previous_response_id"], context.tenant_id,
                                   param="previous_response_id")
        else:
            return None
        target = Target(owner.provider, context.request_data.get("model", owner.model), endpoint=owner.endpoint)
        found = owner.deployment and await deployment_find(name=owner.deployment, tenant_id=context.tenant_id)
        if found:  # the deployment's own key, at its URL now
            return replace(target, endpoint=found.base_url, api_key=found.api_key, deployment=found.name)
        return target

    async def handle(self, context, next):
        target = await self.owner_target(context) or await self.target(context)
        if target is None:
            raise model_not_found(context.model)
        if context.api_key is not None:
            context.provider_keys = await directory.provider_keys(context.tenant_id)
        if isinstance(target, BalancedRoute):
            context.route = await Plan(target, context, retries=settings.PRISM_UPSTREAM_RETRIES).start(context)
        else:
            context.route = Route(target.provider, await provider_get(target.provider), target.upstream_model,
                                  target.timeout, target.fallbacks, target.endpoint, target.api_key, target.deployment)
        if not context.operation.stateful and context.route.upstream_model != context.model:
            context.request_data_update(model=context.route.upstream_model)
        translate(context, context.route.provider)
        await next(context)
        if context.operation is RESPONSES and context.translation is None:
            if context.response.stream is None:
                await _owner_remember(context)
            else:
                context.finishers.append(_owner_remember)


async def _owner_remember(context) -> None:
    """Note who created a stored response, so that only that tenant reaches it, at that upstream."""
    answer = context.response_data or {}
    if context.response.status == 200 and context.request_data.get("store") is not False and answer.get("id"):
        route = context.route
        owner = Owner(context.tenant_id, route.provider_name, route.upstream_model, route.endpoint, route.deployment)
        await response_owners().remember(answer["id"], owner)
