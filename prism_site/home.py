"""The front page, for a person who opens Prism's address: what it is, where to go, and whether it is ready."""

from django.shortcuts import render

from gateway.health import readyz


def home(request):
    base_url = request.build_absolute_uri("/v1")
    return render(request, "home.html", {"ready": readyz(request).status_code == 200, "base_url": base_url})
