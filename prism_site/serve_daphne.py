"""Daphne, less three of its own costs per request: `python -m prism_site.serve_daphne [daphne's options] APP`.

- It runs on uvloop, the event loop uvicorn picks by default. Daphne makes its loop when daphne.server
  is imported, so the policy is set before that.
- Twisted reads the Content-Type of every POST with the email package, looking for a form that daphne
  never reads; the answer for a header value is the same every time, so it is cached.
- Twisted formats an access log line for every request and sends it to its own log, which daphne
  discards below -v 2 (daphne writes its own access log); the line is no longer made.

Together about a fifth less CPU per streamed request (bench/RESULTS.md); everything else is daphne's.
"""

import asyncio
import functools

import uvloop

asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

from daphne.cli import CommandLineInterface  # noqa: E402  (makes daphne's event loop)
from daphne.http_protocol import HTTPFactory  # noqa: E402
from twisted.web import http  # noqa: E402

http._parseContentType = functools.lru_cache(maxsize=64)(http._parseContentType)
HTTPFactory.log = lambda factory, request: None

if __name__ == "__main__":
    CommandLineInterface.entrypoint()
