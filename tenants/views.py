"""The usage dashboard: plain server-rendered pages, charts drawn as SVG on the server, CSV exports."""

import csv
import functools

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.html import escape

from .usage_reports import PERIODS, TABLES, SelectionInvalid, tenants_visible, usage_report, usage_selection

CHART_HEIGHT = 120
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A value as a spreadsheet shows it, never as a formula: text that could start one is quoted with '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def selection_required(view):
    """Answer 400 to query parameters that cannot select anything (an impossible date, a malformed tenant)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except SelectionInvalid as invalid:
            return HttpResponseBadRequest(f"<h1>Bad request</h1><p>{escape(invalid)}</p>")

    return wrapped


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
@selection_required
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
@selection_required
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
        writer.writerows({name: csv_cell(value) for name, value in row.items()} for row in rows)
    return response
