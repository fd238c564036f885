"""The dialogue around the rules: hand-over, cancel, the rule waiting for a slot, which rule a message starts,
follow-ups — one generic loop that knows no rule by name.

:class:`Dialogue` plugs into :class:`bot.engine.AnswerEngine` as a ``RuleHandler``. For each message it decides
whether a rule takes it (the user asks about their own case and gives — or can be asked for — the facts the rule
needs), lets the rule extract slots, asks for the first missing one, and answers with a ``kind: "rule"`` reply.
Anything else passes to retrieval (``None``). Rules are plug-ins (bot/rules/); every sentence comes from
``knowledge/messages.yaml`` (``dialogue``) and ``knowledge/rules.yaml``; the words it listens for from
``knowledge/dialogue.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from bot.errors import RulesError, first_error
from bot.knowledge import KnowledgeBase, parse_yaml
from bot.messages import DialogueCopy
from bot.normalize import Normalizer
from bot.reply import CiteRef, Context, DateSpan, FaqRef, Reason, Reply, RuleResult, Session, Topic
from bot.rules import Extraction, Outcome, Rule, RuleKit, Turn, build_rules, read_rules_data
from bot.rules.base import Words
from bot.slots import find_dates
from bot.workdays import today_in_shanghai

# "10月", "上个月", "去年": what is left of a message once its month words go (see _mostly_slots)
_MONTH_WORDS = re.compile(
    r"(?:\d{4}\s*年\s*)?(?:\d{1,2}|[一二三四五六七八九十]{1,3}|上上个?|上个?|这个?|本)\s*月份?|去年"
)
_AMOUNTS = re.compile(r"[¥￥]?\d+(?:\.\d+)?\s*(?:元|块|个)?")


class DialogueWords(BaseModel):
    """``knowledge/dialogue.yaml``: the words that steer the conversation."""

    class Handoff(BaseModel):
        patterns: list[str]
        exact: list[str]
        # a message that names the service (one of ``names``) only to ask about it (``asks_about``: "人工客服电话是
        # 多少") is a question, not a request; "人工客服电话打不通，帮我转人工" still asks for a person
        names: list[str] = []
        asks_about: list[str] = []

    class Cancel(BaseModel):
        words: list[str]
        max_chars: int

    handoff: Handoff
    cancel: Cancel
    yes_words: list[str]
    no_words: list[str]
    all_yes: list[str]
    followup_markers: list[str]
    followup_max_chars: int
    followup_not: list[str]  # a short message with one of these is a new question, not a follow-up
    question_words: list[str]  # an unclear reply with one of these is a question: the rule is left, not re-asked
    personal: list[str]
    this_order: list[str]
    order_refs: list[str]
    howto: list[str]

    def shared(self) -> Words:
        return Words(
            yes=self.yes_words,
            no=self.no_words,
            all_yes=self.all_yes,
            personal=self.personal,
            this_order=self.this_order,
            order_refs=self.order_refs,
            howto=self.howto,
            followup_markers=self.followup_markers,
            person=self.handoff.patterns,
        )


def load_dialogue_words(path: Path) -> DialogueWords:
    try:
        return DialogueWords.model_validate(parse_yaml(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"{path}: cannot read: {exc}") from exc
    except ValidationError as exc:
        raise RulesError(f"{path}: {first_error(exc.errors())}") from exc


def _alternation(words: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(map(re.escape, words)))


class Dialogue:
    """Rules before retrieval. Implements ``RuleHandler`` (and ``faq_hint``)."""

    def __init__(
        self,
        rules: list[Rule],
        words: DialogueWords,
        kb: KnowledgeBase,
        kit: RuleKit,
        clock: Callable[[], date] = today_in_shanghai,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        self.rules = rules
        self.data: Mapping[str, Any] = data or {}  # the rules data they were built from (the demo pages quote it)
        self.words = words
        self.kb = kb
        self.kit = kit
        self.clock = clock
        self._by_id = {r.id: r for r in rules}
        # A FAQ answer shown last makes a short follow-up ("那API商品呢？") continue the rule that works it out.
        self._rule_of_faq: dict[str, Rule] = {}
        for rule in rules:
            for faq_id in rule.offered_by:
                if faq_id in self._rule_of_faq:
                    raise RulesError(f"{faq_id} is offered by two rules: {self._rule_of_faq[faq_id].id}, {rule.id}")
                self._rule_of_faq[faq_id] = rule
        # the FAQ entries each rule works out: retrieval confidently naming another entry vetoes the rule
        self._entries = {r.id: r.cited() | set(r.offered_by) for r in rules}
        self._handoff_exact = {Turn.key_of(w) for w in words.handoff.exact}
        self._question = _alternation(words.question_words)
        self._not_followup = _alternation(words.followup_not)

    @classmethod
    def from_knowledge(
        cls,
        knowledge_dir: Path,
        kb: KnowledgeBase,
        normalizer: Normalizer,
        texts: DialogueCopy,
        orders: Any = None,
        clock: Callable[[], date] = today_in_shanghai,
    ) -> Dialogue:
        words = load_dialogue_words(knowledge_dir / "dialogue.yaml")
        questions = {e.id: e.question for e in kb.entries}
        kit = RuleKit(normalizer, questions, words.shared(), texts, orders)
        path = knowledge_dir / "rules.yaml"
        data = read_rules_data(path)
        return cls(build_rules(path, kit, data), words, kb, kit, clock, data)

    # ------------------------------------------------------------------ entry points

    def _turn(self, message: str, context: Context) -> Turn:
        text = self.kit.normalizer.text(message)
        return Turn(message, text, Turn.key_of(text), context.today or self.clock(), context)

    def request_handoff(self, message: str, session: Session) -> Reply:
        """The user asked for a person (typed, or the widget's button): any rule in progress is left."""
        session.handoff = True
        session.active_rule = session.awaiting = None
        return Reply(q=message, kind="handoff", text=self.kit.texts.handoff, score=1.0, reason=Reason.USER_REQUEST)

    def handle(self, message: str, context: Context, session: Session, topic: Topic | None = None) -> Reply | None:
        """``topic`` (called only when a rule that yields would start): the FAQ entry retrieval is sure the message
        asks, or None. A yielding rule whose entries do not include it leaves the message to retrieval: "昨天小程序
        刚上线，店员不会上新品" names a date and 小程序, but asks about training, not when it goes live."""
        turn = self._turn(message, context)
        if self._is_handoff(turn):
            return self.request_handoff(message, session)
        if (session.active_rule or session.last_rule) and self._is_cancel(turn):
            cancelled = session.active_rule or session.last_rule or ""
            session.active_rule = session.awaiting = session.last_rule = None
            session.slots = {}
            reason = Reason.CANCELLED.of(cancelled)
            return Reply(q=message, kind="smalltalk", text=self.kit.texts.cancelled, score=1.0, reason=reason)
        if session.active_rule:
            reply = self._continue(turn, session)
            if reply is not None:
                return reply
        rule = self._trigger(turn, topic)
        if rule is not None:
            found = rule.extract(turn, session.awaiting if session.active_rule == rule.id else None, {})
            session.slots = {}
            stated = None if found.notes else rule.policy(turn, found.slots)
            if stated is not None and topic is not None:
                # a general question retrieval would answer with another entry ("复议期外退款最后提交什么": the
                # steps, not the rule stated) is that entry's: no own case to work out, the FAQ says it
                about = topic(answering=True)
                if about is not None and about not in stated.cites:
                    return self._followup(turn, session)
            if stated is not None:  # a general question: the rule's fact, and the offer to work out the user's case
                session.active_rule = session.awaiting = None
                session.last_rule, session.slots = rule.id, dict(found.slots)
                return self._reply(turn, stated, found.slots, stated.text, reason=Reason.RULE_POLICY.of(rule.id))
            return self._run(rule, found.slots, found.notes, turn, session)
        return self._followup(turn, session)

    def faq_hint(self, faq_id: str) -> str | None:
        """A line under a FAQ answer offering to work out the user's own case."""
        rule = self._rule_of_faq.get(faq_id)
        return rule.offer() if rule is not None else None

    # ------------------------------------------------------------------ hand-over, cancel, which rule

    def _is_handoff(self, turn: Turn) -> bool:
        if turn.key in self._handoff_exact:
            return True
        handoff = self.words.handoff
        matched = [p for p in handoff.patterns if p in turn.text]
        if matched and all(p in handoff.names for p in matched) and any(w in turn.text for w in handoff.asks_about):
            return False
        return bool(matched)

    def _is_cancel(self, turn: Turn) -> bool:
        c = self.words.cancel
        return len(turn.key) <= c.max_chars and any(turn.key.startswith(w) for w in c.words)

    def _trigger(self, turn: Turn, topic: Topic | None = None) -> Rule | None:
        """The first rule (in registry order) this message asks about, or None.

        A rule takes a message only when the user states facts of their own case (a date, an amount, an order, a
        situation) or points at their own order; general questions ("提现多久到账") get the FAQ answer, which then
        offers to work out the user's case. A rule whose FAQ entries retrieval confidently disagrees with does not
        take the message (see :meth:`handle`)."""
        for rule in self.rules:
            if rule.triggers(turn):
                about = topic() if topic is not None and rule.yields else None
                if about is None or about in self._entries[rule.id]:
                    return rule
        return None

    # ------------------------------------------------------------------ a rule in progress, follow-ups

    def _mostly_slots(self, turn: Turn) -> bool:
        """The message is little more than a date or an amount ("11月3日申请的", "30元")."""
        rest = turn.text
        for d in find_dates(rest, turn.today):
            rest = rest.replace(d.text, "")
        rest = _MONTH_WORDS.sub("", rest)
        rest = _AMOUNTS.sub("", rest)
        return rest != turn.text and len(Turn.key_of(rest)) <= 5

    def _continue(self, turn: Turn, session: Session) -> Reply | None:
        rule = self._by_id.get(session.active_rule or "")
        if rule is None:  # a state from a version with other rules
            session.active_rule = session.awaiting = None
            return None
        found = rule.extract(turn, session.awaiting, session.slots)
        answers = session.awaiting in found.slots or found.rejected
        # other slots count only in a short reply or one still about this rule ("不是SaaS，是API");
        # "镜像可以下载到本地吗" names a product but asks something else
        related = found.useful and (
            self._mostly_slots(turn) or self.kit.marked_followup(turn) or self._trigger(turn) is rule
        )
        if answers or related:
            return self._run(rule, rule.merge(session.slots, found.slots), found.notes, turn, session)
        other = self._trigger(turn)
        if other is not None and other is not rule:
            return None  # a new rule starts in handle()
        if len(turn.key) <= 6 and not self._question.search(turn.text) and session.reasks < 1:
            session.reasks += 1
            return self._ask(rule, session.awaiting or "", turn, session, hint=True)
        # something else entirely: leave the rule, let retrieval answer
        session.active_rule = session.awaiting = None
        return None

    def _followup(self, turn: Turn, session: Session) -> Reply | None:
        rule_id = session.last_rule
        rule = self._by_id.get(rule_id or "")
        if session.last_faq and session.last_kind == "faq":
            rule = self._rule_of_faq.get(session.last_faq)
        if rule is None or len(turn.key) > self.words.followup_max_chars:
            return None
        if self._not_followup.search(turn.text):
            return None
        # only what this message says counts as a follow-up, not the page's order data
        new = rule.extract(turn.without_page(), None, {}).slots
        # after this rule's reply, facts of the user's own case continue it ("快一个月了吧，11月2号买的")
        own_case = session.last_rule == rule.id and self.kit.has(turn, self.words.personal)
        if not new or not (self.kit.marked_followup(turn) or self._mostly_slots(turn) or own_case):
            return None
        carried = dict(session.slots) if session.last_rule == rule.id else {}
        return self._run(rule, rule.carry(carried, new), [], turn, session)

    # ------------------------------------------------------------------ running a rule, replies

    def _run(self, rule: Rule, slots: dict[str, Any], notes: list[str], turn: Turn, session: Session) -> Reply:
        outcome = rule.decide(slots, turn)
        session.slots = dict(slots)
        session.reasks = 0
        if outcome.missing:
            session.active_rule, session.awaiting = rule.id, outcome.missing[0]
            return self._ask(rule, outcome.missing[0], turn, session, outcome=outcome, notes=notes)
        session.active_rule = session.awaiting = None
        session.last_rule = rule.id
        text = "\n\n".join([*notes, outcome.text])
        return self._reply(turn, outcome, session.slots, text)

    def _ask(
        self,
        rule: Rule,
        slot: str,
        turn: Turn,
        session: Session,
        outcome: Outcome | None = None,
        hint: bool = False,
        notes: list[str] | None = None,
    ) -> Reply:
        outcome = outcome or rule.decide(session.slots, turn)
        texts = self.kit.texts
        lines = [*(notes or []), *([texts.not_understood] if hint else []), rule.ask(slot, outcome), texts.how_to_leave]
        return self._reply(turn, outcome, session.slots, "\n\n".join(lines), reason=Reason.RULE_NEEDS_SLOT)

    def _reply(
        self, turn: Turn, outcome: Outcome, slots: Mapping[str, Any], text: str, reason: str | None = None
    ) -> Reply:
        cites = list(dict.fromkeys(outcome.cites))
        primary = self.kb.by_id[cites[0]]
        result = RuleResult(
            id=outcome.rule,
            decision=outcome.decision,
            dates=(
                DateSpan(earliest=outcome.dates[0].isoformat(), latest=outcome.dates[1].isoformat())
                if outcome.dates
                else None
            ),
            slots=dict(slots),
            missing=outcome.missing,
            cites=[CiteRef(id=c, question=self.kit.questions[c]) for c in cites],
            today=turn.today.isoformat(),
            **outcome.extra,
        )
        return Reply(
            q=turn.raw,
            kind="rule",
            text=text,
            faq=FaqRef.of(primary),
            score=1.0,
            rule=result,
            reason=reason or Reason.RULE.of(outcome.rule),
        )


__all__ = ["Dialogue", "DialogueWords", "Extraction", "load_dialogue_words"]
