from django.contrib import admin
from django.urls import include, path, re_path
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from gateway import health
from gateway.observability import metrics_access_required
from gateway.views import not_found

from .home import home

admin.site.site_header = admin.site.site_title = "Prism administration"
admin.site.index_title = "Tenants, keys, routing and usage"

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("v1/deployments/", include("deployments.urls")),
    path("v1/", include("gateway.urls")),
    path("dashboard/", include("tenants.urls")),
    path("console/", include("console.urls")),
    # Only the callback: sign-in starts at console:sso, which finds the provider by its issuer.
    path("oidc/callback/", OIDCAuthenticationCallbackView.as_view(), name="oidc_authentication_callback"),
    path("metrics", metrics_access_required(health.metrics)),
    re_path(r"^(?!admin/|static/|dashboard/|console/|oidc/)", not_found),
]
