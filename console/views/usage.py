"""Usage pages: the home page's chart and breakdowns, the requests list and one request's page."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Subquery
from django.http import Http404
from django.shortcuts import render

from console import usage
from console.charts import METRICS, SPLITS, chart_build
from console.roles import keys_visible, roles_of, tenants_visible
from tenants.models import UsageRecord
from tenants.usage_reports import PERIODS

from .scope import filters_for, link

BREAKDOWNS = [("model", "By model"), ("tenant", "By tenant"), ("key", "By key")]
SORTS = {"time": "created_at", "latency": "latency_ms", "ttft": "ttft_ms", "tokens": "total_tokens",
         "cost": "cost", "status": "status_code"}
PAGE_SIZE = 50
SORT_WINDOW = 20_000


def _breakdown(filters, by: str, rows: list[dict]) -> list[dict]:
    rows = sorted(rows, key=lambda row: -row["requests"])
    names = usage.group_names(by, [row["group"] for row in rows])
    for row in rows:
        row["name"] = names.get(row["group"], row["group"])
        row["link"] = link(filters, **{by: row["group"]})
    return rows


def _filter_choices(request, filters) -> dict:
    return {"tenants": tenants_visible(request.user), "keys": keys_visible(request.user)[:200],
            "periods": PERIODS, "operations": usage.OPERATIONS, "filters": filters,
            "query": urlencode(filters.query())}


@login_required
def home(request):
    filters = filters_for(request)
    metric = request.GET.get("metric") if request.GET.get("metric") in METRICS else "requests"
    split = request.GET.get("split", "model")
    split = split if split in SPLITS and (split != "class" or metric == "tokens") else ""
    totals = usage.totals_of(filters)
    breakdowns = [(by, title, _breakdown(filters, by, totals[by])) for by, title in BREAKDOWNS
                  if by != "tenant" or len(roles_of(request.user)) > 1]
    context = {
        **_filter_choices(request, filters),
        "summary": totals["summary"][0],
        "percentiles": usage.percentiles(filters, over_time=False).get(None, {}), "chart": chart_build(filters, metric=metric, split=split),
        "metrics": METRICS, "splits": {name: title for name, title in SPLITS.items()
                                       if name != "class" or metric == "tokens"},
        "metric": metric, "split": split, "breakdowns": breakdowns,
        "models": sorted({row["name"] for row in breakdowns[0][2]} | ({filters.model} if filters.model else set())),
    }
    return render(request, "console/home.html", context)


@login_required
def requests_list(request):
    filters = filters_for(request)
    sort = request.GET.get("sort", "-time")
    column = SORTS.get(sort.lstrip("-"), "created_at")
    order = f"-{column}" if sort.startswith("-") else column
    page = int(request.GET["page"]) if request.GET.get("page", "").isdigit() else 1
    start = (max(page, 1) - 1) * PAGE_SIZE
    records = usage.records_of(filters)
    windowed = column != "created_at" and filters.size > SORT_WINDOW
    if windowed:  # without an index on the column, sorting all of a large selection reads every row
        oldest = records.order_by("-created_at").values_list("created_at", flat=True)[SORT_WINDOW - 1:SORT_WINDOW]
        records = records.filter(created_at__gte=Subquery(oldest))
    rows = list(records.select_related("tenant", "api_key").order_by(order, "-id")[start:start + PAGE_SIZE + 1])
    base = {**filters.query(), "sort": sort}
    context = {
        **_filter_choices(request, filters),
        "records": rows[:PAGE_SIZE], "page": page, "sort": sort, "window": SORT_WINDOW if windowed else 0,
        "previous": urlencode({**base, "page": page - 1}) if page > 1 else "",
        "next": urlencode({**base, "page": page + 1}) if len(rows) > PAGE_SIZE else "",
        "sort_links": {name: urlencode({**filters.query(), "sort": name if sort == f"-{name}" else f"-{name}"})
                       for name in SORTS},
    }
    return render(request, "console/requests.html", context)


@login_required
def request_detail(request, request_id):
    record = (UsageRecord.objects.select_related("tenant", "api_key")
              .filter(request_id=request_id, tenant_id__in=list(roles_of(request.user))).first())
    if record is None:
        raise Http404("No such request")
    return render(request, "console/request.html", {"record": record})
