"""The OpenAI-compatible endpoints off the hot path: the model list."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.response import Response
from rest_framework.views import APIView

from deployments.config import router_file
from deployments.selectors import deployment_routes_list
from providers.registry import provider_catalogue
from tenants.selectors import route_rules_list

from .errors import NotFound
from .plugins.model_router import model_not_found, prefix_map_load, route_resolve

# OpenAI's models carry a creation time; Prism's catalogue has none, so all share this one.
CATALOGUE_CREATED = 1700000000


def models_for_key(key_info) -> list[dict]:
    """The models this key may use and the router can place, in OpenAI's format (with the models that routes
    over deployments name)."""
    rules, prefix_map = route_rules_list(tenant_id=key_info.tenant_id), prefix_map_load()
    listed = [
        {"id": model, "object": "model", "created": CATALOGUE_CREATED, "owned_by": name}
        for name, models in provider_catalogue().items()
        for model in models
        if key_info.allows(model) and route_resolve(model, rules=rules, prefix_map=prefix_map)
    ]
    balanced = router_file.get().routes + deployment_routes_list(tenant_id=key_info.tenant_id)
    named = {route.model for route in balanced if not route.model.endswith("*") and key_info.allows(route.model)}
    return listed + [{"id": model, "object": "model", "created": CATALOGUE_CREATED, "owned_by": "prism"}
                     for model in sorted(named - {entry["id"] for entry in listed})]


class ModelList(APIView):
    def get(self, request):
        return Response({"object": "list", "data": models_for_key(request.auth)})


class ModelDetail(APIView):
    def get(self, request, model):
        for entry in models_for_key(request.auth):
            if entry["id"] == model:
                return Response(entry)
        raise model_not_found(model)


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Unknown URLs answer in OpenAI's shape too, so clients can show the message."""
    error = NotFound(f"Invalid URL ({request.method} {request.path}).")
    return JsonResponse(error.as_dict(), status=error.status_code)
