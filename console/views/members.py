"""A tenant's people and routing, as its admins manage and its members read them."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from console import services
from console.forms import InviteForm
from console.models import Membership, Role
from console.roles import roles_of, tenant_get, tenants_visible, tenants_where
from tenants.models import RoutingRule


def _people(tenant) -> list[dict]:
    """Members with a console role, and those only in Tenant.members (viewers)."""
    roles = dict(Membership.objects.filter(tenant=tenant).values_list("user_id", "role"))
    users = get_user_model().objects.filter(Q(id__in=roles) | Q(tenants=tenant)).distinct().order_by("username")
    return [{"user": user, "role": roles.get(user.id, Role.VIEWER)} for user in users]


@login_required
def members(request):
    administered = tenants_where(request.user, Role.ADMIN)
    form = InviteForm(request.POST or None, tenants=administered)
    if request.method == "POST":
        if form.is_valid():
            services.member_invite(tenant=form.cleaned_data["tenant"], email=form.cleaned_data["email"],
                                   role=form.cleaned_data["role"])
            messages.success(request, f"{form.cleaned_data['email']} is now {form.cleaned_data['role']} "
                                      f"of {form.cleaned_data['tenant']}.")
            return redirect("console:members")
    roles = roles_of(request.user)
    context = {"form": form, "administered": [(tenant, _people(tenant)) for tenant in administered],
               "mine": [(tenant, roles[tenant.id]) for tenant in tenants_visible(request.user)]}
    return render(request, "console/members.html", context)


@login_required
@require_POST
def member_remove(request, tenant_id, user_id):
    tenant = tenant_get(request.user, tenant_id, Role.ADMIN)
    user = get_user_model().objects.filter(id=user_id).first()
    if user is not None:
        services.member_remove(tenant=tenant, user=user)
        messages.success(request, f"{user.get_username()} no longer belongs to {tenant}.")
    return redirect("console:members")


@login_required
def routing(request):
    tenants = tenants_visible(request.user)
    rules = RoutingRule.objects.filter(Q(tenant__in=tenants) | Q(tenant__isnull=True)).select_related("tenant")
    return render(request, "console/routing.html", {"rules": rules})
