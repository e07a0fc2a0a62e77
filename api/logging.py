"""Structured JSON logs for the API: shapes and outcomes, never values.

Why: the logs go to the bureau's log platform and are read by people who may not see tax data
(纳税人涉税信息). One JSON object per line; a request line carries method, route template, path,
status, duration, the caller's *key id* (never the key) and role — never the request body, the
query string or any response field. Nothing is configured at import time: the app factory (or
``tiering serve``) calls :func:`configure_logging` once.

>>> import json, logging
>>> rec = logging.LogRecord("tiering.api", logging.INFO, __file__, 1, "request", None, None)
>>> rec.fields = {"status": 200}
>>> out = json.loads(JsonFormatter().format(rec))
>>> out["msg"], out["status"], out["logger"]
('request', 200, 'tiering.api')
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

__all__ = ["LOGGER_NAME", "JsonFormatter", "RequestLogMiddleware", "configure_logging", "log"]

LOGGER_NAME = "tiering.api"
log = logging.getLogger(LOGGER_NAME)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, msg and the record's ``fields`` dict."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            # Exception type and location only: a traceback's locals or messages may quote data.
            exc_type, _exc, tb = record.exc_info
            out["exc_type"] = exc_type.__name__
            frames = []
            while tb is not None:
                frames.append(f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}")
                tb = tb.tb_next
            out["exc_where"] = frames[-3:]
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(level: str | int = "INFO", stream: Any = None) -> None:
    """Send ``tiering.*`` and uvicorn's error log through the JSON formatter (idempotent)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("tiering", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    # uvicorn's own access log prints the query string; ours replaces it.
    logging.getLogger("uvicorn.access").disabled = True


# Request ids: a random per-process prefix and a counter — unique, and no system call per request
# (``uuid4`` reads the OS entropy pool, releasing the GIL; under a busy what-if thread getting it
# back cost ~1 ms a request).
_ID_PREFIX = os.urandom(4).hex()
_ids = itertools.count(1)


class RequestLogMiddleware:
    """Pure-ASGI middleware: one ``request`` log line per HTTP request, plus ``X-Request-ID``.

    The route handler stores the caller's key id and role in ``scope["state"]`` (see
    :mod:`api.deps`), so the line says who asked without the key itself.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = f"{_ID_PREFIX}{next(_ids):08x}"
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500

        async def send_wrapper(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if log.isEnabledFor(logging.INFO):
                state = scope.get("state", {})
                path = scope.get("path", "")
                route = path  # the template: path parameters put back as {name}
                for name, value in (scope.get("path_params") or {}).items():
                    route = route.replace(str(value), "{" + name + "}")
                log.info(
                    "request",
                    extra={
                        "fields": {
                            "request_id": request_id,
                            "method": scope.get("method"),
                            "route": route,
                            "path": path,
                            "status": status,
                            "ms": round((time.perf_counter() - start) * 1000, 2),
                            "key_id": state.get("key_id"),
                            "role": state.get("role"),
                        }
                    },
                )
