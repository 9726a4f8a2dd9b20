from django.urls import path

from . import views
from .usage_api import UsageReport

urlpatterns = [
    path("models", views.ModelList.as_view(), name="model-list"),
    path("models/<path:model>", views.ModelDetail.as_view(), name="model-detail"),
    path("usage", UsageReport.as_view(), name="usage"),
]
