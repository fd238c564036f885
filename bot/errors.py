"""Every error the bot reports, in one hierarchy. Each class carries its HTTP status and its code; the web server
translates them in one handler (JSON for the API, a page for pages) and the CLI catches the base class once.

Light on purpose: importing this module imports nothing else of the bot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def first_error_parts(errors: Sequence[Any]) -> tuple[str, str]:
    """(where, what) of the first error pydantic reports — the one message a user sees: ("order.purchased_on",
    "Input should be a valid date")."""
    if not errors:
        return "", "invalid"
    first = errors[0]
    loc = first.get("loc") or ()
    where = ".".join(str(p) for p in loc if p != "body") if isinstance(loc, list | tuple) else ""
    return where, str(first.get("msg"))


def first_error(errors: Sequence[Any]) -> str:
    """'where: what' of the first error pydantic reports."""
    where, what = first_error_parts(errors)
    return f"{where}: {what}" if where else what


class FaqbotError(Exception):
    """Base class. ``message`` is shown to whoever made the request (the log gets the same)."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.headers = headers or {}


# ---------------------------------------------------------------------------------------------- requests


class BadRequest(FaqbotError):
    status, code = 400, "bad_request"


class Unauthorized(FaqbotError):
    status, code = 401, "unauthorized"


class Forbidden(FaqbotError):
    status, code = 403, "forbidden"


class NotFound(FaqbotError):
    status, code = 404, "not_found"


class Conflict(FaqbotError):
    """The request clashes with the resource's state: another agent owns the conversation, a name is taken."""

    status, code = 409, "conflict"


class PayloadTooLarge(FaqbotError):
    status, code = 413, "too_large"


class InvalidRequest(FaqbotError):
    status, code = 422, "invalid_request"


class RateLimited(FaqbotError):
    """429 with a Retry-After header."""

    status, code = 429, "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(message, headers={"Retry-After": str(self.retry_after)})


class Unavailable(FaqbotError):
    status, code = 503, "unavailable"


class ConversationNotFound(NotFound):
    """No conversation (or no bot message of it) with this id."""


class LoginBusy(Unavailable):
    """Too many password checks are queued already; try again in a moment."""


# ---------------------------------------------------------------------------------------------- storage


class StoreError(Unavailable):
    """The database cannot be opened, migrated or written; the message says which one and why."""

    code = "storage_unavailable"


class DatabaseGone(StoreError):
    """The SQLite file was deleted or replaced while the server held it open: writes would vanish with it."""


# ---------------------------------------------------------------------------------------------- setup and data


class SetupError(Unavailable):
    """Something the bot is built from cannot be used: the knowledge files, the index, the encoder, the rules
    data, the order data, unsafe settings. The server starts degraded (or not at all); the CLI says why."""


class KnowledgeError(SetupError):
    """The knowledge files are invalid; the message names file and entry."""

    code = "bad_knowledge"


class IndexUnusable(SetupError):
    """The index is missing, stale (and rebuilds are off) or corrupt; the message says which file."""


class EncoderError(SetupError):
    """The encoder could not be loaded or run; the message says why."""


class RulesError(SetupError):
    """rules.yaml (or the dialogue words) is missing or invalid; the message names the file and the field."""


class OrderError(SetupError):
    """The order store or the demo file cannot be used; the message says why."""


class UnsafeSettings(SetupError):
    """FAQBOT_ENV=production without the secrets and origins it needs."""


class EvalFileError(InvalidRequest):
    """An evaluation file line is not a valid case; the message names the line."""
