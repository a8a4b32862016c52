"""``Server-Timing: app;dur=<ms>`` on API responses: time spent from the start of the request's
handling (before any ``before_request`` hook) to its response, in milliseconds."""

from __future__ import annotations

import time

from flask import Flask, Response, g

from servicedesk.api.errors import is_api_request


def init_server_timing(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, _start_clock)
    # after_request hooks run last-registered first, so the first one in the list runs last
    app.after_request_funcs.setdefault(None, []).insert(0, _add_server_timing)


def _start_clock() -> None:
    g.request_started = time.perf_counter()


def _add_server_timing(response: Response) -> Response:
    started = g.get("request_started")
    if started is not None and is_api_request():
        elapsed_ms = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed_ms:.2f}"
    return response
