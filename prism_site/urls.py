from django.contrib import admin
from django.urls import include, path, re_path

from gateway import health
from gateway.views import not_found

admin.site.site_header = admin.site.site_title = "Prism administration"
admin.site.index_title = "Tenants, keys, routing and usage"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("v1/deployments/", include("deployments.urls")),
    path("v1/", include("gateway.urls")),
    path("dashboard/", include("tenants.urls")),
    path("healthz", health.healthz),
    path("readyz", health.readyz),
    path("metrics", health.metrics),
    re_path(r"^(?!admin/|static/|dashboard/)", not_found),
]
