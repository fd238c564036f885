"""Generated conversations for the dashboard's tests and benchmark: deterministic (one seed, the same rows), shaped
like what the chat service stores — a turn is a user message then the bot's reply (kind, score, latency) with the
same timestamp; hand-over requests and takes in ``handoffs``; agents' messages; ratings in ``feedback`` and
``csat``; resolutions by an account, ``auto:silence`` or ``auto:thumbs_up`` — and inserted in bulk (executemany in
chunks, one transaction per chunk) on SQLite or PostgreSQL.

:class:`Script` writes one conversation step by step (tests use it to build cases whose numbers they know);
:func:`generate` writes many at random; :func:`insert_bundles` stores them.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from bot.dashboard import BEIJING
from bot.store import Database, conversations, csat, feedback, handoffs, messages

# What buyers and providers ask (a few are asked far more often than the rest: chosen with Zipf-like weights).
QUESTIONS = (
    "镜像能下到本地吗", "SaaS 模板买了能退款吗", "发票多久能开出来", "怎么申请退款", "服务商多久确认订单",
    "API 调用失败怎么办", "订单在哪里查看", "可以开专票吗", "续费怎么操作", "怎么成为服务商",
    "商品审核要多久", "结算周期是多久", "怎么修改商品价格", "试用期结束后会自动扣费吗", "退款多久到账",
    "镜像部署失败怎么办", "怎么联系服务商", "发票抬头写错了能改吗", "云市场有哪些付款方式", "如何下架商品",
    "服务商资质需要哪些材料", "订单被拒绝了怎么办", "怎么查看交付进度", "能不能分期付款", "代金券可以用吗",
)  # fmt: skip
MISSES = (
    "你们公司在哪", "明天会下雨吗", "帮我写个 Python 脚本", "怎么炒股", "腾讯会议怎么录屏",
    "游戏充值没到账", "QQ 号被封了", "域名怎么备案", "服务器被攻击了", "能便宜点吗",
)  # fmt: skip
CHATTER = ("谢谢", "好的", "你好")
HANDOFF_TEXT = "转人工"
AGENTS = ("wang", "li", "zhao", "admin")
AUDIENCE_WEIGHTS = (("buyer", 55), ("provider", 35), (None, 10))
KIND_WEIGHTS = (("faq", 62), ("rule", 10), ("clarify", 9), ("fallback", 11), ("smalltalk", 8))


def stamp(moment: datetime) -> str:
    """As :func:`bot.store.now` writes it: UTC, milliseconds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def beijing(day: date, seconds: float) -> datetime:
    """``seconds`` after midnight of the Beijing day ``day``."""
    return datetime.combine(day, time(), BEIJING) + timedelta(seconds=seconds)


@dataclass
class Bundle:
    """One conversation's rows, as the store's tables hold them."""

    conversation: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    handoffs: list[dict[str, Any]] = field(default_factory=list)
    csat: dict[str, Any] | None = None


