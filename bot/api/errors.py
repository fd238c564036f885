"""One error shape for every JSON error: {"status": 404, "code": "not_found", "message": "..."}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.store import StoreError

log = logging.getLogger(__name__)

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid_request",
         429: "rate_limited", 500: "internal_error", 503: "unavailable"}  # fmt: skip


STORAGE_UNAVAILABLE = "消息暂时无法保存，请稍后再试（数据库不可写）。"
STORAGE_ERRORS = (SQLAlchemyError, StoreError)  # what a store call raises when the database cannot take a write


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


def error_body(status: int, code: str, message: str) -> dict[str, object]:
    return {"status": status, "code": code, "message": message}


def _response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, code, message), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _response(422, "invalid_request", f"{where}: {first.get('msg')}" if where else str(first.get("msg")))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _response(exc.status_code, CODES.get(exc.status_code, "error"), str(exc.detail))

    async def _storage(request: Request, exc: Exception) -> JSONResponse:
        log.error("storage error on %s %s: %s", request.method, request.url.path, exc)
        return _response(503, "storage_unavailable", STORAGE_UNAVAILABLE)

    app.add_exception_handler(SQLAlchemyError, _storage)
    app.add_exception_handler(StoreError, _storage)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _response(500, "internal_error", "服务器内部错误，请稍后再试。")
