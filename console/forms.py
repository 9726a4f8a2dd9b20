"""The console's forms; a key's limits may not exceed its tenant's."""

from django import forms

from tenants.models import ApiKey
from tenants.services import LIMIT_FIELDS

from .models import Role


class KeyForm(forms.ModelForm):
    """A key's name, models and limits; the tenant is chosen only when the key is issued."""

    tenant = forms.ModelChoiceField(queryset=None, empty_label=None)

    class Meta:
        model = ApiKey
        fields = ["tenant", "label", "allowed_models", *LIMIT_FIELDS]
        widgets = {"allowed_models": forms.TextInput(attrs={"placeholder": "every model, or e.g. mock-1, gpt-4o*"})}
        labels = {"label": "Name"}

    def __init__(self, *args, tenants, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["tenant"]
        else:
            self.fields["tenant"].queryset = tenants

    def clean(self):
        cleaned = super().clean()
        tenant = cleaned.get("tenant") or getattr(self.instance, "tenant", None)
        for name in LIMIT_FIELDS:
            ceiling, value = getattr(tenant, name, None), cleaned.get(name)
            if ceiling is not None and value is not None and value > ceiling:
                self.add_error(name, f"At most {ceiling}, the tenant's own limit.")
        return cleaned

    def models_list(self) -> list[str]:
        return [model.strip() for model in self.cleaned_data["allowed_models"].split(",") if model.strip()]

    def limits(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in LIMIT_FIELDS}


class RotateForm(forms.Form):
    grace_minutes = forms.DecimalField(
        label="Old key keeps working for (minutes)", min_value=0, max_value=7 * 24 * 60, decimal_places=2,
        initial=60, help_text="Time to deploy the new key everywhere the old one is used.",
    )


class InviteForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=None, empty_label=None)
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)

    def __init__(self, *args, tenants, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = tenants
