"""Fuzzing: Schemathesis against the running app's OpenAPI schema, Hypothesis over the engine with contexts.

Bounded here (FAQBOT_FUZZ_EXAMPLES, default 15 per operation); `make fuzz` runs many more.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.api import create_app
from bot.engine import AnswerEngine
from bot.reply import Reply
from bot.settings import Settings

EXAMPLES = int(os.environ.get("FAQBOT_FUZZ_EXAMPLES", "15"))
pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module")
def running_app(settings: Settings, engine: AnswerEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    s = settings.model_copy(
        update={
            "database_path": tmp_path_factory.mktemp("fuzz") / "faqbot.sqlite3",
            "agent_password": SecretStr("fuzz-password-123"),
            "admin_password": SecretStr("fuzz-admin-password"),
            "allow_rebuild": False,
            "messages_per_minute": 100_000,
        }
    )
    app = create_app(s)
    with TestClient(app):  # runs the lifespan: engine, store and service live on app.state
        yield app


@pytest.fixture(scope="module")
def api_schema(running_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", running_app)


def test_api_never_fails_and_matches_its_schema(api_schema: Any) -> None:
    """For every operation: generated requests get no 5xx, and responses match the documented schema (or the
    common error shape)."""
    checked = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call()
            assert response.status_code < 500, (case.method, case.path, response.text[:300])
            content_type = (response.headers.get("content-type") or [""])[0]
            if response.status_code >= 400 and content_type.startswith("application/json"):
                assert set(response.json()) == {"status", "code", "message"}, response.text[:300]
            else:
                case.validate_response(response)

        check()
        checked += 1
    assert checked >= 5


orders = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=20),
        "product_type": st.sampled_from(["saas", "api", "image", "manual_service", "SaaS", "镜像", "??", ""]),
        "purchased_on": st.dates(date(2000, 1, 1), date(2035, 12, 31)).map(date.isoformat),
        "service_confirmed": st.booleans(),
    },
)
contexts = st.fixed_dictionaries(
    {},
    optional={
        "today": st.dates(date(2000, 1, 1), date(2035, 12, 31)).map(date.isoformat) | st.text(max_size=12),
        "audience": st.sampled_from(["buyer", "provider", "x"]),
        "order": orders,
    },
)
messages = st.text(max_size=80) | st.sampled_from(
    ["这个订单能退吗", "我11月3日申请的提现什么时候到账", "发票30元快递费谁出", "2月30日买的SaaS能退吗", "转人工"]
).flatmap(lambda m: st.just(m) | st.text(max_size=10).map(lambda t: m + t))


@settings(max_examples=EXAMPLES * 8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=messages, context=contexts)
def test_engine_with_any_message_and_context_returns_a_valid_reply(
    engine: AnswerEngine, message: str, context: dict[str, Any]
) -> None:
    reply = engine.answer(message, context)
    Reply.model_validate(reply.model_dump())  # a valid reply object, never an exception
    assert reply.text
    if reply.kind == "rule":
        assert reply.rule is not None and reply.rule.cites
