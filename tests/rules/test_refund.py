"""Refund eligibility: the decision table through the JSON contract, and natural-language variants.

The table (tests/data/refund_decision_table.jsonl) covers every branch and boundary of
云市场的具体退款规则: day 5 vs day 6 of the SaaS window, month ends, 2028-02-29, the year end,
manual services before/after confirmation, each provider fault and user-side case, API/image,
the ambiguous provider-fault-on-API case, missing and invalid slots, and orders from the database.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.engine import AnswerEngine
from bot.rules.refund import REFUND_DECISIONS
from tests.helpers import DATA, batch_replies

TABLE = [json.loads(line) for line in (DATA / "refund_decision_table.jsonl").read_text(encoding="utf-8").splitlines()]
REFUND_RULES_Q = "云市场的具体退款规则是什么？"


def check_table_row(row: dict[str, Any], reply: dict[str, Any]) -> None:
    expect = row["expect"]
    assert reply["kind"] == "rule", reply
    rule = reply["rule"]
    assert rule["id"] == "refund_eligibility"
    assert rule["decision"] == expect["decision"], (row["name"], rule, reply["text"])
    assert rule["decision"] is None or rule["decision"] in REFUND_DECISIONS
    latest = (rule["dates"] or {}).get("latest")
    assert latest == expect["latest"], (row["name"], rule)
    if "missing" in expect:
        assert (
            rule["missing"][: len(expect["missing"]) or None] == expect["missing"]
            or rule["missing"] == expect["missing"]
        ), (row["name"], rule)
    if rule["decision"] is None:
        assert rule["missing"] or rule.get("route") == "platform", rule
    for key in ("situation", "route"):
        if key in expect:
            assert rule.get(key) == expect[key], (row["name"], rule)
    if "other_order" in expect:  # the message contradicts the page's order: decided on what the user said
        assert bool(rule["slots"].get("other_order")) == expect["other_order"], (row["name"], rule)
        order = row["context"]["order"]
        assert (order["id"] in reply["text"]) == expect["other_order"], (row["name"], reply["text"])
    assert {"id": "refund-rules", "question": REFUND_RULES_Q} in rule["cites"]
    assert reply["faq"]["question"] in {c["question"] for c in rule["cites"]}
    if expect["latest"]:
        assert expect["latest"] in reply["text"]  # the window's last day is stated
    if rule["decision"] == "refund_in_window":
        assert "已购产品与服务" in reply["text"] and "退款" in reply["text"]
    if rule["decision"] == "negotiate_with_provider":
        assert "联系服务商" in reply["text"] and "截图" in reply["text"] and "工单" in reply["text"]
    if rule.get("route") == "platform":
        assert "工单" in reply["text"] and "转人工" in reply["text"]  # a ticket, or a person at once


def test_table_is_large_and_covers_every_decision() -> None:
    assert len(TABLE) >= 40
    assert {r["expect"]["decision"] for r in TABLE} == {*REFUND_DECISIONS, None}
    assert len({r["name"] for r in TABLE}) == len(TABLE)


@pytest.mark.parametrize("row", TABLE, ids=[r["name"] for r in TABLE])
def test_decision_table_through_the_json_contract(engine: AnswerEngine, row: dict[str, Any]) -> None:
    reply = json.loads(engine.answer(row["q"], row["context"]).model_dump_json())
    check_table_row(row, reply)


@pytest.mark.integration
def test_decision_table_through_the_cli_batch(cli_env: dict[str, str]) -> None:
    replies = batch_replies([{"q": r["q"], "context": r["context"]} for r in TABLE], cli_env)
    assert len(replies) == len(TABLE)
    for row, reply in zip(TABLE, replies, strict=True):
        check_table_row(row, reply)


def test_unknown_order_id_is_said_and_the_missing_slot_asked(engine: AnswerEngine) -> None:
    reply = engine.answer("订单号 9999999999999 能退款吗", {"today": "2026-11-30"})
    assert reply.kind == "rule" and reply.rule is not None
    assert "9999999999999" in reply.text and reply.rule.missing == ["delivery_type"]


@pytest.mark.parametrize(
    "order",
    [
        {"id": "x", "purchased_on": "yesterday"},
        {"id": "x", "service_confirmed": "maybe"},
        {"id": ["not", "a", "string"]},
    ],
)
def test_invalid_context_order_gets_a_clear_answer(engine: AnswerEngine, order: dict[str, Any]) -> None:
    reply = engine.answer("这个订单能退吗", {"today": "2026-11-30", "order": order})
    assert reply.kind == "fallback" and reply.reason == "bad_context" and "order" in reply.text


def test_invalid_today_gets_a_clear_answer(engine: AnswerEngine) -> None:
    for today in ("2026-13-01", "30/11/2026", "tomorrow"):
        reply = engine.answer("这个订单能退吗", {"today": today})
        assert reply.reason == "bad_context" and "today" in reply.text


# Natural-language variants written by helpers from the FAQ's rules, independently of the code. Every field a
# case expects is compared (the decision, the product kind, the window's last day, the route), and each set is
# gated at exactly what the current build gets right, field by field: a lost case fails.
VARIANT_SETS: dict[str, dict[str, int]] = {
    # dev sets: their misses shaped the phrase lists
    "refund_variants.jsonl": {"decision": 80, "delivery_type": 80, "latest": 80},
    "refund_variants_2.jsonl": {"decision": 70, "delivery_type": 70, "latest": 70},
    "refund_variants_3.jsonl": {"decision": 60, "delivery_type": 59, "latest": 59, "route": 2},
    "refund_variants_4.jsonl": {"decision": 60, "delivery_type": 59, "latest": 59},
    # not used to change the code (scored after each change, as regression sets)
    "refund_variants_holdout.jsonl": {"decision": 45, "delivery_type": 45, "latest": 45},
    "refund_variants_holdout_3.jsonl": {"decision": 58, "delivery_type": 57, "latest": 60},
}


def _got(reply: Any, field: str) -> Any:
    rule = reply.rule
    if rule is None:
        return None
    if field == "delivery_type":
        return rule.slots.get("delivery_type")
    if field == "latest":
        return rule.dates.latest if rule.dates else None
    return getattr(rule, field)


@pytest.mark.slow
@pytest.mark.parametrize("name", VARIANT_SETS)
def test_natural_language_variants_reach_the_same_decision(engine: AnswerEngine, name: str) -> None:
    cases = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(cases) >= 40
    fields = {field for case in cases for field in case["expect"]}
    assert fields == set(VARIANT_SETS[name]), fields  # every field the file carries is compared
    right = dict.fromkeys(fields, 0)
    misses = []
    for case in cases:
        reply = engine.answer(case["q"], case["context"])
        for field, expected in case["expect"].items():
            if _got(reply, field) == expected:
                right[field] += 1
            else:
                misses.append((field, case["q"], expected, _got(reply, field)))
    for field, least in VARIANT_SETS[name].items():
        assert right[field] >= least, (name, field, right, misses)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("买了网站部署上线的人工服务，能退吗", "manual_service"),  # a modifier ending in 的: the head names the kind
        ("定制开发的小程序想退款", "manual_service"),
        ("买的建站模板想退款", "saas"),
        ("网站的镜像能退吗", "image"),
    ],
)
def test_the_product_word_at_the_head_of_a_phrase_names_the_kind(engine: AnswerEngine, message: str, kind: str) -> None:
    reply = engine.answer(message, {"today": "2026-12-02"})
    assert reply.rule is not None and reply.rule.slots.get("delivery_type") == kind, (reply.reason, reply.rule)


def test_a_situation_without_the_kind_is_stated_before_the_kind_is_asked(engine: AnswerEngine) -> None:
    """ "服务商倒闭了，我能全额退吗": the FAQ's sentence on that situation, then the question for the product kind."""
    reply = engine.answer("服务商公司倒闭了，我能全额退款吗")
    assert reply.rule is not None and reply.rule.missing == ["delivery_type"] and reply.rule.situation
    assert "因服务商公司破产、倒闭、转型等导致的业务终止" in reply.text
    assert reply.text.index("业务终止") < reply.text.index("哪类商品")


def test_no_refund_for_an_image_quotes_the_kinds_own_line(engine: AnswerEngine) -> None:
    reply = engine.answer("镜像商品为什么不能退款")
    assert reply.rule is not None and reply.rule.decision == "no_refund"
    assert "因云市场的镜像商品均为免费售卖" in reply.text


def test_a_complaint_that_asks_whom_to_contact_gets_the_faq_not_a_refund_decision(engine: AnswerEngine) -> None:
    """A product kind and a provider fault without a refund word is a complaint the refund rule answers — unless
    it asks whom to turn to ("该找谁"): that is the FAQ's entry on an unreachable provider. With a refund word it
    is the rule's again."""
    contact = engine.answer("买的建站服务付了钱服务商就联系不上了，这种情况找谁")
    assert contact.kind == "faq" and contact.rule is None, (contact.kind, contact.reason)
    assert contact.faq is not None and contact.faq.id == "provider-unreachable"
    refund = engine.answer("买的建站服务付了钱服务商就联系不上了，找谁退款")
    assert refund.kind == "rule" and refund.rule is not None
