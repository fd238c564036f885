"""The rules engine in conversation: hand-over, cancel, slot filling, follow-ups.

:class:`RulesEngine` plugs into :class:`bot.engine.AnswerEngine` as a ``RuleHandler``. For each message
it decides whether a rule applies (the user asks about their own case and gives — or can be asked
for — the facts the rule needs), extracts slots, asks for the first missing one, and answers with a
``kind: "rule"`` reply. Anything else passes to retrieval (``None``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import yaml
from pydantic import BaseModel, ValidationError

from bot import rules as R
from bot.errors import RulesError, first_error
from bot.knowledge import KnowledgeBase
from bot.normalize import Normalizer
from bot.orders import OrderInfo, OrderStore
from bot.reply import Context, FaqRef, Reply, Session
from bot.slots import (
    bare_number,
    find_amount,
    find_any,
    find_count,
    find_dates,
    find_month_range,
    find_order_id,
    find_word,
    yes_no,
)
from bot.workdays import today_in_shanghai

REFUND = "refund_eligibility"
POSTAGE = "invoice_postage"
EXIT = "provider_exit_check"
ELIGIBILITY = "provider_eligibility"
QUOTA = "custom_image_quota"
_STRIP = re.compile(r"[\s\W_]+", re.UNICODE)
_QUESTION = re.compile(r"怎么|如何|怎样|在哪|哪里|什么|多少|为什么|是否|吗")
_MONTH_WORDS = re.compile(
    r"(?:\d{4}\s*年\s*)?(?:\d{1,2}|[一二三四五六七八九十]{1,3}|上上个?|上个?|这个?|本)\s*月份?|去年"
)


# a product word right after these is what the user bought ("我买的镜像", "这单是API的")
_PURCHASED = re.compile(r"(?:买的|购买的|买了|下单的|订的|是|属于)\s*(?:一个|个|的)?\s*$")


def _merge(held: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The conversation's slots updated with this message's. A purchase day and a purchase month replace each
    other; a different purchase than the order held so far is another order (its id and status go)."""
    merged = dict(held)
    day, month = new.get("purchased_on"), new.get("purchased_between")
    if (day and day != held.get("purchased_on")) or (month and month != held.get("purchased_between")):
        if held.get("order_id") and not new.get("order_id"):
            for key in ("order_id", "service_confirmed"):
                merged.pop(key, None)
        merged.pop("purchased_between" if day else "purchased_on", None)
    return {**merged, **new}


class DialogueWords(BaseModel):
    class Handoff(BaseModel):
        patterns: list[str]
        exact: list[str]
        reply: str

    class Cancel(BaseModel):
        words: list[str]
        max_chars: int
        reply: str

    class Refund(BaseModel):
        topic: list[str]
        not_topic: list[str]
        howto: list[str]
        confirmed_yes: list[str]
        confirmed_no: list[str]
        confirmed_no_patterns: list[re.Pattern[str]]
        confirmed_yes_patterns: list[re.Pattern[str]]
        window_passed: list[str]

    handoff: Handoff
    cancel: Cancel
    yes_words: list[str]
    no_words: list[str]
    all_yes: list[str]
    followup_markers: list[str]
    followup_max_chars: int
    personal: list[str]
    this_order: list[str]
    order_refs: list[str]
    refund: Refund


def load_dialogue_words(path: Path) -> DialogueWords:
    try:
        return DialogueWords.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"{path}: cannot read: {exc}") from exc
    except ValidationError as exc:
        raise RulesError(f"{path}: {first_error(exc.errors())}") from exc


@dataclass
class Turn:
    """One message as the rules see it."""

    raw: str
    text: str  # normalised: simplified, lower case
    key: str  # text without spaces and punctuation
    today: date
    ctx: Context


