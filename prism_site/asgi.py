"""ASGI entry point: the chat endpoint is served directly, everything else by Django."""

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
from django.urls import path, re_path  # noqa: E402

from gateway.endpoint import ChatCompletionsEndpoint  # noqa: E402
from gateway.lifespan import lifespan  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": URLRouter(
            [
                path("v1/chat/completions", ChatCompletionsEndpoint()),
                re_path(r"", ASGIStaticFilesHandler(django_application)),
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
