"""Who is acting right now: the signed-in user of the current request, or the management command being run."""

import sys
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from asgiref.sync import iscoroutinefunction
from django.utils.decorators import sync_and_async_middleware


@dataclass(frozen=True)
class Actor:
    user: object | None
    name: str
    source: str
    ip: str | None = None
    user_agent: str = ""


def _process_actor() -> Actor:
    """Outside a request: `manage.py <command>` names itself; anything else is the system."""
    if len(sys.argv) > 1 and sys.argv[0].endswith("manage.py"):
        return Actor(None, f"manage.py {sys.argv[1]}", "command")
    return Actor(None, "system", "system")


_request = ContextVar("audit_request", default=None)
_action = ContextVar("audit_action", default=None)


def actor_current() -> Actor:
    request = _request.get()
    if request is None:
        return _process_actor()
    user = request.user if getattr(request, "user", None) and request.user.is_authenticated else None
    source = next((name for prefix, name in SOURCES if request.path.startswith(prefix)), "web")
    return Actor(user, user.get_username() if user else "anonymous", source,
                 request.META.get("REMOTE_ADDR"), request.META.get("HTTP_USER_AGENT", "")[:300])


SOURCES = [("/admin/", "admin"), ("/console/", "console")]


def action_current() -> str | None:
    return _action.get()


@contextmanager
def audit_action(name: str):
    """Record the changes made inside as `name` (rotate, revoke, invite) rather than a bare update."""
    token = _action.set(name)
    try:
        yield
    finally:
        _action.reset(token)


@sync_and_async_middleware
def audit_context_middleware(get_response):
    """Lets every change made while answering a request name its user, address and browser."""
    if iscoroutinefunction(get_response):
        async def middleware(request):
            token = _request.set(request)
            try:
                return await get_response(request)
            finally:
                _request.reset(token)
    else:
        def middleware(request):
            token = _request.set(request)
            try:
                return get_response(request)
            finally:
                _request.reset(token)
    return middleware
