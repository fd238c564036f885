"""Agent console authentication: named accounts with argon2id hashes in the database, server-side sessions
(revoked on logout and on a password change), CSRF tokens, and a bound on how many hashes run at once.

Two accounts exist from the first start: ``agent`` (the console) and ``admin`` (also knowledge reload and
report export). A password comes from the settings, or is generated, printed once, and only its hash stored.
A login names its account, so one attempt costs one hash check.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import LoginBusy, StoreError
from bot.settings import Settings
from bot.store import Account, ConversationStore

log = logging.getLogger(__name__)
SECRET_KEY = "session_secret"
Role = str  # "agent" (the console) or "admin" (also knowledge reload and report export)


@dataclass(frozen=True)
class BuiltIn:
    username: str
    display_name: str
    settings_field: str
    legacy_key: str  # where version 1 kept the hash (settings table)
    announce: str


BUILT_IN = (
    BuiltIn("admin", "管理员", "admin_password", "admin_password_hash",
            "管理员初始密码（也可登录 /agent，可重载知识库、导出报告）"),
    BuiltIn("agent", "客服", "agent_password", "agent_password_hash", "客服后台 /agent 初始密码"),
)  # fmt: skip
SESSION_HOURS = 12


def password_hasher() -> PasswordHasher:
    """argon2id with OWASP's second recommended setting (19 MiB, 2 passes, 1 lane): a login stays fast and
    a burst of attempts cannot take the memory that argon2-cffi's 64 MiB default would."""
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class AgentAuth:
    def __init__(self, store: ConversationStore, session_secret: str, max_concurrent_checks: int = 2) -> None:
        self.store = store
        self.session_secret = session_secret
        self._hasher = password_hasher()
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))  # unknown accounts cost the same time
        # argon2 takes its memory for the length of a check: bound how many run, and how many may wait
        self._checks = threading.BoundedSemaphore(max_concurrent_checks)
        self._max_waiting = 4 * max_concurrent_checks
        self._waiting = 0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, store: ConversationStore) -> AgentAuth:
        """Make sure both built-in accounts exist with the configured password (a changed one revokes their
        sessions), and the session secret; a database that cannot take them is a clear :class:`StoreError`."""
        hasher = password_hasher()
        try:
            for account in BUILT_IN:
                _ensure_account(store, hasher, account, getattr(settings, account.settings_field))
            if settings.session_secret is not None:
                secret = settings.session_secret.get_secret_value()
            else:
                secret = store.get_setting(SECRET_KEY) or ""
                if not secret:
                    secret = secrets.token_urlsafe(48)
                    store.set_setting(SECRET_KEY, secret)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot store the console accounts or the session secret in the database ({exc.__class__.__name__}:"
                f" {str(exc).splitlines()[0]}); make the database writable, or set FAQBOT_SESSION_SECRET, "
                "FAQBOT_AGENT_PASSWORD and FAQBOT_ADMIN_PASSWORD"
            ) from exc
        return cls(store, secret, settings.login_concurrent_checks)

    # ------------------------------------------------------------------ passwords

    def _verify(self, account: Account | None, password: str) -> bool:
        try:
            ok = bool(self._hasher.verify(account.password_hash if account else self._dummy_hash, password))
        except (VerificationError, InvalidHashError):
            return False
        if ok and account is not None and self._hasher.check_needs_rehash(account.password_hash):
            self.store.update_password_hash(account.username, self._hasher.hash(password))
        return ok and account is not None and not account.disabled

    async def authenticate(self, username: str, password: str) -> Account | None:
        """The account if the password is right — one hash check, run in a thread, at most a few at a time;
        :class:`LoginBusy` when too many are queued."""
        with self._lock:
            if self._waiting >= self._max_waiting:
                raise LoginBusy("too many logins at once")
            self._waiting += 1
        try:
            return await asyncio.to_thread(self._check, username, password)
        finally:
            with self._lock:
                self._waiting -= 1

    def _check(self, username: str, password: str) -> Account | None:
        with self._checks:
            account = self.store.account(username)
            return account if self._verify(account, password) else None

    def hash(self, password: str) -> str:
        return str(self._hasher.hash(password))

    def verify(self, username: str, password: str) -> bool:
        return self._verify(self.store.account(username), password)

    # ------------------------------------------------------------------ sessions

    def start_session(self, account: Account, address: str | None) -> str:
        token = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(hours=SESSION_HOURS)
        self.store.start_session(token, account.username, expires.isoformat(timespec="milliseconds"), address)
        return token

    def session_account(self, token: object) -> Account | None:
        return self.store.session_account(token) if isinstance(token, str) and token else None

    def end_session(self, token: object) -> None:
        if isinstance(token, str) and token:
            self.store.end_session(token)

    def set_password(self, username: str, password: str) -> None:
        """A new password for an account; all its sessions end."""
        account = self.store.account(username)
        if account is None:
            raise StoreError(f"no account {username!r}")
        self.store.save_account(username, account.display_name, account.role, self._hasher.hash(password))


def _ensure_account(store: ConversationStore, hasher: PasswordHasher, built_in: BuiltIn, configured: object) -> None:
    existing = store.account(built_in.username)
    password = configured.get_secret_value() if configured is not None else None  # type: ignore[attr-defined]
    if password is not None:
        if existing is None or not _matches(hasher, existing.password_hash, password):
            store.save_account(built_in.username, built_in.display_name, built_in.username, hasher.hash(password))
        return
    if existing is not None:
        return
    legacy = store.get_setting(built_in.legacy_key)  # a database from before accounts: keep its password
    if legacy is not None:
        store.save_account(built_in.username, built_in.display_name, built_in.username, legacy)
        return
    generated = secrets.token_urlsafe(12)
    store.save_account(built_in.username, built_in.display_name, built_in.username, hasher.hash(generated))
    print(
        f"\n  {built_in.announce}（只显示这一次，请妥善保存）：{generated}\n"
        f"  account {built_in.username!r}, password shown once: set FAQBOT_{built_in.settings_field.upper()} to "
        f"choose your own, or run `faqbot password {built_in.username}`.\n",
        file=sys.stderr,
        flush=True,
    )


def _matches(hasher: PasswordHasher, stored: str, password: str) -> bool:
    try:
        return bool(hasher.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))
