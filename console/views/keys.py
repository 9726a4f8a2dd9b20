"""Keys in the console: list, issue (shown once), edit, rotate and revoke, each within the user's role."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from console import services
from console.forms import KeyForm, RotateForm
from console.models import Role
from console.roles import key_get, key_manageable, keys_visible, tenants_where


@login_required
def keys_list(request):
    keys = keys_visible(request.user).order_by("revoked_at", "-created_at")
    can_issue = tenants_where(request.user, Role.DEVELOPER).exists()
    return render(request, "console/keys.html", {"keys": keys[:500], "can_issue": can_issue})


def _issued(request, api_key, raw, *, replaced=None):
    return render(request, "console/key_issued.html", {"api_key": api_key, "raw_key": raw, "replaced": replaced})


@login_required
def key_new(request):
    tenants = tenants_where(request.user, Role.DEVELOPER)
    if not tenants.exists():
        raise PermissionDenied("Only developers and admins issue keys.")
    form = KeyForm(request.POST or None, tenants=tenants)
    if request.method == "POST" and form.is_valid():
        api_key, raw = services.key_create(tenant=form.cleaned_data["tenant"], user=request.user,
                                           label=form.cleaned_data["label"], allowed_models=form.models_list(),
                                           **form.limits())
        return _issued(request, api_key, raw)
    return render(request, "console/key_new.html", {"form": form})


@login_required
def key_detail(request, key_id):
    api_key = key_get(request.user, key_id)
    manageable = key_manageable(request.user, api_key)
    form = KeyForm(request.POST or None, instance=api_key, tenants=None)
    if request.method == "POST":
        if not manageable:
            raise PermissionDenied("You may not change this key.")
        if form.is_valid():
            services.key_update(api_key=api_key, label=form.cleaned_data["label"],
                                allowed_models=form.models_list(), **form.limits())
            messages.success(request, "Saved.")
            return redirect("console:key", key_id=api_key.id)
    return render(request, "console/key.html", {"api_key": api_key, "form": form, "manageable": manageable,
                                                "rotate_form": RotateForm()})


def _manageable_key(request, key_id):
    api_key = key_get(request.user, key_id)
    if not key_manageable(request.user, api_key) or api_key.is_revoked:
        raise PermissionDenied("You may not change this key.")
    return api_key


@login_required
@require_POST
def key_rotate(request, key_id):
    api_key = _manageable_key(request, key_id)
    form = RotateForm(request.POST)
    if not form.is_valid():
        return render(request, "console/key.html", {"api_key": api_key, "manageable": True, "rotate_form": form,
                                                    "form": KeyForm(instance=api_key, tenants=None)}, status=400)
    grace = timedelta(minutes=float(form.cleaned_data["grace_minutes"]))
    new, raw = services.key_rotate(api_key=api_key, user=request.user, grace=grace)
    return _issued(request, new, raw, replaced=api_key)


@login_required
@require_POST
def key_revoke(request, key_id):
    api_key = _manageable_key(request, key_id)
    services.key_disable(api_key=api_key)
    messages.success(request, f"Key {api_key.prefix} is revoked; it stops working within seconds.")
    return redirect("console:key", key_id=api_key.id)
