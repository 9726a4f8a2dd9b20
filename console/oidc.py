"""Single sign-on through OpenID Connect (mozilla-django-oidc), configured by the issuer alone.

The provider's endpoints are read from its discovery document unless set one by one, and a user
whose email domain is mapped to a tenant (PRISM_OIDC_TENANT_DOMAINS) joins it as a viewer on first
sign-in; an admin gives them more.
"""

import logging
from functools import lru_cache

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from tenants.models import Tenant

from .models import Membership, Role

logger = logging.getLogger(__name__)
DISCOVERED = {"OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint", "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
              "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint", "OIDC_OP_JWKS_ENDPOINT": "jwks_uri"}


def oidc_enabled() -> bool:
    return bool(settings.PRISM_OIDC_ISSUER and settings.OIDC_RP_CLIENT_ID)


@lru_cache(maxsize=4)
def discovery(issuer: str) -> dict:
    response = requests.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration", timeout=10)
    response.raise_for_status()
    return response.json()


def oidc_setting(attr, *default):
    if attr in DISCOVERED and not getattr(settings, attr, None):
        if not settings.PRISM_OIDC_ISSUER:
            raise ImproperlyConfigured("Set PRISM_OIDC_ISSUER to sign in with OpenID Connect.")
        return discovery(settings.PRISM_OIDC_ISSUER)[DISCOVERED[attr]]
    return import_from_settings(attr, *default)


class OIDCLoginView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider; back to the sign-in page if there is none, or it cannot be reached."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, **kwargs):
        View.__init__(self, **kwargs)  # the provider is asked on GET, where a failure can be answered

    def get(self, request):
        if not oidc_enabled():
            return redirect("console:login")
        try:
            super().__init__()
        except requests.RequestException:
            logger.warning("The OpenID Connect provider %s did not answer", settings.PRISM_OIDC_ISSUER)
            return redirect(f"{reverse('console:login')}?sso=failed")
        return super().get(request)


class TenantOIDCBackend(OIDCAuthenticationBackend):
    """Signs in by verified email; an unknown user gets an account named by their email."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        # Django builds every backend for every password sign-in too: ask the provider only for an SSO one.
        self.UserModel = get_user_model()

    def authenticate(self, request, **kwargs):
        if request is None or "code" not in request.GET or not oidc_enabled():
            return None
        super().__init__()
        return super().authenticate(request, **kwargs)

    def verify_claims(self, claims):
        # A provider that says the email is not verified does not get to claim an account by it.
        return super().verify_claims(claims) and claims.get("email_verified", True) is not False

    def create_user(self, claims):
        user = self.UserModel.objects.create_user(username=claims["email"].lower(), email=claims["email"].lower())
        return self.update_user(user, claims)

    def update_user(self, user, claims):
        domain = claims["email"].rpartition("@")[2].lower()
        tenant_name = settings.PRISM_OIDC_TENANT_DOMAINS.get(domain)
        tenant = Tenant.objects.filter(name=tenant_name).first() if tenant_name else None
        if tenant is not None and not Membership.objects.filter(tenant=tenant, user=user).exists():
            Membership.objects.create(tenant=tenant, user=user, role=Role.VIEWER)
            tenant.members.add(user)
        return user
