"""Time-series charts drawn on the server as SVG: axes, gridlines, every bucket, and the numbers to hover over.

A chart is built from `usage.grouped()` rows in three steps: series (one per split value, the
biggest kept, the rest added up as "other"), a y scale with round ticks, and the geometry the
template draws. console.js only formats the time labels in the reader's zone and shows the tooltip.
"""

import math
from dataclasses import dataclass

from . import usage

METRICS = {
    "requests": ("Requests", "count"),
    "tokens": ("Tokens", "tokens"),
    "cost": ("Cost", "usd"),
    "errors": ("Error rate", "percent"),
    "latency": ("Latency", "ms"),
    "ttft": ("Time to first token", "ms"),
}
SPLITS = {"": "nothing", "model": "model", "tenant": "tenant", "key": "key", "status": "status",
          "class": "token class"}
LINES = {"errors", "latency", "ttft"}
COLORS = ["#3b6fd8", "#e8853d", "#2e9e6b", "#c0468c", "#7a5fc9", "#c9a227", "#3aa6b9", "#8c6d52", "#9aa0ab"]
MOST_SERIES = 8
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 960, 300, 72, 16, 16, 46


def value_text(value, unit: str) -> str:
    if value is None:
        return "no requests"
    if unit == "usd":
        return f"${value:,.2f}" if value >= 100 else f"${value:,.4f}"
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "ms":
        return f"{value:,.0f} ms"
    return f"{value:,.0f}"


def tick_text(value, unit: str) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            number = f"{value / size:.1f}".rstrip("0").rstrip(".") + suffix
            break
    else:
        number = f"{value:.4f}".rstrip("0").rstrip(".") if unit == "usd" else f"{value:g}"
    return {"usd": f"${number}", "percent": f"{number}%", "ms": f"{number} ms"}.get(unit, number)


