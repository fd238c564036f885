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
HASH_KEY = "agent_password_hash"
SECRET_KEY = "session_secret"


class AgentAuth:
    def __init__(self, password_hash: str, session_secret: str) -> None:
        self._hasher = PasswordHasher()
        self._hash = password_hash
        self.session_secret = session_secret

    @classmethod
    def from_settings(cls, settings: Settings, store: ConversationStore) -> AgentAuth:
        """Use the configured password, or the stored hash, or generate a password, print it once and
        store only its hash."""
        hasher = PasswordHasher()
        if settings.agent_password is not None:
            password_hash = hasher.hash(settings.agent_password.get_secret_value())
        else:
            stored = store.get_setting(HASH_KEY)
            if stored is None:
                password = secrets.token_urlsafe(12)
                stored = hasher.hash(password)
                store.set_setting(HASH_KEY, stored)
                print(
                    f"\n  客服后台 /agent 初始密码（只显示这一次，请妥善保存）：{password}\n"
                    "  Agent console password (shown once): set FAQBOT_AGENT_PASSWORD to choose your own.\n",
                    file=sys.stderr,
                    flush=True,
                )
            password_hash = stored
        if settings.session_secret is not None:
            secret = settings.session_secret.get_secret_value()
        else:
            secret = store.get_setting(SECRET_KEY) or secrets.token_urlsafe(48)
            store.set_setting(SECRET_KEY, secret)
        return cls(password_hash, secret)

    def verify(self, password: str) -> bool:
        try:
            return bool(self._hasher.verify(self._hash, password))
        except (VerificationError, InvalidHashError):
            return False


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))
