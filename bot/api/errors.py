"""One error shape, one handler. API routes answer {"status", "code", "message"}; pages (the demo pages, the FAQ
pages, the console) answer a rendered page with the same status and message."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection

from bot.errors import FaqbotError, StoreError, first_error
from bot.messages import ErrorCopy

log = logging.getLogger(__name__)

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid_request",
         429: "rate_limited", 500: "internal_error", 503: "unavailable"}  # fmt: skip
STORAGE_ERRORS = (SQLAlchemyError, StoreError)  # what a store call raises when the database cannot take a write
# the API, machine-read; every other path is a page a person is looking at (the demo pages, /faq, the console)
API_PREFIXES = ("/api/", "/ws/", "/healthz", "/readyz", "/openapi.json", "/docs", "/redoc", "/static/", "/widget.js")


def error_body(status: int, code: str, message: str) -> dict[str, object]:
    return {"status": status, "code": code, "message": message}


def error_copy(conn: HTTPConnection) -> ErrorCopy:
    """What a person reads when something is refused (knowledge/messages.yaml → ``errors``)."""
    errors: ErrorCopy = conn.app.state.messages.errors
    return errors


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIXES)


def respond(request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    if is_page(request):
        templates = getattr(request.app.state, "templates", None)
        if templates is not None:
            page: Response = templates.TemplateResponse(
                request, "error.html", {"status": status, "code": code, "message": message},
                status_code=status, headers=headers,
            )  # fmt: skip
            return page
    return JSONResponse(error_body(status, code, message), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    async def _faqbot(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FaqbotError)
        if exc.status >= 500:
            log.error("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc.message)
        message = error_copy(request).storage_unavailable if isinstance(exc, StoreError) else exc.message
        return respond(request, exc.status, exc.code, message, exc.headers)

    async def _invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return respond(request, 422, "invalid_request", first_error(exc.errors()))

    async def _http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = error_copy(request).page_not_found if exc.status_code == 404 and is_page(request) else str(exc.detail)
        return respond(request, exc.status_code, CODES.get(exc.status_code, "error"), detail)

    async def _storage(request: Request, exc: Exception) -> Response:
        log.error("storage error on %s %s: %s", request.method, request.url.path, exc)
        return respond(request, 503, "storage_unavailable", error_copy(request).storage_unavailable)

    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return respond(request, 500, "internal_error", error_copy(request).internal_error)

    app.add_exception_handler(FaqbotError, _faqbot)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(SQLAlchemyError, _storage)
    app.add_exception_handler(Exception, _unexpected)
