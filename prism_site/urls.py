from django.contrib import admin
from django.urls import include, path, re_path

from gateway.views import not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("v1/", include("gateway.urls")),
    re_path(r"^(?!admin/|static/)", not_found),
]
