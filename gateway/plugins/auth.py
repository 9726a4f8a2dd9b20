"""Authentication: the caller's Prism key decides the tenant."""

from gateway.errors import AuthenticationFailed
from tenants.authentication import KeyRejected, authenticate

from .interface import Plugin


class AuthenticationPlugin(Plugin):
    async def handle(self, context, next):
        try:
            context.api_key = await authenticate(context.metadata.get("bearer"))
        except KeyRejected as rejected:
            raise AuthenticationFailed(str(rejected)) from None
        await next(context)