class Script:
    """One conversation written step by step; each step moves its clock forward by ``after`` seconds."""

    def __init__(self, cid: str, start: datetime, audience: str | None, ids: Iterator[int]) -> None:
        self.t = start
        self.ids = ids
        created = stamp(start)
        self.b = Bundle({"id": cid, "created_at": created, "updated_at": created, "audience": audience, "state": "{}",
                         "handoff": "bot", "agent": None, "attention": None, "waiting_since": None, "human_at": None,
                         "resolved_at": None, "resolved_by": None, "contact": None})  # fmt: skip

    @property
    def c(self) -> dict[str, Any]:
        return self.b.conversation

    def _tick(self, after: float) -> str:
        self.t += timedelta(seconds=after)
        now = stamp(self.t)
        self.c["updated_at"] = now
        return now

    def _message(self, role: str, text_: str, at: str, **extra: Any) -> int:
        mid = next(self.ids)
        row = {"id": mid, "conversation_id": self.c["id"], "role": role, "text": text_, "kind": None, "score": None,
               "latency_ms": None, "reply": None, "agent": None, "created_at": at}  # fmt: skip
        row.update(extra)
        self.b.messages.append(row)
        return mid

    def _handoff(self, state: str, at: str, reason: str | None, agent: str | None) -> None:
        self.b.handoffs.append({"conversation_id": self.c["id"], "state": state, "reason": reason, "agent": agent,
                                "created_at": at})  # fmt: skip

    def turn(self, question: str, kind: str, latency_ms: float = 10.0, after: float = 30.0,
             helpful: bool | None = None, answer: str = "……") -> int:  # fmt: skip
        """The user asks, the bot replies (``kind``); ``helpful``: the user rates the reply. Returns its id."""
        at = self._tick(after)
        if self.c["resolved_at"] is not None:  # the user writes again: it reopens
            self.c.update(resolved_at=None, resolved_by=None)
        self._message("user", question, at)
        score = {"faq": 0.9, "rule": 1.0, "clarify": 0.5, "fallback": 0.1}.get(kind, 1.0)
        reply = self._message("bot", answer, at, kind=kind, score=score, latency_ms=latency_ms,
                              reply=f'{{"kind": "{kind}"}}')  # fmt: skip
        if kind == "fallback" and self.c["handoff"] == "bot" and self.c["attention"] is None:
            self.c.update(attention="fallback", waiting_since=self.c["waiting_since"] or at)
        if helpful is not None:
            self.b.feedback.append({"message_id": reply, "conversation_id": self.c["id"], "helpful": int(helpful),
                                    "comment": None, "created_at": self._tick(5)})  # fmt: skip
            if helpful and self.c["handoff"] == "bot" and self.c["attention"] is not None:
                self.resolve("auto:thumbs_up", after=0)
        return reply

    def ask_person(self, after: float = 20.0) -> None:
        """The user asks for a person: the turn (bot reply ``handoff``) and the request."""
        self.turn(HANDOFF_TEXT, "handoff", latency_ms=2.0, after=after)
        at = self.c["updated_at"]
        self.c.update(handoff="requested", waiting_since=at, resolved_at=None, resolved_by=None)
        self._handoff("requested", at, "user_request", None)

    def take(self, agent: str, wait: float, reply: str = "您好，我来帮您") -> None:
        """``agent`` takes the conversation ``wait`` seconds later and writes to the user."""
        at = self._tick(wait)
        self.c.update(handoff="agent", agent=agent)
        self._handoff("agent", at, "agent_took_over", agent)
        self.write(agent, reply, after=0)

    def write(self, agent: str, reply: str, after: float = 30.0) -> None:
        at = self._tick(after)
        self._message("agent", reply, at, kind="agent", agent=agent)
        self.c["human_at"] = at

    def resolve(self, by: str, after: float = 60.0) -> None:
        at = self._tick(after)
        auto = by.startswith("auto:")
        self.c.update(handoff="bot", attention=None, waiting_since=None, human_at=None, resolved_at=at, resolved_by=by)
        self._handoff("resolved", at, by if auto else "resolved", None if auto else by)

    def rate(self, score: int, comment: str | None = None) -> None:
        helper = self.c["agent"] or self.c["resolved_by"]
        self.b.csat = {"conversation_id": self.c["id"], "score": score, "comment": comment, "agent": helper,
                       "created_at": self._tick(10)}  # fmt: skip

    def leave_message(self, contact: str, text_: str) -> None:
        at = self._tick(30)
        self._message("user", text_, at, kind="offline")
        self.c.update(contact=contact, attention="offline_message", waiting_since=self.c["waiting_since"] or at)


