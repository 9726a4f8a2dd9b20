"""The endpoints off the hot path: the model list, in OpenAI's shape, or Anthropic's for Anthropic clients."""

from datetime import datetime, timezone

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.response import Response
from rest_framework.views import APIView

from deployments.config import router_file
from deployments.selectors import BalancedRoute, deployment_routes_list
from providers.registry import provider_catalogue
from tenants.selectors import provider_keys_get, route_rules_list

from .errors import NotFound
from .plugins.model_router import model_not_found, prefix_map_load, route_resolve

# OpenAI's models carry a creation time; Prism's catalogue has none, so all share this one.
CATALOGUE_CREATED = 1700000000


def models_for_key(key_info) -> list[dict]:
    """The models this key may use and Prism can serve now, in OpenAI's format.

    Those of every provider that can serve (see provider_catalogue), the names routing rules rename to
    another model and the models routes over deployments name, each if the key allows it and it routes
    to a provider that can serve.
    """
    servable = ModelsServable(key_info)
    names = [model for models in servable.catalogue.values() for model in models]
    names += [rule.model_prefix for rule in servable.rules if rule.upstream_model]
    names += [route.model for route in servable.balanced if not route.model.endswith("*")]
    return [entry for model in dict.fromkeys(names) if (entry := servable.entry(model))]


class ModelsServable:
    """What one key can be served: its tenant's routing rules and deployments, and the providers that can serve it."""

    def __init__(self, key_info):
        self.key_info = key_info
        self.rules, self.prefix_map = route_rules_list(tenant_id=key_info.tenant_id), prefix_map_load()
        self.balanced = router_file().routes + deployment_routes_list(tenant_id=key_info.tenant_id)
        self.catalogue = provider_catalogue(tenant_keys=provider_keys_get(tenant_id=key_info.tenant_id).keys())

    def entry(self, model: str) -> dict | None:
        """The model in OpenAI's format, or None if the key may not use it or no provider can serve it."""
        if not self.key_info.allows(model):
            return None
        target = route_resolve(model, rules=self.rules, prefix_map=self.prefix_map, balanced=self.balanced)
        if isinstance(target, BalancedRoute):  # served by its deployments, with their own keys
            return {"id": model, "object": "model", "created": CATALOGUE_CREATED, "owned_by": "prism"}
        if target is None or target.provider not in self.catalogue:
            return None
        return {"id": model, "object": "model", "created": CATALOGUE_CREATED, "owned_by": target.provider}


def _anthropic_client(request) -> bool:
    """Anthropic's SDK and Claude Code send `anthropic-version` and read Anthropic's list shape."""
    return "HTTP_ANTHROPIC_VERSION" in request.META


def anthropic_model(entry: dict) -> dict:
    created = datetime.fromtimestamp(entry["created"], timezone.utc).isoformat().replace("+00:00", "Z")
    return {"type": "model", "id": entry["id"], "display_name": entry["id"], "created_at": created}


class ModelList(APIView):
    def get(self, request):
        entries = models_for_key(request.auth)
        if not _anthropic_client(request):
            return Response({"object": "list", "data": entries})
        data = [anthropic_model(entry) for entry in entries]
        return Response({"data": data, "has_more": False, "first_id": data[0]["id"] if data else None,
                         "last_id": data[-1]["id"] if data else None})


class ModelDetail(APIView):
    """Any model the key may use and that routes to a provider that can serve it, listed or not."""

    def get(self, request, model):
        entry = ModelsServable(request.auth).entry(model)
        if entry is None:
            raise model_not_found(model)
        return Response(anthropic_model(entry) if _anthropic_client(request) else entry)


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Unknown URLs answer in OpenAI's shape too, so clients can show the message."""
    error = NotFound(f"Invalid URL ({request.method} {request.path}).")
    return JsonResponse(error.as_dict(), status=error.status_code)
