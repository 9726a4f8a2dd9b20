"""Audit events as CSV or JSON lines, streamed so that a long trail does not sit in memory."""

import csv
import json

from django.http import StreamingHttpResponse

COLUMNS = ["created_at", "actor_name", "source", "ip", "user_agent", "tenant_id", "action", "object_type",
           "object_id", "object_repr", "changes"]


def _row(event) -> dict:
    row = {column: getattr(event, column) for column in COLUMNS}
    row["created_at"] = event.created_at.isoformat()
    return row


class _Echo:
    def write(self, value):
        return value


def _csv_lines(events):
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for event in events.iterator():
        row = _row(event)
        row["changes"] = json.dumps(row["changes"], sort_keys=True)
        # A cell starting with = + - @ would be run as a formula by a spreadsheet.
        yield writer.writerow(["'" + value if isinstance(value, str) and value[:1] in "=+-@" else value
                               for value in row.values()])


def _json_lines(events):
    for event in events.iterator():
        yield json.dumps(_row(event), sort_keys=True) + "\n"


FORMATS = {"csv": ("text/csv", _csv_lines), "jsonl": ("application/jsonl", _json_lines)}


def events_export(events, *, fmt: str) -> StreamingHttpResponse:
    content_type, lines = FORMATS[fmt]
    response = StreamingHttpResponse(lines(events), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="prism-audit.{fmt}"'
    return response
