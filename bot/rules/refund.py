"""云市场的具体退款规则 applied to one order: refund in the review window, no refund, negotiate, or full refund
for a provider's fault — from the product kind, the purchase day (or month), the service status, the situation.

Facts and sentences: ``knowledge/rules.yaml`` → ``refund``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, Literal, cast

from pydantic import BaseModel

from bot.orders import OrderInfo
from bot.rules.base import Extraction, Outcome, Rule, RuleBase, RuleKit, Texts, Turn, section
from bot.slots import find_order_id, find_word

# what may stand between two product words of one noun phrase: a short modifier ending in 的
_MODIFIER = re.compile(r"[^，,。；;！!？?\s]{0,10}的")

DeliveryType = Literal["manual_service", "image", "api", "saas"]
REFUND_DECISIONS = ("refund_in_window", "no_refund", "negotiate_with_provider", "full_refund_provider_fault")
# a product word right after these is what the user bought ("我买的镜像", "这单是API的")
_PURCHASED = re.compile(r"(?:买的|购买的|买了|下单的|订的|是|属于)\s*(?:一个|个|的)?\s*$")


class Situation(BaseModel):
    id: str
    text: str
    words: list[str]


class Step(BaseModel):
    cite: str
    text: str


class DeliveryFacts(BaseModel):
    label: str
    names: list[str] = []
    cite: str
    quote: str
    words: list[str]
    window_days: int | None = None
    window_until: Literal["service_confirmed"] | None = None
    window_rule: str | None = None  # the quote's statement of the window, as said in a reason
    window_phrase: str | None = None  # the window itself ("自购买之日起至第5天"), as the demo page states it
    refund_quote: str | None = None  # the FAQ line 具体退款规则 gives this kind (answers a general question)
    refundable: bool = True


class RefundWords(BaseModel):
    topic: list[str]
    not_topic: list[str]
    confirmed_yes: list[str]
    confirmed_no: list[str]
    confirmed_no_patterns: list[re.Pattern[str]]
    confirmed_yes_patterns: list[re.Pattern[str]]
    window_passed: list[str]


class RefundFacts(BaseModel):
    cites: list[str]
    delivery_types: dict[DeliveryType, DeliveryFacts]
    provider_faults: list[Situation]
    user_side: list[Situation]
    steps: dict[Literal["in_window", "outside_window", "provider_fault", "no_refund", "platform"], Step]
    words: RefundWords
    texts: Texts


class RefundEligibility(RuleBase):
    """Can this order be refunded, until when, and what to do next."""

    id = "refund_eligibility"

    def __init__(self, facts: RefundFacts, kit: RuleKit) -> None:
        self.facts = facts
        self.kit = kit
        self.texts = facts.texts
        self.offered_by = tuple(facts.cites)

    def cited(self) -> set[str]:
        f = self.facts
        return set(f.cites) | {d.cite for d in f.delivery_types.values()} | {s.cite for s in f.steps.values()}

    def offer(self) -> str | None:
        return self.texts.say("offer")

    # ------------------------------------------------------------------ when

    def triggers(self, turn: Turn) -> bool:
        k, f, w = self.kit, self.facts, self.facts.words
        howto = k.how_to(turn)
        if k.has(turn, w.topic) and not k.has(turn, w.not_topic):
            concrete = bool(k.dates(turn)) or find_order_id(turn.text) is not None
            concrete = concrete or turn.ctx.order is not None
            concrete = concrete or self._situation(turn, f.provider_faults) is not None
            concrete = concrete or self._situation(turn, f.user_side, by_user=True) is not None
            concrete = concrete or k.has(turn, w.window_passed) or self._confirmed(turn) is not None
            return concrete or (not howto and bool(self._delivery_type(turn) or k.has(turn, k.words.order_refs)))
        # a complaint about a purchase: say what the refund rules give
        return (
            not howto
            and self._delivery_type(turn) is not None
            and self._situation(turn, f.provider_faults) is not None
            and not k.has(turn, w.not_topic)
        )

    # ------------------------------------------------------------------ slots

    def _delivery_type(self, turn: Turn) -> DeliveryType | None:
        """The kind of product the message is about: its first product word; in a compound of product
        words — including one joined by a modifier ending in 的 — a service word wins ("小程序定制开发",
        "定制开发的小程序", "网站运维", "网站部署上线的人工服务" are services), otherwise the head (last) word."""
        hits: list[tuple[int, int, DeliveryType, bool]] = []
        text = turn.text
        for phrase in self.kit.words.person:  # "人工客服" is the hotline, not 人工服务: blanked, positions kept
            text = text.replace(phrase, "\u3000" * len(phrase))
        for kind, facts in self.facts.delivery_types.items():
            for w in [*facts.names, *facts.words]:
                pos = find_word(text, w)
                if pos >= 0:
                    hits.append((pos, pos + len(w.replace("…", "")), kind, w in facts.names))
        if not hits:
            return None
        hits.sort(key=lambda h: (h[0], -h[1]))
        run = [hits[0]]
        end = hits[0][1]
        for hit in hits[1:]:
            # "网站部署上线的人工服务": a phrase ending in 的 modifies the product word after it, which is the head
            if hit[0] > end + 2 and not _MODIFIER.fullmatch(turn.text[end : hit[0]]):
                break
            if hit[1] > end:
                end = hit[1]
                run.append(hit)
        named = [h[2] for h in run if h[3]]
        if named:
            return named[-1]
        return "manual_service" if any(h[2] == "manual_service" for h in run) else run[-1][2]

    def _normalise_product_type(self, value: str | None) -> DeliveryType | None:
        if not value:
            return None
        v = self.kit.normalizer.text(value).strip().replace("-", "_").replace(" ", "_")
        if v in self.facts.delivery_types:
            return cast(DeliveryType, v)
        for kind, facts in self.facts.delivery_types.items():
            if any(w in v for w in facts.words):
                return kind
        return None

    def _situation(self, turn: Turn, situations: list[Situation], by_user: bool = False) -> str | None:
        """The first situation the message describes. For provider faults, a match right after 我/我们
        ("我拖了四个月") is the user's own doing and does not count."""
        for s in situations:
            for w in s.words:
                pos = find_word(turn.text, w)
                if pos >= 0 and (by_user or "我" not in turn.text[max(0, pos - 2) : pos]):
                    return s.id
        return None

    def _confirmed(self, turn: Turn) -> bool | None:
        w = self.facts.words
        if self.kit.has(turn, w.confirmed_no) or any(p.search(turn.text) for p in w.confirmed_no_patterns):
            return False
        if self.kit.has(turn, w.confirmed_yes) or any(p.search(turn.text) for p in w.confirmed_yes_patterns):
            return True
        return None

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

    def _page_order(self, turn: Turn) -> tuple[dict[str, Any], str]:
        """The slots of the order the page shows (stored order data, then the page's own fields) and its product
        name (normalised, for telling whether a product word in the message names this very product)."""
        if not turn.ctx.order:
            return {}, ""
        ctx_order = OrderInfo.model_validate(turn.ctx.order)
        orders = self.kit.orders
        stored = orders.get(ctx_order.id) if (orders and ctx_order.id) else None
        slots: dict[str, Any] = {}
        if stored is not None:
            slots.update(self._order_slots(stored))
        slots.update(self._order_slots(ctx_order))
        name = ctx_order.product_name or (stored.product_name if stored is not None else None) or ""
        return slots, self.kit.normalizer.text(name)

    def _contradicts(
        self,
        page: dict[str, Any],
        product: str,
        kind: DeliveryType | None,
        iso: str | None,
        between: tuple[date, date] | None,
        turn: Turn,
    ) -> list[str]:
        """What the message says that the page's order contradicts: its kind of product (unless the message points
        at this very order, or the product word is part of its name: "这个小程序" on a 小程序定制开发 page), its
        purchase day or month."""
        differs = []
        if kind and page.get("delivery_type") and kind != page["delivery_type"]:
            facts = self.facts.delivery_types[kind]
            words = [w for w in facts.words if find_word(turn.text, w) >= 0]
            pointed = self.kit.has(turn, self.kit.words.this_order) or (page.get("order_id") or "\0") in turn.text
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

    def _other_order_note(self, page: dict[str, Any], differs: list[str]) -> str:
        t, kinds = self.texts, self.facts.delivery_types
        facts = []
        if page.get("order_id"):
            facts.append(t.say("page_order_id", id=page["order_id"]))
        if page.get("delivery_type") in kinds:
            facts.append(kinds[page["delivery_type"]].label)
        if page.get("purchased_on"):
            facts.append(t.say("page_order_bought", day=page["purchased_on"]))
        said = t.say("list_joiner").join(t.say(f"said_{d}") for d in differs)
        return t.say("other_order", said=said, order=t.say("fact_joiner").join(facts))

    def extract(self, turn: Turn, awaiting: str | None, held: Mapping[str, Any]) -> Extraction:
        k, f = self.kit, self.facts
        found = Extraction()
        slots = found.slots
        other_order, unknown_order = None, None
        iso, invalid = k.first_date(turn)
        kind = self._delivery_type(turn)
        between = None if iso or invalid else k.month_range(turn)
        page, product = self._page_order(turn)
        if page and held.get("other_order"):
            page = {}  # the user already said they mean another purchase
        elif page:
            differs = self._contradicts(page, product, kind, iso, between, turn)
            if differs:
                # The message is about another purchase than the page's order: decide on what the user said,
                # never on the page's facts they contradicted (and say so).
                other_order = self._other_order_note(page, differs)
                slots["other_order"] = True
                page = {}
        slots.update(page)
        order_id = find_order_id(turn.text)
        if order_id and order_id != slots.get("order_id"):
            stored = k.orders.get(order_id) if k.orders else None
            if stored is None:
                unknown_order = k.texts.unknown_order.format(id=order_id)
            else:
                slots.update(self._order_slots(stored))
        # A product word names the kind unless the page's order (which it does not contradict) already does.
        if kind and (not slots.get("delivery_type") or k.marked_followup(turn)):
            slots["delivery_type"] = kind
        if iso:
            slots["purchased_on"] = iso
        elif between:
            slots["purchased_between"] = [between[0].isoformat(), between[1].isoformat()]
        confirmed = self._confirmed(turn)
        if confirmed is None and awaiting == "service_confirmed":
            confirmed = k.yes_no(turn)
        if confirmed is not None:
            slots["service_confirmed"] = confirmed
        if k.has(turn, f.words.window_passed):
            slots["window_passed"] = True
        fault = self._situation(turn, f.provider_faults)
        if fault:
            slots["provider_fault"] = fault
        user = self._situation(turn, f.user_side, by_user=True)
        if user:
            slots["user_side"] = user
        found.notes = [n for n in (other_order, unknown_order, invalid and k.invalid_date_note(invalid)) if n]
        found.rejected = bool(unknown_order or invalid)
        return found

    def merge(self, held: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
        """A purchase day and a purchase month replace each other; a different purchase than the order held so far
        is another order (its id and status go)."""
        merged = dict(held)
        day, month = new.get("purchased_on"), new.get("purchased_between")
        if (day and day != held.get("purchased_on")) or (month and month != held.get("purchased_between")):
            if held.get("order_id") and not new.get("order_id"):
                for key in ("order_id", "service_confirmed"):
                    merged.pop(key, None)
            merged.pop("purchased_between" if day else "purchased_on", None)
        return {**merged, **new}

    def carry(self, held: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
        carried = dict(held)
        if "delivery_type" in new and new["delivery_type"] != carried.get("delivery_type"):
            carried.pop("service_confirmed", None)  # a different kind of product: the old status is moot
            carried.pop("order_id", None)
        for situation in ("provider_fault", "user_side"):
            if situation not in new:
                carried.pop(situation, None)
        return self.merge(carried, new)

    # ------------------------------------------------------------------ a general question

    def policy(self, turn: Turn, slots: Mapping[str, Any]) -> Outcome | None:
        """ "SaaS 几天内可以无理由退款": the kind's review window and refund rule as the FAQ states them, with the
        offer to work out the user's own order — unless the message carries facts of an order (a date, an order,
        the page's order, a situation, a service status) or points at one."""
        k = self.kit
        own = {"purchased_on", "purchased_between", "order_id", "service_confirmed"}
        if own & set(slots) or turn.ctx.order is not None or k.has(turn, k.words.order_refs) or k.dates(turn):
            return None
        if {"provider_fault", "user_side"} & set(slots):
            return self._situation_policy(turn, slots)
        if slots.get("window_passed"):
            # "复议期过了还能退款吗", no kind and no order of their own: what the FAQ says outside the window
            personal = k.has(turn, k.words.personal)
            return None if personal or slots.get("delivery_type") else self._outside_policy()
        kind_id = slots.get("delivery_type")
        if kind_id not in self.facts.delivery_types:
            return None
        kind = self.facts.delivery_types[kind_id]
        if not kind.refundable or kind.refund_quote is None:
            return None  # "镜像能退吗": the decision itself (no refund) is the fact
        t, cites = self.texts, [kind.cite]
        lines = [
            t.say("policy_head", label=kind.label),
            "",
            t.say("policy_window", quote=kind.quote),
            t.say("policy_rule", quote=kind.refund_quote),
            t.say("policy_outside"),
            "",
            self.cite_line(cites),
            "",
            t.say("offer"),
        ]
        return Outcome(self.id, "policy", "\n".join(lines), cites)

    def _outside_policy(self) -> Outcome:
        """After the review window, kind by kind as the FAQ states it, then what happens outside it."""
        t, kinds = self.texts, self.facts.delivery_types.values()
        by_quote: dict[str, list[str]] = {}
        for kind in kinds:
            quote = kind.refund_quote if kind.refundable and kind.refund_quote else kind.quote
            by_quote.setdefault(quote, []).append(kind.label)
        lines = [t.say("policy_outside_head"), ""]
        lines += [t.say("policy_kind", labels="、".join(labels), quote=quote) for quote, labels in by_quote.items()]
        cites = sorted({kind.cite for kind in kinds})
        lines += [t.say("policy_outside"), "", self.cite_line(cites), "", t.say("offer")]
        return Outcome(self.id, "policy", "\n".join(lines), cites)

    def _situations(self, fault_id: str | None, user_id: str | None) -> tuple[Situation | None, Situation | None]:
        """The provider fault and the user-side situation named by their ids (None for none)."""
        f = self.facts
        fault = next((x for x in f.provider_faults if x.id == fault_id), None)
        return fault, next((x for x in f.user_side if x.id == user_id), None)

    def _situation_lines(self, fault: Situation | None, user: Situation | None) -> list[str]:
        """What the FAQ says of a provider fault and of a user-side case, a line each."""
        t = self.texts
        lines = [t.say("policy_fault", situation=fault.text)] if fault is not None else []
        return lines + ([t.say("policy_user_side", situation=user.text)] if user is not None else [])

    def _situation_policy(self, turn: Turn, slots: Mapping[str, Any]) -> Outcome | None:
        """ "付款后多久没提需求就不能全额退": what the FAQ says of that situation — unless the user tells their own
        story ("我们…服务商一直拖着"), which the decision takes."""
        k, f, t = self.kit, self.facts, self.texts
        if k.has(turn, k.words.personal) or slots.get("delivery_type"):
            return None
        lines = self._situation_lines(*self._situations(slots.get("provider_fault"), slots.get("user_side")))
        cites = [f.cites[0]]
        lines += ["", self.cite_line(cites), "", t.say("offer")]
        return Outcome(self.id, "policy", "\n".join(lines), cites)

    # ------------------------------------------------------------------ decide

    def ask(self, slot: str, outcome: Outcome) -> str:
        t = self.texts
        if slot == "purchased_on":
            prefix = t.say("ask_future_date") if outcome.extra.get("invalid") == "future_date" else ""
            return prefix + t.say("ask_purchased_on", days=self.facts.delivery_types["saas"].window_days)
        situation = outcome.extra.get("situation")  # one id, of a provider fault or a user-side case
        told = self._situation_lines(*self._situations(situation, situation))
        return "\n\n".join([*told, t.say(f"ask_{slot}")])

    def decide(self, slots: Mapping[str, Any], turn: Turn) -> Outcome:
        between = slots.get("purchased_between")
        outcome = self._decide(
            slots.get("delivery_type"),
            date.fromisoformat(slots["purchased_on"]) if slots.get("purchased_on") else None,
            (date.fromisoformat(between[0]), date.fromisoformat(between[1])) if between else None,
            slots.get("service_confirmed"),
            slots.get("window_passed"),
            slots.get("provider_fault"),
            slots.get("user_side"),
            turn.today,
        )
        if self.kit.how_to(turn) and outcome.decision:
            # the user asked how: the steps (已购买的云市场商品如何退款？) are the main content
            cites = list(dict.fromkeys(outcome.cites))
            steps = [c for c in cites if c in self.facts.cites[1:]]
            outcome.cites = steps + [c for c in cites if c not in steps]
        return outcome

    def _decide(
        self,
        delivery_type: DeliveryType | None,
        purchased_on: date | None,
        purchased_between: tuple[date, date] | None,
        service_confirmed: bool | None,
        window_passed: bool | None,
        provider_fault: str | None,
        user_side: str | None,
        today: date,
    ) -> Outcome:
        f, t = self.facts, self.texts
        cites = list(f.cites)
        fault, user = self._situations(provider_fault, user_side)
        if delivery_type is None:
            # "服务商倒闭了，我能全额退吗": the question for the kind comes with what the FAQ says of the situation
            told = fault or user
            extra = {"situation": told.id} if told else {}
            return Outcome(self.id, None, "", cites, missing=["delivery_type"], extra=extra)
        kind = f.delivery_types[delivery_type]
        step = f.steps

        def done(
            decision: str | None,
            head: str,
            reason: str,
            nxt: Step,
            dates: tuple[date, date] | None = None,
            window: str | None = None,
            **extra: Any,
        ) -> Outcome:
            lines = [t.say("head", head=head), "", t.say("line_reason", reason=reason)]
            if window:
                lines.append(t.say("line_window", window=window))
            lines += [t.say("line_next", step=nxt.text), "", self.cite_line([*cites, nxt.cite])]
            return Outcome(self.id, decision, "\n".join(lines), [*cites, nxt.cite], dates=dates, extra=extra)

        label = kind.label
        if not kind.refundable:
            if fault is not None:
                return done(
                    None,
                    t.say("platform_head"),
                    t.say("platform_reason", label=label, quote=kind.quote, fault=fault.text.rstrip("。")),
                    step["platform"],
                    ambiguous=True,
                    route="platform",
                )
            own_line = kind.refund_quote or kind.quote
            reason = t.say("no_refund_reason", label=label, quote=kind.quote, refund_quote=own_line)
            return done("no_refund", t.say("no_refund_head"), reason, step["no_refund"])
        if fault is not None:
            return done(
                "full_refund_provider_fault",
                t.say("fault_head"),
                t.say("fault_reason", fault=fault.text.rstrip("。")),
                step["provider_fault"],
                situation=fault.id,
            )
        if user is not None:
            return done(
                "negotiate_with_provider",
                t.say("user_side_head"),
                t.say("user_side_reason", situation=user.text.rstrip("。")),
                step["outside_window"],
                situation=user.id,
            )
        if kind.window_days is not None:  # a fixed window counted from the purchase day
            days = kind.window_days
            if purchased_on is None and purchased_between is not None:
                first, last_day = purchased_between
                latest_end = last_day + timedelta(days=days - 1)
                if today > latest_end:  # even a purchase on the month's last day is past its window
                    return done(
                        "negotiate_with_provider",
                        t.say("outside_head"),
                        t.say("range_reason", first=first.isoformat(), last=last_day.isoformat(), label=label,
                              rule=kind.window_rule, today=today.isoformat()),
                        step["outside_window"],
                        window=t.say("range_window", end=latest_end.isoformat(), last=last_day.isoformat(), days=days),
                    )  # fmt: skip
                return Outcome(self.id, None, "", cites, missing=["purchased_on"])
            if purchased_on is None:
                if window_passed:
                    return done(
                        "negotiate_with_provider",
                        t.say("outside_head"),
                        t.say("window_passed_reason", label=label, quote=kind.quote, refund_quote=kind.refund_quote),
                        step["outside_window"],
                    )
                return Outcome(self.id, None, "", cites, missing=["purchased_on"])
            if purchased_on > today:
                return Outcome(self.id, None, "", cites, missing=["purchased_on"], extra={"invalid": "future_date"})
            last = purchased_on + timedelta(days=days - 1)
            window = t.say("window", first=purchased_on.isoformat(), last=last.isoformat(), days=days)
            if today <= last:
                left = (last - today).days
                remaining = t.say("days_left", left=left) if left else t.say("last_day")
                return done(
                    "refund_in_window",
                    t.say("in_window_head", last=last.isoformat()),
                    t.say("in_window_reason", label=label, quote=kind.quote, today=today.isoformat(),
                          remaining=remaining),
                    step["in_window"],
                    dates=(purchased_on, last),
                    window=window,
                )  # fmt: skip
            return done(
                "negotiate_with_provider",
                t.say("expired_head", last=last.isoformat()),
                t.say("expired_reason", label=label, quote=kind.quote, refund_quote=kind.refund_quote,
                      today=today.isoformat()),
                step["outside_window"],
                dates=(purchased_on, last),
                window=window,
            )  # fmt: skip
        # window until the service is confirmed complete
        if service_confirmed is None:
            if not window_passed:
                return Outcome(self.id, None, "", cites, missing=["service_confirmed"])
            service_confirmed = True
        if not service_confirmed:
            return done(
                "refund_in_window",
                t.say("service_open_head"),
                t.say("service_open_reason", label=label, rule=kind.window_rule),
                step["in_window"],
                window=t.say("service_window"),
            )
        return done(
            "negotiate_with_provider",
            t.say("service_done_head"),
            t.say("service_done_reason", label=label),
            step["outside_window"],
        )


def build(data: Mapping[str, Any], kit: RuleKit) -> list[Rule]:
    return [RefundEligibility(section(data, "refund", RefundFacts), kit)]
