"""Staff read the audit trail here; nobody changes it."""

from django.contrib import admin

from .exports import events_export
from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_name", "source", "ip", "action", "object_type", "object_repr", "tenant_id"]
    list_filter = ["source", "action", "object_type", "created_at"]
    search_fields = ["actor_name", "object_repr", "object_id", "ip"]
    date_hierarchy = "created_at"
    actions = ["export_csv", "export_jsonl"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # events are written by the recorder alone, and never changed

    has_delete_permission = has_change_permission

    def get_actions(self, request):
        # The export actions need no delete permission; Django's own bulk delete is never offered.
        return {name: action for name, action in super().get_actions(request).items() if name != "delete_selected"}

    @admin.action(description="Export selected as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        return events_export(queryset, fmt="csv")

    @admin.action(description="Export selected as JSON lines", permissions=["view"])
    def export_jsonl(self, request, queryset):
        return events_export(queryset, fmt="jsonl")
