"""GET /v1/usage: the dashboard's numbers as JSON, for scripts.

A Prism key sees its own tenant; a logged-in user (session) the tenants the dashboard shows them.
"""

from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.models import Tenant
from tenants.usage_reports import SelectionInvalid, tenants_visible, usage_report, usage_selection

from .authentication import KeyHolder, PrismKeyAuthentication
from .errors import InvalidRequest


class UsageReport(APIView):
    authentication_classes = [PrismKeyAuthentication, SessionAuthentication]

    def get(self, request):
        if isinstance(request.user, KeyHolder):
            tenants = Tenant.objects.filter(id=request.auth.tenant_id)
        else:
            tenants = tenants_visible(request.user)
        try:
            selection = usage_selection(request.query_params, tenants=tenants)
        except SelectionInvalid as invalid:
            raise InvalidRequest(str(invalid), param=invalid.param) from None
        period = selection.period
        return Response({"object": "usage.report", "period": {"name": period.name, "since": period.since,
                                                               "until": period.until}, **usage_report(selection)})