class RulesEngine:
    """Rules before retrieval. Implements ``RuleHandler``."""

    def __init__(
        self,
        facts: R.RuleFacts,
        words: DialogueWords,
        kb: KnowledgeBase,
        normalizer: Normalizer,
        orders: OrderStore | None = None,
        clock: Callable[[], date] = today_in_shanghai,
    ) -> None:
        missing = facts.cited_entries() - set(kb.by_id)
        if missing:
            raise R.RulesError(f"rules.yaml cites FAQ entries that do not exist: {', '.join(sorted(missing))}")
        self.facts = facts
        self.words = words
        self.kb = kb
        self.normalizer = normalizer
        self.orders = orders
        self.clock = clock
        self.questions = {e.id: e.question for e in kb.entries}
        # A FAQ answer shown last makes a short follow-up ("那API商品呢？") continue the matching rule.
        self._rule_of_faq: dict[str, str] = {c: REFUND for c in facts.refund.cites}
        self._rule_of_faq.update({t.cite: name for name, t in facts.timelines.items()})
        self._rule_of_faq[facts.invoice_postage.cite] = POSTAGE
        self._rule_of_faq[facts.custom_image_quota.cite] = QUOTA
        self._rule_of_faq.update({c: ELIGIBILITY for c in facts.provider_eligibility.cites[:1]})
        self._handoff_exact = {self._key(w) for w in words.handoff.exact}

    @classmethod
    def from_paths(
        cls,
        knowledge_dir: Path,
        kb: KnowledgeBase,
        normalizer: Normalizer,
        orders: OrderStore | None = None,
        clock: Callable[[], date] = today_in_shanghai,
    ) -> RulesEngine:
        facts = R.load_rule_facts(knowledge_dir / "rules.yaml")
        words = load_dialogue_words(knowledge_dir / "dialogue.yaml")
        return cls(facts, words, kb, normalizer, orders, clock)

    # ------------------------------------------------------------------ entry point

    @staticmethod
    def _key(text: str) -> str:
        return _STRIP.sub("", text)

    def handle(self, message: str, context: Context, session: Session) -> Reply | None:
        text = self.normalizer.text(message)
        turn = Turn(message, text, self._key(text), context.today or self.clock(), context)
        if self._is_handoff(turn):
            session.handoff = True
            session.active_rule = session.awaiting = None
            return Reply(q=message, kind="handoff", text=self.words.handoff.reply, score=1.0, reason="user_request")
        if (session.active_rule or session.last_rule) and self._is_cancel(turn):
            cancelled = session.active_rule or session.last_rule
            session.active_rule = session.awaiting = session.last_rule = None
            session.slots = {}
            return Reply(
                q=message, kind="smalltalk", text=self.words.cancel.reply, score=1.0, reason=f"cancelled:{cancelled}"
            )
        if session.active_rule:
            reply = self._continue(turn, session)
            if reply is not None:
                return reply
        rule = self._trigger(turn)
        if rule is not None:
            slots = self._extract(rule, turn, session.awaiting if session.active_rule == rule else None)
            session.slots = {}
            return self._run(rule, slots, turn, session)
        return self._followup(turn, session)

    # ------------------------------------------------------------------ hand-over and cancel

    def _is_handoff(self, turn: Turn) -> bool:
        return turn.key in self._handoff_exact or any(p in turn.text for p in self.words.handoff.patterns)

    def _is_cancel(self, turn: Turn) -> bool:
        c = self.words.cancel
        return len(turn.key) <= c.max_chars and any(turn.key.startswith(w) for w in c.words)

    # ------------------------------------------------------------------ which rule

    def _has(self, turn: Turn, words: list[str]) -> bool:
        return find_any(turn.text, words) is not None

    def _personal(self, turn: Turn) -> bool:
        return self._has(turn, self.words.personal)

    def _trigger(self, turn: Turn) -> str | None:
        """The rule this message asks about, or None.

        A rule takes a message only when the user states facts of their own case (a date, an amount,
        an order, a situation) or points at their own order; general questions ("提现多久到账") get the
        FAQ answer, which then offers to work out the user's case.
        """
        f, t = self.facts, turn.text
        howto = self._has(turn, self.words.refund.howto)
        dates = find_dates(t, turn.today)
        # provider eligibility: an individual asking whether they can become a provider
        e = f.provider_eligibility
        if (
            self._has(turn, e.topic)
            and self._has(turn, e.asks)
            and self._has(turn, e.individual_words)
            and not self._has(turn, e.not_individual)
        ):
            return ELIGIBILITY
        # provider exit self-check: the user reports the state of their conditions
        x = f.provider_exit
        if self._has(turn, x.topic) and "保证金" not in t and not howto:
            statuses = self._exit_statuses(turn)
            if any(v is not None for v in statuses.values()) or (self._personal(turn) and self._has(turn, x.asks)):
                return EXIT
        # invoice postage for a given amount
        p = f.invoice_postage
        if self._has(turn, p.topic) and self._has(turn, p.invoice_words) and find_amount(t) is not None:
            return POSTAGE
        # refund of an order
        r = self.words.refund
        if self._has(turn, r.topic) and not self._has(turn, r.not_topic):
            concrete = bool(dates) or find_order_id(t) is not None or turn.ctx.order is not None
            concrete = concrete or self._situation(turn, f.refund.provider_faults) is not None
            concrete = concrete or self._situation(turn, f.refund.user_side, by_user=True) is not None
            concrete = concrete or self._has(turn, r.window_passed) or self._confirmed(turn) is not None
            if concrete or (not howto and (self._delivery_type(turn) or self._has(turn, self.words.order_refs))):
                return REFUND
        elif (
            not howto
            and self._delivery_type(turn)
            and self._situation(turn, f.refund.provider_faults)
            and not self._has(turn, r.not_topic)
        ):
            return REFUND  # a complaint about a purchase: say what the refund rules give
        # timelines: the topic, a when-question and the start date
        if dates:
            for name, tl in f.timelines.items():
                if self._has(turn, tl.topic) and self._has(turn, tl.asks):
                    return name
        # custom image quota with a count
        q = f.custom_image_quota
        if self._has(turn, q.topic) and self._has(turn, q.asks) and find_count(t) is not None:
            return QUOTA
        return None

    def faq_hint(self, faq_id: str) -> str | None:
        """A line under a FAQ answer offering to work out the user's own case."""
        rule = self._rule_of_faq.get(faq_id)
        if rule == REFUND:
            return "想知道您的订单能不能退？告诉我商品类型和购买日期（或订单号），我帮您判断。"
        if rule in self.facts.timelines:
            tl = self.facts.timelines[rule]
            return f"告诉我{tl.start}的日期，我可以帮您算出具体日期。"
        if rule == POSTAGE:
            return "告诉我发票的票面金额，我可以告诉您快递费由谁承担。"
        if rule == QUOTA:
            return "告诉我这个地域已有多少个自定义镜像，我帮您算还能创建几个。"
        return None

    # ------------------------------------------------------------------ slots

    def _delivery_type(self, turn: Turn) -> R.DeliveryType | None:
        """The kind of product the message is about: its first product word; in a compound of product
        words a service word wins ("小程序定制开发", "定制开发的小程序", "网站运维" are services), otherwise
        the head (last) word."""
        hits: list[tuple[int, int, R.DeliveryType, bool]] = []
        for kind, facts in self.facts.refund.delivery_types.items():
            for w in [*facts.names, *facts.words]:
                pos = find_word(turn.text, w)
                if pos >= 0:
                    hits.append((pos, pos + len(w.replace("…", "")), kind, w in facts.names))
        if not hits:
            return None
        hits.sort(key=lambda h: (h[0], -h[1]))
        run = [hits[0]]
        end = hits[0][1]
        for hit in hits[1:]:
            if hit[0] > end + 2:
                break
            if hit[1] > end:
                end = hit[1]
                run.append(hit)
        named = [h[2] for h in run if h[3]]
        if named:
            return named[-1]
        return "manual_service" if any(h[2] == "manual_service" for h in run) else run[-1][2]

    def _normalise_product_type(self, value: str | None) -> R.DeliveryType | None:
        if not value:
            return None
        v = self.normalizer.text(value).strip().replace("-", "_").replace(" ", "_")
        if v in self.facts.refund.delivery_types:
            return cast(R.DeliveryType, v)
        for kind, facts in self.facts.refund.delivery_types.items():
            if any(w in v for w in facts.words):
                return kind
        return None

    def _situation(self, turn: Turn, situations: list[R.Situation], by_user: bool = False) -> str | None:
        """The first situation the message describes. For provider faults, a match right after 我/我们
        ("我拖了四个月") is the user's own doing and does not count."""
        for s in situations:
            for w in s.words:
                pos = find_word(turn.text, w)
                if pos >= 0 and (by_user or "我" not in turn.text[max(0, pos - 2) : pos]):
                    return s.id
        return None

    def _confirmed(self, turn: Turn) -> bool | None:
        r = self.words.refund
        if self._has(turn, r.confirmed_no) or any(p.search(turn.text) for p in r.confirmed_no_patterns):
            return False
        if self._has(turn, r.confirmed_yes) or any(p.search(turn.text) for p in r.confirmed_yes_patterns):
            return True
        return None

    def _first_date(self, turn: Turn) -> tuple[str | None, str | None]:
        """(ISO date, invalid text): the first date mentioned, or the text of a day that does not exist."""
        for d in find_dates(turn.text, turn.today):
            if d.value is not None:
                return d.value.isoformat(), None
            return None, d.text
        return None, None

    def _order_slots(self, order: OrderInfo) -> dict[str, Any]:
        out: dict[str, Any] = {}
        kind = self._normalise_product_type(order.product_type)
        if kind:
            out["delivery_type"] = kind
        if order.purchased_on:
            out["purchased_on"] = order.purchased_on.isoformat()
        if order.service_confirmed is not None:
            out["service_confirmed"] = order.service_confirmed
        if order.id:
            out["order_id"] = order.id
        return out

    def _exit_statuses(self, turn: Turn) -> dict[str, bool | None]:
        """Conditions the message speaks about: clause by clause, negation marks 'not met'."""
        out: dict[str, bool | None] = {}
        clauses = re.split(r"[，,。；;！!？?、]|但是|但|不过|而且|并且|还有(?=\d|[一两几]|个|笔|张|单)", turn.text)
        for clause in clauses:
            for c in self.facts.provider_exit.conditions:
                if any(w in clause for w in c.words) and c.id not in out:
                    unmet = re.search(r"没|未|不|还有|尚有|仍有|剩|在审|中的", clause) and not re.search(
                        r"没有(?:了|申请中|待|未|在|剩|发货)|不再有|都没了|没了", clause
                    )
                    out[c.id] = not unmet
        return out

    def _page_order(self, turn: Turn) -> tuple[dict[str, Any], str]:
        """The slots of the order the page shows (stored order data, then the page's own fields) and its product
        name (normalised, for telling whether a product word in the message names this very product)."""
        if not turn.ctx.order:
            return {}, ""
        ctx_order = OrderInfo.model_validate(turn.ctx.order)
        stored = self.orders.get(ctx_order.id) if (self.orders and ctx_order.id) else None
        slots: dict[str, Any] = {}
        if stored is not None:
            slots.update(self._order_slots(stored))
        slots.update(self._order_slots(ctx_order))
        name = ctx_order.product_name or (stored.product_name if stored is not None else None) or ""
        return slots, self.normalizer.text(name)

    def _contradicts(
        self,
        page: dict[str, Any],
        product: str,
        kind: R.DeliveryType | None,
        iso: str | None,
        between: tuple[date, date] | None,
        turn: Turn,
    ) -> list[str]:
        """What the message says that the page's order contradicts: its kind of product (unless the message points
        at this very order, or the product word is part of its name: "这个小程序" on a 小程序定制开发 page), its
        purchase day or month."""
        differs = []
        if kind and page.get("delivery_type") and kind != page["delivery_type"]:
            facts = self.facts.refund.delivery_types[kind]
            words = [w for w in facts.words if find_word(turn.text, w) >= 0]
            pointed = self._has(turn, self.words.this_order) or (page.get("order_id") or "\0") in turn.text
            # beside "这个订单" a product word may describe the user's situation ("我们网站没备案，这个订单能退吗");
            # a word said of the purchase ("这单是镜像", "我买的镜像") is about the order itself
            asserted = any(_PURCHASED.search(turn.text[: find_word(turn.text, w)]) for w in words)
            if not any(w in product for w in words) and (asserted or not pointed):
                differs.append("delivery_type")
        bought = page.get("purchased_on")
        outside = between is not None and not between[0].isoformat() <= str(bought) <= between[1].isoformat()
        if bought and ((iso and iso != bought) or outside):
            differs.append("purchased_on")
        return differs

    def _extract(
        self, rule: str, turn: Turn, awaiting: str | None, prior: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Slots for ``rule`` found in this message (``awaiting``: the slot just asked for; ``prior``: the slots
        the conversation already holds)."""
        t = turn.text
        slots: dict[str, Any] = {}
        iso, invalid = self._first_date(turn)
        if invalid:
            slots["_invalid_date"] = invalid
        if rule == REFUND:
            kind = self._delivery_type(turn)
            between = None if iso or invalid else find_month_range(t, turn.today)
            page, product = self._page_order(turn)
            if page and (prior or {}).get("other_order"):
                page = {}  # the user already said they mean another purchase
            elif page:
                differs = self._contradicts(page, product, kind, iso, between, turn)
                if differs:
                    # The message is about another purchase than the page's order: decide on what the user said,
                    # never on the page's facts they contradicted (and say so).
                    slots["_not_page_order"] = (page, differs)
                    slots["other_order"] = True
                    page = {}
            slots.update(page)
            order_id = find_order_id(t)
            if order_id and order_id != slots.get("order_id"):
                stored = self.orders.get(order_id) if self.orders else None
                if stored is None:
                    slots["_unknown_order"] = order_id
                else:
                    slots.update(self._order_slots(stored))
            # A product word names the kind unless the page's order (which it does not contradict) already does.
            if kind and (not slots.get("delivery_type") or self._marked_followup(turn)):
                slots["delivery_type"] = kind
            if iso:
                slots["purchased_on"] = iso
            elif between:
                slots["purchased_between"] = [between[0].isoformat(), between[1].isoformat()]
            confirmed = self._confirmed(turn)
            if confirmed is None and awaiting == "service_confirmed":
                confirmed = yes_no(t, self.words.yes_words, self.words.no_words)
            if confirmed is not None:
                slots["service_confirmed"] = confirmed
            if self._has(turn, self.words.refund.window_passed):
                slots["window_passed"] = True
            fault = self._situation(turn, self.facts.refund.provider_faults)
            if fault:
                slots["provider_fault"] = fault
            user = self._situation(turn, self.facts.refund.user_side, by_user=True)
            if user:
                slots["user_side"] = user
        elif rule in self.facts.timelines:
            if iso:
                slots[self.facts.timelines[rule].slot] = iso
        elif rule == POSTAGE:
            amount = find_amount(t)
            if amount is None and awaiting == "amount":
                amount = bare_number(t)
            if amount is not None:
                slots["amount"] = str(amount)
        elif rule == QUOTA:
            count = find_count(t)
            if count is None and awaiting == "used_count":
                n = bare_number(t)
                count = int(n) if n is not None else None
            if count is not None:
                slots["used_count"] = count
        elif rule == ELIGIBILITY:
            e = self.facts.provider_eligibility
            if self._has(turn, e.individual_words) and not self._has(turn, e.not_individual):
                slots["entity_type"] = "individual"
            elif self._has(turn, e.enterprise_words):
                slots["entity_type"] = "enterprise"
        elif rule == EXIT:
            if awaiting and self._has(turn, self.words.all_yes):
                slots.update({c.id: True for c in self.facts.provider_exit.conditions})
            elif awaiting:
                answer = yes_no(t, self.words.yes_words, self.words.no_words)
                if answer is not None:
                    slots[awaiting] = answer
            for cid, met in self._exit_statuses(turn).items():
                slots.setdefault(cid, met)
        return slots

    # ------------------------------------------------------------------ running a rule

    def _continue(self, turn: Turn, session: Session) -> Reply | None:
        rule = cast(str, session.active_rule)
        new = self._extract(rule, turn, session.awaiting, session.slots)
        useful = {k: v for k, v in new.items() if not k.startswith("_")}
        answers = session.awaiting in useful or new.get("_invalid_date") or new.get("_unknown_order")
        # other slots count only in a short reply or one still about this rule ("不是SaaS，是API");
        # "镜像可以下载到本地吗" names a product but asks something else
        related = useful and (self._mostly_slots(turn) or self._marked_followup(turn) or self._trigger(turn) == rule)
        if answers or related:
            return self._run(rule, _merge(session.slots, new), turn, session)
        other = self._trigger(turn)
        if other is not None and other != rule:
            return None  # a new rule starts in handle()
        if len(turn.key) <= 6 and not _QUESTION.search(turn.text) and session.reasks < 1:
            session.reasks += 1
            return self._ask(rule, cast(str, session.awaiting), turn, session, hint=True)
        # something else entirely: leave the rule, let retrieval answer
        session.active_rule = session.awaiting = None
        return None

    def _followup(self, turn: Turn, session: Session) -> Reply | None:
        rule = session.last_rule
        if session.last_faq and session.history and session.history[-1].kind == "faq":
            rule = self._rule_of_faq.get(session.last_faq, None)
        if rule is None or len(turn.key) > self.words.followup_max_chars:
            return None
        marked = self._marked_followup(turn)
        if re.search(r"怎么|如何|怎样|在哪|哪里|为什么|什么时候开始|多少钱", turn.text):
            return None
        # only what this message says counts as a follow-up, not the page's order data
        own = Turn(turn.raw, turn.text, turn.key, turn.today, turn.ctx.model_copy(update={"order": None}))
        new = {k: v for k, v in self._extract(rule, own, None).items() if not k.startswith("_")}
        if not new or not (marked or self._mostly_slots(turn)):
            return None
        carried = dict(session.slots) if session.last_rule == rule else {}
        if rule == REFUND and "delivery_type" in new and new["delivery_type"] != carried.get("delivery_type"):
            carried.pop("service_confirmed", None)  # a different kind of product: the old status is moot
            carried.pop("order_id", None)
        for situation in ("provider_fault", "user_side"):
            if situation not in new:
                carried.pop(situation, None)
        return self._run(rule, _merge(carried, new), turn, session)

    def _marked_followup(self, turn: Turn) -> bool:
        markers = self.words.followup_markers
        return any(turn.key.startswith(m) for m in markers) or turn.key.endswith("呢") or "的话" in turn.key

    def _mostly_slots(self, turn: Turn) -> bool:
        """The message is little more than a date or an amount ("11月3日申请的", "30元")."""
        rest = turn.text
        for d in find_dates(rest, turn.today):
            rest = rest.replace(d.text, "")
        rest = _MONTH_WORDS.sub("", rest)
        rest = re.sub(r"[¥￥]?\d+(?:\.\d+)?\s*(?:元|块|个)?", "", rest)
        return rest != turn.text and len(self._key(rest)) <= 5

    def _run(self, rule: str, slots: dict[str, Any], turn: Turn, session: Session) -> Reply:
        outcome = self._outcome(rule, slots, turn)
        clean = {k: v for k, v in slots.items() if not k.startswith("_")}
        session.slots = clean
        session.reasks = 0
        if outcome.missing:
            session.active_rule, session.awaiting = rule, outcome.missing[0]
            return self._ask(rule, outcome.missing[0], turn, session, outcome=outcome, notes=self._notes(slots))
        session.active_rule = session.awaiting = None
        session.last_rule = rule
        text = outcome.text
        notes = self._notes(slots)
        if notes:
            text = "\n\n".join(notes) + "\n\n" + text
        return self._reply(turn, outcome, clean, text)

    def _notes(self, slots: dict[str, Any]) -> list[str]:
        notes = []
        if slots.get("_not_page_order"):
            page, differs = slots["_not_page_order"]
            notes.append(self._other_order_note(page, differs))
        if slots.get("_unknown_order"):
            notes.append(f"没有找到订单号 {slots['_unknown_order']}，请核对订单号（可在费用中心的订单管理中查看）。")
        if slots.get("_invalid_date"):
            notes.append(f"“{slots['_invalid_date']}”不是一个有效的日期，请再确认一下。")
        return notes

    def _other_order_note(self, page: dict[str, Any], differs: list[str]) -> str:
        kinds = self.facts.refund.delivery_types
        facts = []
        if page.get("order_id"):
            facts.append(f"订单号 {page['order_id']}")
        if page.get("delivery_type") in kinds:
            facts.append(kinds[page["delivery_type"]].label)
        if page.get("purchased_on"):
            facts.append(f"{page['purchased_on']} 购买")
        said = "、".join({"delivery_type": "商品类型", "purchased_on": "购买时间"}[d] for d in differs)
        return (
            f"您说的{said}和当前页面上的订单（{'，'.join(facts)}）不一致，下面按您说的情况判断；"
            "如果您问的就是页面上的这个订单，请问“这个订单能退吗”。"
        )

    def _outcome(self, rule: str, slots: dict[str, Any], turn: Turn) -> R.Outcome:
        f, q, today = self.facts, self.questions, turn.today
        if rule == REFUND:
            between = slots.get("purchased_between")
            s = R.RefundSlots(
                delivery_type=slots.get("delivery_type"),
                purchased_on=date.fromisoformat(slots["purchased_on"]) if slots.get("purchased_on") else None,
                purchased_between=(date.fromisoformat(between[0]), date.fromisoformat(between[1])) if between else None,
                service_confirmed=slots.get("service_confirmed"),
                window_passed=slots.get("window_passed"),
                provider_fault=slots.get("provider_fault"),
                user_side=slots.get("user_side"),
            )
            return R.refund_eligibility(f.refund, s, today, q)
        if rule in f.timelines:
            tl = f.timelines[rule]
            if not slots.get(tl.slot):
                return R.Outcome(rule, None, "", [tl.cite], missing=[tl.slot])
            start = date.fromisoformat(slots[tl.slot])
            if start > today:
                return R.Outcome(rule, None, "", [tl.cite], missing=[tl.slot], extra={"invalid": "future_date"})
            return R.timeline(rule, tl, start, today, q)
        if rule == POSTAGE:
            if slots.get("amount") is None:
                return R.Outcome(rule, None, "", [f.invoice_postage.cite], missing=["amount"])
            return R.invoice_postage(f.invoice_postage, Decimal(slots["amount"]), q)
        if rule == EXIT:
            status = {c.id: slots.get(c.id) for c in f.provider_exit.conditions}
            return R.exit_check(f.provider_exit, status, q)
        if rule == ELIGIBILITY:
            return R.provider_eligibility(f.provider_eligibility, slots.get("entity_type"), q)
        if rule == QUOTA:
            if slots.get("used_count") is None:
                return R.Outcome(rule, None, "", [f.custom_image_quota.cite], missing=["used_count"])
            return R.custom_image_quota(f.custom_image_quota, int(slots["used_count"]), q)
        raise ValueError(f"unknown rule {rule}")

    # ------------------------------------------------------------------ replies

    def _question_for(self, rule: str, slot: str, outcome: R.Outcome | None) -> str:
        f = self.facts
        if rule in f.timelines:
            return f.timelines[rule].ask
        if slot == "delivery_type":
            return (
                "请问您购买的是哪类商品？SaaS 类（如模板网站、模板小程序）、API 类、镜像类，"
                "还是人工服务类（如运维服务、定制开发）？也可以直接告诉我订单号。"
            )
        if slot == "purchased_on":
            days = f.refund.delivery_types["saas"].window_days
            prefix = "购买日期不能晚于今天。" if outcome and outcome.extra.get("invalid") == "future_date" else ""
            return f"{prefix}SaaS 类商品的复议期是购买当天起 {days} 天。请问您是哪天购买的？（例如 11月20日、昨天）"
        if slot == "service_confirmed":
            return (
                "人工服务类商品在服务确认完成前都可以申请退款。"
                "请问服务商的服务已经确认完成（验收）了吗？请回答“是”或“否”。"
            )
        if slot == "amount":
            return f.invoice_postage.ask
        if slot == "used_count":
            return "请问您在这个地域已经有多少个自定义镜像？"
        if slot == "entity_type":
            return "请问您是以个人还是企业身份申请入驻？"
        for n, c in enumerate(f.provider_exit.conditions, 1):
            if c.id == slot:
                total = len(f.provider_exit.conditions)
                return (
                    f"我们逐项核对退出条件（第 {n}/{total} 项）：{c.ask} 请回答“是”或“否”（全部满足可回答“都满足”）。"
                )
        raise ValueError(slot)

    def _ask(
        self,
        rule: str,
        slot: str,
        turn: Turn,
        session: Session,
        outcome: R.Outcome | None = None,
        hint: bool = False,
        notes: list[str] | None = None,
    ) -> Reply:
        outcome = outcome or self._outcome(rule, session.slots, turn)
        lines = list(notes or [])
        if hint:
            lines.append("抱歉，我没有看懂。")
        lines.append(self._question_for(rule, slot, outcome))
        lines.append("（输入“取消”可结束本次查询，输入“转人工”可联系人工客服。）")
        return self._reply(turn, outcome, session.slots, "\n\n".join(lines), reason="rule_needs_slot")

    def _reply(
        self, turn: Turn, outcome: R.Outcome, slots: dict[str, Any], text: str, reason: str | None = None
    ) -> Reply:
        cites = list(dict.fromkeys(outcome.cites))
        if outcome.rule == REFUND and self._has(turn, self.words.refund.howto) and outcome.decision:
            # the user asked how: the steps (已购买的云市场商品如何退款？) are the main content
            steps = [c for c in cites if c in self.facts.refund.cites[1:]]
            cites = steps + [c for c in cites if c not in steps]
        primary = self.kb.by_id[cites[0]]
        rule: dict[str, Any] = {
            "id": outcome.rule,
            "decision": outcome.decision,
            "dates": (
                {"earliest": outcome.dates[0].isoformat(), "latest": outcome.dates[1].isoformat()}
                if outcome.dates
                else None
            ),
            "slots": slots,
            "missing": outcome.missing,
            "cites": [{"id": c, "question": self.questions[c]} for c in cites],
            "today": turn.today.isoformat(),
            **outcome.extra,
        }
        return Reply(
            q=turn.raw,
            kind="rule",
            text=text,
            faq=FaqRef(
                id=primary.id, question=primary.question, category=primary.category, updated=primary.updated_date
            ),
            score=1.0,
            rule=rule,
            reason=reason or f"rule:{outcome.rule}",
        )
