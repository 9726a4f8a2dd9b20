"""Staff manage tenants, keys and routing here, and read usage."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from .credentials import credential_encrypt
from .models import ApiKey, ModelPrice, ProviderCredential, RoutingRule, Tenant, UsageRecord
from .services import ROTATION_GRACE, key_revoke, key_rotate, key_save_new

ROTATION_GRACE_HOURS = int(ROTATION_GRACE.total_seconds() // 3600)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "rpm_limit", "tpm_limit", "monthly_token_budget", "budget_usd", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    filter_horizontal = ["members"]


class ProviderCredentialForm(forms.ModelForm):
    api_key = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted and never shown again; enter a new key to replace it.",
    )

    class Meta:
        model = ProviderCredential
        fields = ["tenant", "provider"]


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(admin.ModelAdmin):
    """A tenant's own provider key: write-only."""

    form = ProviderCredentialForm
    list_display = ["tenant", "provider", "updated_at"]
    list_filter = ["provider"]

    def save_model(self, request, obj, form, change):
        obj.encrypted_key = credential_encrypt(form.cleaned_data["api_key"])
        super().save_model(request, obj, form, change)


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = ["model_prefix", "input_per_million", "cached_input_per_million", "output_per_million",
                    "max_output_tokens"]
    search_fields = ["model_prefix"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Issuing or rotating a key shows the whole key once, on the page that answers; afterwards only its prefix."""

    # Fits a 1,400 px screen beside the admin's menu and the filters: short times, the creation time on the key's page.
    list_display = ["prefix", "label", "tenant", "state", "last_used", "expires"]
    list_filter = ["tenant", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "label", "tenant__name"]
    fields = [
        "tenant", "label", "allowed_models", "expires_at", "rpm_limit", "tpm_limit", "monthly_token_budget",
        "budget_usd", "budget_period", "budget_alert_percent", "prefix", "created_at", "last_used_at", "revoked_at",
    ]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke", "rotate"]

    @admin.display(description="last used", ordering="last_used_at")
    def last_used(self, obj):
        return _short_time(obj.last_used_at)

    @admin.display(description="expires", ordering="expires_at")
    def expires(self, obj):
        return _short_time(obj.expires_at)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/revoke/", view(self.revoke_view), name="tenants_apikey_revoke"),
            path("<path:object_id>/rotate/", view(self.rotate_view), name="tenants_apikey_rotate"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "rotation_grace_hours": ROTATION_GRACE_HOURS}
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        else:
            obj.raw_key = key_save_new(obj)

    def response_add(self, request, obj, post_url_continue=None):
        return self.issued_response(request, [(obj, obj.raw_key, None)])

    def issued_response(self, request, issued):
        """The page that shows new keys once: [(key, raw key, the key it replaces or None)]."""
        context = {**self.admin_site.each_context(request), "opts": self.opts, "issued": issued,
                   "title": "API key issued"}
        return TemplateResponse(request, "admin/tenants/apikey/issued.html", context)

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for api_key in queryset.filter(revoked_at__isnull=True):
            key_revoke(prefix=api_key.prefix)
        messages.success(request, "The selected keys are revoked.")

    @admin.action(description=f"Rotate selected keys (the old ones work {ROTATION_GRACE_HOURS} h more)")
    def rotate(self, request, queryset):
        issued = [key_rotate(prefix=api_key.prefix) for api_key in queryset.filter(revoked_at__isnull=True)]
        if not issued:
            messages.warning(request, "Revoked keys cannot be rotated; issue new ones.")
            return None
        for new, _, old in issued:
            self.log_change(request, old, f"Rotated: replaced by {new.prefix}.")
        return self.issued_response(request, issued)

    def _key_to_change(self, request, object_id) -> ApiKey:
        api_key = self.get_object(request, object_id)
        if api_key is None:
            raise Http404("No such key.")
        if request.method != "POST" or not self.has_change_permission(request, api_key):
            raise PermissionDenied
        return api_key

    def revoke_view(self, request, object_id):
        api_key = key_revoke(prefix=self._key_to_change(request, object_id).prefix)
        self.log_change(request, api_key, "Revoked.")
        messages.success(request, f"The key {api_key.prefix} is revoked: it stops working at once.")
        return redirect("admin:tenants_apikey_change", api_key.pk)

    def rotate_view(self, request, object_id):
        api_key = self._key_to_change(request, object_id)
        try:
            new, raw, old = key_rotate(prefix=api_key.prefix)
        except ValueError as error:
            messages.error(request, str(error))
            return redirect("admin:tenants_apikey_change", api_key.pk)
        self.log_change(request, old, f"Rotated: replaced by {new.prefix}.")
        return self.issued_response(request, [(new, raw, old)])


def _short_time(when) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%d %H:%M") if when else "-"


class RoutingRuleForm(forms.ModelForm):
    endpoint = forms.URLField(required=False, assume_scheme="https", help_text=RoutingRule._meta.get_field("endpoint").help_text)

    class Meta:
        model = RoutingRule
        fields = "__all__"


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    form = RoutingRuleForm
    list_display = ["model_prefix", "provider", "upstream_model", "fallbacks", "tenant", "priority", "is_active"]
    list_filter = ["provider", "is_active", "tenant"]
    search_fields = ["model_prefix", "upstream_model"]


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    """Read-only: usage is written by the gateway alone."""

    list_display = [
        "created_at", "request_id", "tenant", "api_key", "operation", "requested_model", "served_model",
        "status_code", "prompt_tokens", "completion_tokens", "total_tokens", "cost", "usage_source", "is_stream",
        "latency_ms",
    ]
    list_filter = [
        "tenant", ("api_key", admin.RelatedOnlyFieldListFilter), "operation", "requested_model", "status_code",
        "is_stream", "usage_source", "created_at",
    ]
    date_hierarchy = "created_at"
    search_fields = ["request_id"]
    list_select_related = ["tenant", "api_key"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
