"""The audit trail in the console: staff see all of it, a tenant's admins their tenant's; CSV and JSON lines too."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from console.models import Role
from console.roles import tenants_where

from .exports import FORMATS, events_export
from .models import AuditEvent

FILTERS = {"action": "action", "object_type": "object_type", "actor": "actor_name", "tenant": "tenant_id",
           "object_id": "object_id"}
PAGE_SIZE = 100


def events_visible(user):
    if user.is_staff:
        return AuditEvent.objects.all()
    return AuditEvent.objects.filter(tenant_id__in=tenants_where(user, Role.ADMIN).values("id"))


@login_required
def audit_trail(request):
    events = events_visible(request.user)
    chosen = {name: request.GET[name] for name in FILTERS if request.GET.get(name)}
    if "tenant" in chosen and not chosen["tenant"].isdigit():
        del chosen["tenant"]
    events = events.filter(**{FILTERS[name]: value for name, value in chosen.items()})
    if request.GET.get("format") in FORMATS:
        return events_export(events, fmt=request.GET["format"])
    page = int(request.GET["page"]) if request.GET.get("page", "").isdigit() else 1
    start = (max(page, 1) - 1) * PAGE_SIZE
    rows = list(events[start:start + PAGE_SIZE + 1])
    context = {
        "events": rows[:PAGE_SIZE], "chosen": chosen, "query": urlencode(chosen), "page": page,
        "next": urlencode({**chosen, "page": page + 1}) if len(rows) > PAGE_SIZE else "",
        "previous": urlencode({**chosen, "page": page - 1}) if page > 1 else "",
        "actions": events_visible(request.user).values_list("action", flat=True).distinct().order_by("action"),
        "tenants": tenants_where(request.user, Role.ADMIN),
    }
    return render(request, "console/audit.html", context)
