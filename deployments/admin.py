"""Staff define deployments (keys write-only) and the routes that balance a model over groups of them."""

from django import forms
from django.contrib import admin

from tenants.credentials import credential_encrypt

from .models import Deployment, DeploymentGroup, DeploymentRoute


class DeploymentForm(forms.ModelForm):
    base_url = forms.URLField(required=False, assume_scheme="https",
                              help_text=Deployment._meta.get_field("base_url").help_text)
    api_key = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted and never shown again; leave empty to keep the current key "
        "(or the provider's own, if none was set).",
    )
    clear_key = forms.BooleanField(required=False, help_text="Forget the stored key: use the provider's own.")

    class Meta:
        model = Deployment
        fields = ["tenant", "name", "provider", "base_url", "upstream_model", "weight", "rpm", "tpm", "timeout",
                  "region", "is_enabled"]


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    form = DeploymentForm
    list_display = ["name", "tenant", "provider", "base_url", "upstream_model", "weight", "rpm", "tpm", "region",
                    "has_key", "is_enabled"]
    list_filter = ["is_enabled", "provider", "region", "tenant"]
    search_fields = ["name", "base_url", "upstream_model", "region"]

    @admin.display(boolean=True, description="own key")
    def has_key(self, obj):
        return bool(obj.encrypted_key)

    def save_model(self, request, obj, form, change):
        if form.cleaned_data.get("clear_key"):
            obj.encrypted_key = ""
        elif form.cleaned_data.get("api_key"):
            obj.encrypted_key = credential_encrypt(form.cleaned_data["api_key"])
        super().save_model(request, obj, form, change)


class DeploymentGroupInline(admin.TabularInline):
    model = DeploymentGroup
    fields = ["position", "deployments"]
    extra = 1
    verbose_name = "group (the first serves; the next ones are fallbacks, in order of position)"


@admin.register(DeploymentRoute)
class DeploymentRouteAdmin(admin.ModelAdmin):
    inlines = [DeploymentGroupInline]
    list_display = ["model", "tenant", "strategy", "affinity", "priority", "is_active"]
    list_filter = ["strategy", "is_active", "tenant"]
    search_fields = ["model"]
