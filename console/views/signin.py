"""The sign-in page: a Django account, or single sign-on when an OpenID Connect provider is configured."""

from django.contrib.auth.views import LoginView

from console.oidc import oidc_enabled


class ConsoleLoginView(LoginView):
    template_name = "console/login.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "sso": oidc_enabled(),
                "sso_failed": self.request.GET.get("sso") == "failed"}
