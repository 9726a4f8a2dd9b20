from django.contrib.auth import views as auth_views
from django.urls import path

from audit.views import audit_trail

from .oidc import OIDCLoginView
from .views import keys, members, signin, usage

app_name = "console"

urlpatterns = [
    path("", usage.home, name="home"),
    path("requests/", usage.requests_list, name="requests"),
    path("requests/<str:request_id>/", usage.request_detail, name="request"),
    path("keys/", keys.keys_list, name="keys"),
    path("keys/new/", keys.key_new, name="key-new"),
    path("keys/<int:key_id>/", keys.key_detail, name="key"),
    path("keys/<int:key_id>/rotate/", keys.key_rotate, name="key-rotate"),
    path("keys/<int:key_id>/revoke/", keys.key_revoke, name="key-revoke"),
    path("members/", members.members, name="members"),
    path("members/<int:tenant_id>/<int:user_id>/remove/", members.member_remove, name="member-remove"),
    path("routing/", members.routing, name="routing"),
    path("audit/", audit_trail, name="audit"),
    path("login/", signin.ConsoleLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="console:login"), name="logout"),
    path("sso/", OIDCLoginView.as_view(), name="sso"),
]
