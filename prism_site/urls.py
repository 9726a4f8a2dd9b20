from django.contrib import admin
from django.urls import include, path, re_path

from gateway import health
from gateway.observability import metrics_access_required
from gateway.views import not_found

from .home import home

admin.site.site_header = admin.site.site_title = "Prism administration"
admin.site.index_title = "Tenants, keys, routing and usage"

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("v1/", include("gateway.urls")),
    path("dashboard/", include("tenants.urls")),
    path("metrics", metrics_access_required(health.metrics)),
    re_path(r"^(?!admin/|static/|dashboard/)", not_found),
]
