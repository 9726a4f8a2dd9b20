"""Staff manage tenants, keys and routing here, and read usage."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone

from .credentials import credential_encrypt
from .models import ApiKey, ModelPrice, ProviderCredential, RoutingRule, Tenant, UsageRecord
from .services import key_save_new


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
    """Issuing a key shows the whole key once, on the page answering the form; afterwards only its prefix."""

    list_display = ["prefix", "label", "tenant", "status", "created_at", "last_used_at", "expires_at"]
    list_filter = ["tenant", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "label", "tenant__name"]
    fields = [
        "tenant", "label", "allowed_models", "expires_at", "rpm_limit", "tpm_limit", "monthly_token_budget",
        "budget_usd", "budget_period", "budget_alert_percent", "prefix", "created_at", "last_used_at", "revoked_at",
    ]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(description="Status")
    def status(self, obj):
        return "revoked" if obj.is_revoked else "expired" if obj.is_expired else "active"

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        else:
            obj.raw_key = key_save_new(obj)

    def response_add(self, request, obj, post_url_continue=None):
        context = {**self.admin_site.each_context(request), "opts": self.opts, "api_key": obj, "raw_key": obj.raw_key}
        return TemplateResponse(request, "admin/tenants/apikey/issued.html", context)

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        # One save per key, so each change reaches the key cache.
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key.revoked_at = timezone.now()
            api_key.save(update_fields=["revoked_at"])
        messages.success(request, "The selected keys are revoked.")


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
        "created_at", "request_id", "tenant", "api_key", "requested_model", "served_model", "status_code",
        "prompt_tokens", "completion_tokens", "total_tokens", "cost", "usage_source", "is_stream", "latency_ms",
    ]
    list_filter = [
        "tenant", ("api_key", admin.RelatedOnlyFieldListFilter), "requested_model", "status_code", "is_stream",
        "created_at",
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