def _pick(rng: random.Random, weighted: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def generate(n: int, *, end: date, days: int = 30, seed: int = 7, first_message_id: int = 1) -> Iterator[Bundle]:
    """``n`` conversations started over the ``days`` Beijing days up to ``end``, at random (``seed``): mostly the
    bot answering, some fallbacks and clarifications, ratings, hand-overs taken after a wait or left waiting,
    resolutions and satisfaction ratings."""
    rng = random.Random(seed)
    ids = iter(range(first_message_id, 2**62))
    zipf = [1 / (k + 1) for k in range(len(QUESTIONS))]
    for i in range(n):
        day = end - timedelta(days=rng.randrange(days))
        seconds = rng.uniform(7 * 3600, 23 * 3600) if rng.random() < 0.9 else rng.uniform(0, 24 * 3600)
        s = Script(f"seed{seed}-{i:07d}", beijing(day, seconds), _pick(rng, AUDIENCE_WEIGHTS), ids)
        for _ in range(1 + min(int(rng.expovariate(0.8)), 5)):
            kind = _pick(rng, KIND_WEIGHTS)
            if kind == "fallback":
                question = rng.choice(MISSES)
            elif kind == "smalltalk":
                question = rng.choice(CHATTER)
            else:
                question = rng.choices(QUESTIONS, zipf)[0]
            latency = round(rng.lognormvariate(2.5, 0.45) * (6 if rng.random() < 0.02 else 1), 1)
            helpful = (rng.random() < 0.8) if kind in ("faq", "rule") and rng.random() < 0.15 else None
            s.turn(question, kind, latency_ms=latency, after=rng.uniform(5, 120), helpful=helpful)
        if rng.random() < 0.13:
            s.ask_person(after=rng.uniform(5, 60))
            if rng.random() < 0.8:
                agent = rng.choice(AGENTS)
                s.take(agent, wait=round(min(rng.expovariate(1 / 150), 3600), 3))
                if rng.random() < 0.7:
                    s.resolve(agent, after=rng.uniform(60, 900))
                else:
                    s.resolve("auto:silence", after=1800)
                if rng.random() < 0.5:
                    s.rate(rng.choices((1, 2, 3, 4, 5), (5, 5, 15, 35, 40))[0])
            elif rng.random() < 0.3:
                s.leave_message("138" + f"{rng.randrange(10**8):08d}", "请尽快联系我")
        elif s.c["attention"] is not None and rng.random() < 0.5:
            s.resolve("auto:silence", after=1800)
        yield s.b


def next_message_id(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.max(messages.c.id))).scalar() or 0) + 1


def insert_bundles(db: Database, bundles: Iterable[Bundle], chunk: int = 2000) -> int:
    """Store ``bundles`` (executemany, ``chunk`` conversations a transaction); returns how many. On PostgreSQL the
    id sequences move past the ids given here, so the app's own inserts go on after them."""
    count = 0
    batch: list[Bundle] = []

    def flush() -> None:
        rows: dict[Any, list[dict[str, Any]]] = {conversations: [], messages: [], feedback: [], handoffs: [], csat: []}
        for b in batch:
            rows[conversations].append(b.conversation)
            rows[messages].extend(b.messages)
            rows[feedback].extend(b.feedback)
            rows[handoffs].extend(b.handoffs)
            if b.csat is not None:
                rows[csat].append(b.csat)
        with db.tx() as conn:
            for table, values in rows.items():  # in this order: the foreign keys point backwards
                if values:
                    conn.execute(insert(table), values)
        batch.clear()

    for bundle in bundles:
        batch.append(bundle)
        count += 1
        if len(batch) >= chunk:
            flush()
    if batch:
        flush()
    if db.dialect == "postgresql":
        with db.tx() as conn:
            for table in ("messages", "feedback", "handoffs"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"GREATEST((SELECT max(id) FROM {table}), 1))"))  # fmt: skip
    return count


def seed(db: Database, n: int, *, end: date, days: int = 30, seed: int = 7, chunk: int = 2000) -> int:
    """``n`` generated conversations into ``db`` (after whatever it holds)."""
    return insert_bundles(db, generate(n, end=end, days=days, seed=seed, first_message_id=next_message_id(db)), chunk)
