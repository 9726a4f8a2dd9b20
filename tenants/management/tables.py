"""How the listing commands print: an aligned table for people, or JSON for scripts."""

import json
from datetime import datetime
from decimal import Decimal


def rows_write(stdout, rows: list[dict], *, as_json: bool) -> None:
    if as_json:
        stdout.write(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        stdout.write("(none)")
        return
    header = [name.replace("_", " ") for name in rows[0]]
    numeric = [isinstance(value, (int, Decimal)) for value in rows[0].values()]
    lines = [header] + [[_cell(value) for value in row.values()] for row in rows]
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    for line in lines:
        cells = [cell.rjust(width) if right else cell.ljust(width) for cell, width, right in zip(line, widths, numeric)]
        stdout.write("  ".join(cells).rstrip())


def _cell(value) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)
