from django.urls import path

from . import views

urlpatterns = [
    path("models", views.ModelList.as_view(), name="model-list"),
    path("models/<path:model>", views.ModelDetail.as_view(), name="model-detail"),
]
