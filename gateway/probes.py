"""Load balancers' health probes answered before Django checks the Host header.

A probe calls /healthz and /readyz by IP address and knows no host name, so with ALLOWED_HOSTS set
every probe would get 400 (and the log a DisallowedHost traceback). This middleware comes first in
MIDDLEWARE and serves exactly those two paths; every other request still goes through the host check.
"""

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.utils.decorators import sync_and_async_middleware

from .health import healthz, readyz

PROBES = {"/healthz": healthz, "/readyz": readyz}


@sync_and_async_middleware
def health_probes(get_response):
    if iscoroutinefunction(get_response):
        async def middleware(request):
            probe = PROBES.get(request.path_info)
            if probe is None:
                return await get_response(request)
            return await sync_to_async(probe)(request)
    else:
        def middleware(request):
            probe = PROBES.get(request.path_info)
            return get_response(request) if probe is None else probe(request)
    return middleware
