"""What every usage page starts from: the user's tenants and the filters in the URL."""

from urllib.parse import urlencode

from console.roles import roles_of
from console.usage import filters_parse


def filters_for(request):
    tenant_ids = None if request.user.is_staff else list(roles_of(request.user))
    return filters_parse(request.GET, tenant_ids=tenant_ids)


def link(filters, **changes) -> str:
    """`?query` of the filters with some changed, for links that keep the rest of the view."""
    return "?" + urlencode(filters.query(**changes))