def nice_step(top: float, ticks: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) that covers `top` in about `ticks` steps."""
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(power * factor for factor in (1, 2, 2.5, 5, 10) if power * factor >= raw)


def _series_rows(filters, metric: str, split: str) -> tuple[dict, str]:
    """{series name: {bucket: value}} and the unit."""
    unit = METRICS[metric][1]
    if metric in ("latency", "ttft"):
        column = "latency_ms" if metric == "latency" else "ttft_ms"
        found = {bucket: by_column[column] for bucket, by_column in
                 usage.percentiles(filters, [column], over_time=True).items() if by_column[column][0] is not None}
        return {"p50 (median)": {b: v[0] for b, v in found.items()}, "p95": {b: v[1] for b, v in found.items()}}, unit
    if metric == "tokens" and split == "class":
        rows = usage.grouped(filters, over_time=True, token_classes=True)
        classes = {"input": lambda r: r["prompt_tokens"] - r["cached_tokens"], "cached input": lambda r: r["cached_tokens"],
                   "output": lambda r: r["completion_tokens"] - r["reasoning_tokens"],
                   "reasoning": lambda r: r["reasoning_tokens"]}
        return {name: {row["bucket"]: part(row) for row in rows} for name, part in classes.items()}, unit
    by = split if split in ("model", "tenant", "key", "status") else ()
    rows = usage.grouped(filters, by=by, over_time=True)
    names = usage.group_names(by, {row["group"] for row in rows}) if by else {}
    totals = {}  # name → bucket → [numerator, requests]
    for row in rows:
        name = names.get(row.get("group"), str(row.get("group"))) if by else METRICS[metric][0]
        cell = totals.setdefault(name, {}).setdefault(row["bucket"], [0, 0])
        cell[0] += {"requests": row["requests"], "tokens": row["total_tokens"], "cost": float(row["cost"]),
                    "errors": row["errors"]}[metric]
        cell[1] += row["requests"]
    totals = _biggest(totals)
    if metric == "errors":
        return {name: {b: n / d * 100 if d else None for b, (n, d) in cells.items()} for name, cells in totals.items()}, unit
    return {name: {b: n for b, (n, d) in cells.items()} for name, cells in totals.items()}, unit


def _biggest(totals: dict) -> dict:
    """The MOST_SERIES - 1 biggest series, and the others added up as one."""
    if len(totals) <= MOST_SERIES:
        return totals
    ranked = sorted(totals, key=lambda name: -sum(cell[1] for cell in totals[name].values()))
    kept = {name: totals[name] for name in ranked[:MOST_SERIES - 1]}
    other = kept.setdefault("other", {})
    for name in ranked[MOST_SERIES - 1:]:
        for bucket, (n, d) in totals[name].items():
            cell = other.setdefault(bucket, [0, 0])
            cell[0] += n
            cell[1] += d
    return kept


def _segments(points: list) -> list[list]:
    """Runs of points without a gap: a line is not drawn across buckets without requests."""
    runs = [[]]
    for point in points:
        if point is None:
            runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


@dataclass
class Chart:
    metric: str
    split: str
    sample_percent: float  # below 100: estimated from a sample of the records
    title: str
    unit: str
    bucket: str
    stacked: bool
    legend: list
    yticks: list
    xticks: list
    columns: list
    lines: list
    tooltips: list
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    @property
    def plot_height(self) -> int:
        return self.bottom - self.top

    @property
    def empty(self) -> bool:
        return all(column["empty"] for column in self.columns) if self.stacked else not any(
            line["segments"] for line in self.lines)


def chart_build(filters, *, metric: str, split: str) -> Chart:
    buckets = usage.buckets_of(filters.period)
    series, unit = _series_rows(filters, metric, split)
    stacked = metric not in LINES
    values = {name: [cells.get(bucket, 0 if stacked else None) for bucket in buckets] for name, cells in series.items()}
    heights = [sum(v[i] for v in values.values()) for i in range(len(buckets))] if stacked else \
        [v for vs in values.values() for v in vs if v is not None]
    step = nice_step(max(heights, default=0) or 1)
    top = step * math.ceil((max(heights, default=0) or 1) / step)
    plot_h, slot = HEIGHT - BOTTOM - TOP, (WIDTH - RIGHT - LEFT) / max(len(buckets), 1)

    def y(value):
        return TOP + plot_h * (1 - value / top)

    legend = [{"name": name, "color": COLORS[i % len(COLORS)]} for i, name in enumerate(values)]
    columns, tooltips = [], []
    for i, bucket in enumerate(buckets):
        x, base, bars = LEFT + i * slot, 0, []
        for entry in legend:
            value = values[entry["name"]][i]
            if stacked and value:
                bars.append({"x": x + slot * 0.14, "y": y(base + value), "width": slot * 0.72,
                             "height": plot_h * value / top, "color": entry["color"]})
                base += value
        columns.append({"x": x, "width": slot, "bars": bars, "empty": stacked and not base, "index": i})
        rows = [[entry["name"], entry["color"], value_text(values[entry["name"]][i], unit)] for entry in legend]
        total = value_text(base, unit) if stacked and len(legend) > 1 else ""
        tooltips.append({"t": bucket.isoformat(), "rows": rows or [["", "", value_text(0 if stacked else None, unit)]],
                         "total": total})
    lines = [] if stacked else [
        {"color": entry["color"], "segments": _segments([(LEFT + (i + 0.5) * slot, y(v)) if v is not None else None
                                                         for i, v in enumerate(values[entry["name"]])])}
        for entry in legend]
    every = max(1, math.ceil(len(buckets) / 12))
    xticks = [{"x": LEFT + (i + 0.5) * slot, "t": bucket.isoformat(),
               "text": bucket.strftime("%b %d" if filters.period.bucket == "day" or bucket.hour == 0 else "%H:%M")}
              for i, bucket in enumerate(buckets) if i % every == 0]
    yticks = [{"y": y(step * n), "text": tick_text(step * n, unit)} for n in range(int(round(top / step)) + 1)]
    from_records = metric in ("latency", "ttft") or split in ("status", "class") or filters.needs_records
    sample_percent = filters.share * 100 if from_records else 100
    return Chart(metric, split, sample_percent, METRICS[metric][0], unit, filters.period.bucket, stacked, legend, yticks, xticks,
                 columns, lines, tooltips)
