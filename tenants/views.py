"""The usage dashboard: plain server-rendered pages, charts drawn as SVG on the server, CSV exports."""

import csv

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from .usage_reports import PERIODS, TABLES, tenants_visible, usage_report, usage_selection

CHART_HEIGHT = 120


def _bars(series: list[dict], field: str) -> list[dict]:
    """Bar heights for an SVG chart of one field over time."""
    top = max((row[field] for row in series), default=0) or 1
    width = 100 / max(len(series), 1)
    bars = []
    for index, row in enumerate(series):
        height = float(row[field]) / float(top) * CHART_HEIGHT
        bars.append({"x": index * width, "y": CHART_HEIGHT - height, "width": width * 0.8, "height": height,
                     "time": row["time"], "value": row[field]})
    return bars


@login_required
def dashboard(request):
    tenants = tenants_visible(request.user)
    selection = usage_selection(request.GET, tenants=tenants)
    report = usage_report(selection)
    charts = [(title, _bars(report["series"], field)) for title, field in
              (("Requests", "requests"), ("Tokens", "total_tokens"), ("Cost (USD)", "cost"))]
    context = {
        "period": selection.period, "periods": PERIODS, "tenants": tenants, "tenant_id": selection.tenant_id,
        "report": report,
        "summary": report["summary"][0], "charts": charts, "chart_height": CHART_HEIGHT,
        "query": request.GET.urlencode(),
    }
    return render(request, "dashboard/index.html", context)


@login_required
def dashboard_csv(request, table):
    if table not in TABLES:
        raise Http404("No such table")
    selection = usage_selection(request.GET, tenants=tenants_visible(request.user))
    rows = TABLES[table](selection)
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="prism-{table}-{selection.period.name}.csv"'
    if rows:
        writer = csv.DictWriter(response, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return response
