"""The request's story: authenticate, validate, route, limit, ask for usage, call the provider."""

from functools import partial

from django.conf import settings
from django.utils.module_loading import import_string

from .plugins.interface import Plugin, RequestContext
from .resilience import provider_call


async def checked_provider_call(context: RequestContext) -> None:
    """Await the plugins' checks, then call the provider: checks started by several plugins (each a shared
    counter's answer) are on their way together. Every check is awaited, so none is left pending; the first
    refusal answers."""
    if context.checks and context.route is not None and context.route.plan is not None:
        context.route.plan.prefetch()  # a deployment is chosen during the same wait as the checks
    refusal = None
    for check in context.checks:
        try:
            await check(context)
        except Exception as raised:
            refusal = refusal or raised
    if refusal is not None:
        raise refusal
    await provider_call(context)


class Pipeline:
    """Runs each plugin in order; each awaits the next, and the routed provider comes last."""

    def __init__(self, plugins: list[Plugin]):
        self.plugins = plugins
        chain = checked_provider_call
        for plugin in reversed(plugins):
            # A partial, not a wrapping coroutine: every resumption of the request walks the chain.
            chain = partial(plugin.handle, next=chain)
        self._chain = chain

    async def initialize(self):
        for plugin in self.plugins:
            await plugin.initialize()

    async def run(self, context: RequestContext) -> None:
        await self._chain(context)


def pipeline_from_settings() -> Pipeline:
    return Pipeline([import_string(path)() for path in settings.PRISM_PIPELINE])


_shared = []


async def pipeline_shared() -> Pipeline:
    """The process's pipeline, made and initialized on first use: every door runs the same plugins."""
    if not _shared:
        pipeline = pipeline_from_settings()
        await pipeline.initialize()
        _shared[:] = [pipeline]
    return _shared[0]
