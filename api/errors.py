"""Error bodies and handlers: every failure is a small JSON object naming field and rule.

Why: the service-station app shows the message to a 服务专员 and the bureau's integrators act on
``field`` and ``rule``; a stack trace never leaves the process (it could quote data and it helps an
attacker). Shape, for every status::

    {"error": {"status": 422, "code": "validation_error", "message": "…",
               "field": "uscc", "rule": "USCC-CHECK", "request_id": "…",
               "errors": [{"location": "body", "field": "uscc", "rule": "USCC-CHECK",
                           "message": "…"}]}}

Validation errors never echo the submitted value (a what-if body carries tax figures).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from tiering.errors import TieringError

__all__ = [
    "ERROR_RESPONSES",
    "ApiError",
    "ErrorBody",
    "ErrorDetail",
    "FieldError",
    "install_error_handlers",
]

log = logging.getLogger("tiering.api")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "not_ready",
}

_MESSAGES = {
    401: "缺少或无效的API密钥（请在 X-API-Key 或 Authorization: Bearer 中提供）",
    403: "无权访问",
    404: "未找到",
    405: "不支持该请求方法",
    429: "请求过于频繁，请稍后再试",
    500: "服务内部错误，请联系管理员并提供 request_id",
    503: "服务尚未就绪",
}


class FieldError(BaseModel):
    """One invalid input: where (body/query/path/header), which field, which rule, what to do."""

    location: str | None = Field(None, description="出错位置：body/query/path/header")
    field: str | None = Field(None, description="出错字段")
    rule: str | None = Field(None, description="违反的规则编号，如 USCC-CHECK")
    message: str = Field(description="错误说明（中文）")


class ErrorDetail(BaseModel):
    status: int = Field(description="HTTP状态码")
    code: str = Field(description="错误类别")
    message: str = Field(description="错误说明（中文）")
    field: str | None = Field(None, description="首个出错字段")
    rule: str | None = Field(None, description="首个违反的规则编号")
    request_id: str | None = Field(None, description="请求编号，便于排查")
    errors: list[FieldError] = Field(default_factory=list, description="全部出错字段")


class ErrorBody(BaseModel):
    """错误响应。"""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "缺少或无效的API密钥"},
    404: {"model": ErrorBody, "description": "不存在或不在调用方辖区内"},
    422: {"model": ErrorBody, "description": "输入不合规：指明字段与规则"},
    429: {"model": ErrorBody, "description": "超过该密钥的请求频率限制"},
}


class ApiError(Exception):
    """Raised by routes and dependencies; turned into :class:`ErrorBody` by the handler."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        field: str | None = None,
        rule: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or _MESSAGES.get(status, ""))
        self.status = status
        self.message = message or _MESSAGES.get(status, "")
        self.field = field
        self.rule = rule
        self.headers = headers


def _body(
    request: Request,
    status: int,
    message: str,
    *,
    field: str | None = None,
    rule: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    detail = {
        "status": status,
        "code": _CODES.get(status, "error"),
        "message": message,
        "field": field,
        "rule": rule,
        "request_id": request.scope.get("state", {}).get("request_id"),
        "errors": errors or [],
    }
    return JSONResponse({"error": detail}, status_code=status, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        location = loc[0] if loc else None
        field = ".".join(loc[1:]) or None
        rule = err.get("type")
        msg = err.get("msg", "")
        if isinstance(msg, str) and msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        out.append({"location": location, "field": field, "rule": rule, "message": msg})
    return out


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _body(
        request,
        exc.status,
        exc.message,
        field=exc.field,
        rule=exc.rule,
        headers=exc.headers,
        errors=(
            [{"location": None, "field": exc.field, "rule": exc.rule, "message": exc.message}]
            if exc.field
            else []
        ),
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    first = errors[0] if errors else {}
    message = (
        "; ".join(f"{e['field'] or e['location']}: {e['message']}" for e in errors[:5])
        or "输入不合规"
    )
    return _body(
        request, 422, message, field=first.get("field"), rule=first.get("rule"), errors=errors
    )


async def _tiering_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TieringError)
    d = exc.to_dict()
    return _body(
        request,
        422,
        d["message"],
        field=d["field"],
        rule=d["rule"],
        errors=[
            {"location": None, "field": d["field"], "rule": d["rule"], "message": d["message"]}
        ],
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    message = _MESSAGES.get(status) or (exc.detail if isinstance(exc.detail, str) else "")
    return _body(request, status, message, headers=getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Log type and place only (JsonFormatter strips messages from tracebacks), answer plainly.
    log.error(
        "unhandled_error",
        exc_info=exc,
        extra={"fields": {"request_id": request.scope.get("state", {}).get("request_id")}},
    )
    return _body(request, 500, _MESSAGES[500])


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app`` (called by the app factory)."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(TieringError, _tiering_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
