"""ASGI entry point: the doors of model calls are served directly (gateway/endpoint.py), everything else by Django."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prism_site.settings")
# Several workers add up their metrics in files there (gateway/observability.py); the directory must
# exist before the first metric is made, and a fresh machine's /tmp has none.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (after Django is set up)
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.core.exceptions import SuspiciousFileOperation  # noqa: E402
from django.http import Http404  # noqa: E402
from django.urls import path, re_path  # noqa: E402

from gateway import operations as op  # noqa: E402
from gateway.endpoint import GatewayEndpoint  # noqa: E402
from gateway.lifespan import lifespan  # noqa: E402


class StaticFiles(ASGIStaticFilesHandler):
    """Django's static files; a path that climbs out of them (/static/../x) is not found, not a 500."""

    def serve(self, request):
        try:
            return super().serve(request)
        except SuspiciousFileOperation:
            raise Http404("No such file.") from None


application = ProtocolTypeRouter(
    {
        "http": URLRouter(
            [
                path("v1/chat/completions", GatewayEndpoint(op.CHAT)),
                path("v1/responses", GatewayEndpoint(op.RESPONSES)),
                path("v1/responses/<str:id>", GatewayEndpoint(op.RESPONSE_GET, op.RESPONSE_DELETE)),
                path("v1/responses/<str:id>/cancel", GatewayEndpoint(op.RESPONSE_CANCEL)),
                path("v1/responses/<str:id>/input_items", GatewayEndpoint(op.RESPONSE_INPUT_ITEMS)),
                path("v1/embeddings", GatewayEndpoint(op.EMBEDDINGS)),
                path("v1/completions", GatewayEndpoint(op.COMPLETIONS)),
                path("v1/moderations", GatewayEndpoint(op.MODERATIONS)),
                path("v1/messages", GatewayEndpoint(op.MESSAGES)),
                path("v1/messages/count_tokens", GatewayEndpoint(op.COUNT_TOKENS)),
                re_path(r"", StaticFiles(django_application)),
            ]
        ),
        "lifespan": lifespan,
    }
)

# What is loaded by now (Django, the apps, the plugins) lives as long as the process. Frozen, the
# garbage collector stops walking it in every full collection (pauses of tens of ms under load), and a
# larger youngest generation collects each request's garbage in fewer passes: 10-20% less CPU per
# request in bench/ (see bench/RESULTS.md).
gc.collect()
gc.freeze()
gc.set_threshold(20_000, 20, 20)
