from django.urls import path

from . import views

urlpatterns = [
    path("health", views.deployments_health, name="deployments-health"),
]
