"""Agent console authentication: one password (argon2-hashed), a signed session cookie, CSRF tokens."""

from __future__ import annotations

import hmac
import logging
import secrets
import sys

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.settings import Settings
from bot.store import ConversationStore

log = logging.getLogger(__name__)
SECRET_KEY = "session_secret"
Role = str  # "agent" (the console) or "admin" (also knowledge reload and report export)
ROLES: dict[Role, tuple[str, str, str]] = {
    # role: (stored hash key, settings field, how the one-time password is announced)
    "agent": ("agent_password_hash", "agent_password", "客服后台 /agent 初始密码"),
    "admin": ("admin_password_hash", "admin_password", "管理员初始密码（也可登录 /agent，可重载知识库、导出报告）"),
}


class AgentAuth:
    def __init__(self, hashes: dict[Role, str], session_secret: str) -> None:
        self._hasher = PasswordHasher()
        self._hashes = hashes
        self.session_secret = session_secret

    @classmethod
    def from_settings(cls, settings: Settings, store: ConversationStore) -> AgentAuth:
        """For each role: the configured password, or the stored hash, or a generated password — printed once,
        only its hash stored."""
        hasher = PasswordHasher()
        hashes: dict[Role, str] = {}
        for role, (key, field, label) in ROLES.items():
            configured = getattr(settings, field)
            if configured is not None:
                hashes[role] = hasher.hash(configured.get_secret_value())
                continue
            stored = store.get_setting(key)
            if stored is None:
                password = secrets.token_urlsafe(12)
                stored = hasher.hash(password)
                store.set_setting(key, stored)
                print(
                    f"\n  {label}（只显示这一次，请妥善保存）：{password}\n"
                    f"  {role} password (shown once): set FAQBOT_{field.upper()} to choose your own.\n",
                    file=sys.stderr,
                    flush=True,
                )
            hashes[role] = stored
        if settings.session_secret is not None:
            secret = settings.session_secret.get_secret_value()
        else:
            secret = store.get_setting(SECRET_KEY) or secrets.token_urlsafe(48)
            store.set_setting(SECRET_KEY, secret)
        return cls(hashes, secret)

    def role_for(self, password: str) -> Role | None:
        """The role this password logs in as (admin first), or None."""
        for role in ("admin", "agent"):
            try:
                if self._hasher.verify(self._hashes[role], password):
                    return role
            except (VerificationError, InvalidHashError):
                continue
        return None

    def verify(self, password: str) -> bool:
        return self.role_for(password) is not None


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))
