"""Rules: the FAQ's facts (``knowledge/rules.yaml``) applied to a user's own case.

Each rule is a small typed function ``(facts, slots, today/calendar) → Outcome``. The numbers live in
the data only; the functions hold the logic and the wording around the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError, model_validator

from bot.errors import RulesError, first_error
from bot.workdays import WorkCalendar

DeliveryType = Literal["manual_service", "image", "api", "saas"]
REFUND_DECISIONS = ("refund_in_window", "no_refund", "negotiate_with_provider", "full_refund_provider_fault")


# ---------------------------------------------------------------------------------------------- facts


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
    refundable: bool = True


class RefundFacts(BaseModel):
    cites: list[str]
    delivery_types: dict[DeliveryType, DeliveryFacts]
    provider_faults: list[Situation]
    user_side: list[Situation]
    steps: dict[Literal["in_window", "outside_window", "provider_fault", "no_refund", "platform"], Step]


class TimelineFacts(BaseModel):
    label: str
    slot: str
    start: str
    unit: Literal["working_days", "calendar_days"]
    max: int
    min: int | None = None
    estimate: bool = False
    on_day: bool = False
    cite: str
    quote: str
    ask: str
    topic: list[str]
    asks: list[str]
    note: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> TimelineFacts:
        if self.min is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class PostageFacts(BaseModel):
    threshold_yuan: Decimal
    cite: str
    quote: str
    topic: list[str]
    invoice_words: list[str]
    at_or_above: str
    below: str
    note: str
    ask: str


class ExitCondition(BaseModel):
    id: str
    label: str
    ask: str
    words: list[str]


class ExitFacts(BaseModel):
    cite: str
    topic: list[str]
    asks: list[str]
    conditions: list[ExitCondition]
    next_step: str


class EligibilityFacts(BaseModel):
    cites: list[str]
    individual_quote: str
    individual_words: list[str]
    not_individual: list[str]
    asks: list[str]
    enterprise_words: list[str]
    topic: list[str]
    documents: list[str]
    documents_quote: str
    documents_note: str


class QuotaFacts(BaseModel):
    per_region: int
    cite: str
    quote: str
    topic: list[str]
    asks: list[str]


class RuleFacts(BaseModel):
    refund: RefundFacts
    timelines: dict[str, TimelineFacts]
    invoice_postage: PostageFacts
    provider_exit: ExitFacts
    provider_eligibility: EligibilityFacts
    custom_image_quota: QuotaFacts

    def cited_entries(self) -> set[str]:
        cites = set(self.refund.cites) | set(self.provider_eligibility.cites)
        cites |= {d.cite for d in self.refund.delivery_types.values()} | {s.cite for s in self.refund.steps.values()}
        cites |= {t.cite for t in self.timelines.values()}
        cites |= {self.invoice_postage.cite, self.provider_exit.cite, self.custom_image_quota.cite}
        return cites


def load_rule_facts(path: Path) -> RuleFacts:
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        return RuleFacts.model_validate(raw)
    except OSError as exc:
        raise RulesError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise RulesError(f"{path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        raise RulesError(f"{path}: {first_error(exc.errors())}") from exc


# ---------------------------------------------------------------------------------------------- outcome


@dataclass
class Outcome:
    """What a rule decided (or which slots it still needs), in words and as data."""

    rule: str
    decision: str | None
    text: str
    cites: list[str]
    dates: tuple[date, date] | None = None
    missing: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _fmt(d: date) -> str:
    return d.isoformat()


def _quote_line(cites: list[str], questions: dict[str, str]) -> str:
    return "依据：" + "、".join(f"「{questions[c]}」" for c in dict.fromkeys(cites) if c in questions)


# ---------------------------------------------------------------------------------------------- refund


@dataclass
class RefundSlots:
    delivery_type: DeliveryType | None = None
    purchased_on: date | None = None
    purchased_between: tuple[date, date] | None = None  # only the month (or year) is known: "10月买的"
    service_confirmed: bool | None = None
    window_passed: bool | None = None  # the user said so ("已经过了复议期")
    provider_fault: str | None = None
    user_side: str | None = None


def refund_eligibility(f: RefundFacts, s: RefundSlots, today: date, questions: dict[str, str]) -> Outcome:
    """云市场的具体退款规则 applied to one order."""
    cites = list(f.cites)
    if s.delivery_type is None:
        return Outcome("refund_eligibility", None, "", cites, missing=["delivery_type"])
    kind = f.delivery_types[s.delivery_type]
    fault = next((x for x in f.provider_faults if x.id == s.provider_fault), None)
    user = next((x for x in f.user_side if x.id == s.user_side), None)
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
        lines = [f"**{head}**", "", f"- 原因：{reason}"]
        if window:
            lines.append(f"- 复议期：{window}")
        lines += [f"- 下一步：{nxt.text}", "", _quote_line([*cites, nxt.cite], questions)]
        return Outcome("refund_eligibility", decision, "\n".join(lines), [*cites, nxt.cite], dates=dates, extra=extra)

    if not kind.refundable:
        if fault is not None:
            return done(
                None,
                "这种情况 FAQ 没有明确规定，需要由云市场平台判断。",
                f"FAQ 一方面写明{kind.label}“{kind.quote}”，另一方面又写明服务商出现“{fault.text.rstrip('。')}”等情况"
                "均支持全额退款，两条规则对这种情况的结论不同，我不能替平台下结论。",
                step["platform"],
                ambiguous=True,
                route="platform",
            )
        return done(
            "no_refund",
            "不支持退款。",
            f"您购买的是{kind.label}，按 FAQ：“{kind.quote}”。",
            step["no_refund"],
        )
    if fault is not None:
        return done(
            "full_refund_provider_fault",
            "可以全额退款。",
            f"服务商出现“{fault.text.rstrip('。')}”的情况，FAQ 写明此类情况均支持全额退款，不受复议期限制。",
            step["provider_fault"],
            situation=fault.id,
        )
    if user is not None:
        return done(
            "negotiate_with_provider",
            "不支持全额退款，可与服务商协商退款金额。",
            f"FAQ 写明用户存在“{user.text.rstrip('。')}”的，不支持全额退款；退款金额以双方协商一致为准。",
            step["outside_window"],
            situation=user.id,
        )
    if kind.window_days is not None:  # a fixed window counted from the purchase day
        if s.purchased_on is None and s.purchased_between is not None:
            first, last_day = s.purchased_between
            latest_end = last_day + timedelta(days=kind.window_days - 1)
            if today > latest_end:  # even a purchase on the month's last day is past its window
                days = kind.window_days
                window = f"最晚到 {_fmt(latest_end)}（即使是 {_fmt(last_day)} 购买，购买当天算第 1 天，共 {days} 天）"
                return done(
                    "negotiate_with_provider",
                    "已超出复议期，不支持全额退款，可与服务商协商。",
                    f"您是在 {_fmt(first)} 至 {_fmt(last_day)} 之间购买的，{kind.label}{kind.quote.split('（')[0]}。"
                    f"今天是 {_fmt(today)}，已超出复议期；复议期外退款由服务商与您协商，将双方共同认可的金额退还给您。",
                    step["outside_window"],
                    window=window,
                )
            return Outcome("refund_eligibility", None, "", cites, missing=["purchased_on"])
        if s.purchased_on is None:
            if s.window_passed:
                return done(
                    "negotiate_with_provider",
                    "已超出复议期，不支持全额退款，可与服务商协商。",
                    f"{kind.label}的复议期为{kind.quote.split('，')[0]}；复议期外的退款由服务商与您协商，"
                    "将双方共同认可的金额退还给您。",
                    step["outside_window"],
                )
            return Outcome("refund_eligibility", None, "", cites, missing=["purchased_on"])
        if s.purchased_on > today:
            return Outcome(
                "refund_eligibility", None, "", cites, missing=["purchased_on"], extra={"invalid": "future_date"}
            )
        last = s.purchased_on + timedelta(days=kind.window_days - 1)
        window = f"{_fmt(s.purchased_on)} 至 {_fmt(last)}（购买当天算第 1 天，共 {kind.window_days} 天）"
        if today <= last:
            left = (last - today).days
            return done(
                "refund_in_window",
                f"可以退款：您的订单还在复议期内，请在 {_fmt(last)} 前申请。",
                f"{kind.label}{kind.quote.split('（')[0]}，复议期内支持无理由退款。今天是 {_fmt(today)}，"
                + (f"还剩 {left} 天。" if left else "今天是复议期最后一天。"),
                step["in_window"],
                dates=(s.purchased_on, last),
                window=window,
            )
        return done(
            "negotiate_with_provider",
            f"已超出复议期（{_fmt(last)} 结束），不支持全额退款，可与服务商协商。",
            f"{kind.label}{kind.quote.split('（')[0]}。今天是 {_fmt(today)}，已超出复议期；"
            "复议期外退款由服务商与您协商，"
            "将双方共同认可的金额退还给您。",
            step["outside_window"],
            dates=(s.purchased_on, last),
            window=window,
        )
    # window until the service is confirmed complete
    if s.service_confirmed is None:
        if s.window_passed:
            s.service_confirmed = True
        else:
            return Outcome("refund_eligibility", None, "", cites, missing=["service_confirmed"])
    if not s.service_confirmed:
        return done(
            "refund_in_window",
            "可以退款：服务尚未确认完成，仍在复议期内，可申请部分或全额退款。",
            f"按 FAQ，{kind.label}“{kind.quote.split('，', 1)[1]}”，期间支持部分或全额退款。",
            step["in_window"],
            window="自购买之日起至服务确认完成前",
        )
    return done(
        "negotiate_with_provider",
        "服务已确认完成，已超出复议期，不支持全额退款，可与服务商协商。",
        f"{kind.label}的复议期到服务确认完成为止；超出复议期的不支持全额退款，退款金额由您与服务商协商。",
        step["outside_window"],
    )


# ---------------------------------------------------------------------------------------------- timelines


def timeline(name: str, f: TimelineFacts, start: date, today: date, questions: dict[str, str]) -> Outcome:
    """When something started on ``start`` should be done, as concrete dates."""
    cal = WorkCalendar()  # per call: it records which years it had to approximate

    def add(n: int) -> date:
        return cal.add_workdays(start, n) if f.unit == "working_days" else start + timedelta(days=n)

    unit = "个工作日" if f.unit == "working_days" else "天"
    latest = add(f.max)
    if f.min is not None:
        earliest, span = add(f.min), f"{f.min} - {f.max} {unit}"
        when = f"预计在 **{_fmt(earliest)} 至 {_fmt(latest)}** 之间"
    elif f.on_day:
        earliest, span = latest, f"{f.max} {unit}"
        when = f"{'预计' if f.estimate else ''}在 **{_fmt(latest)}**"
    else:
        earliest, span = start, f"{f.max} {unit}内"
        when = f"最晚在 **{_fmt(latest)}**"
    lines = [f"{f.label}：{f.start}日期为 {_fmt(start)}，按 FAQ“{f.quote}”（{span}），{when}完成。"]
    if today > latest:
        decision = "overdue"
        lines.append(f"今天是 {_fmt(today)}，已超过这个时间，建议联系对应的服务商或提交工单查询进度。")
    else:
        decision = "pending"
        lines.append(f"今天是 {_fmt(today)}，距离 {_fmt(latest)} 还有 {(latest - today).days} 天。")
    if f.unit == "working_days":
        lines.append("工作日按国家法定节假日和调休安排计算。")
    note = cal.approximation_note()
    if note:
        lines.append(note)
    if f.note:
        lines.append(f.note)
    lines.append(_quote_line([f.cite], questions))
    extra: dict[str, Any] = {"start": _fmt(start), "calendar": "approximate" if note else "official"}
    return Outcome(name, decision, "\n\n".join(lines), [f.cite], dates=(earliest, latest), extra=extra)


# ---------------------------------------------------------------------------------------------- invoice postage


def invoice_postage(f: PostageFacts, amount: Decimal, questions: dict[str, str]) -> Outcome:
    threshold = f.threshold_yuan
    shown = f"{amount.normalize():f}"
    if amount >= threshold:
        decision, rule_text = "provider_pays", f.at_or_above.format(threshold=threshold)
        head = f"票面金额 {shown} 元 ≥ {threshold} 元：由服务商付费邮寄，您不需要承担快递费。"
    else:
        decision, rule_text = "cash_on_delivery_allowed", f.below.format(threshold=threshold)
        head = f"票面金额 {shown} 元 < {threshold} 元：服务商可以采用到付方式，快递费可能需要您到付。"
    text = "\n".join(
        [f"**{head}**", "", f"- 规则：{rule_text}", f"- 注意：{f.note}", "", _quote_line([f.cite], questions)]
    )
    return Outcome("invoice_postage", decision, text, [f.cite], extra={"amount": shown})


# ---------------------------------------------------------------------------------------------- provider exit


def exit_check(f: ExitFacts, status: dict[str, bool | None], questions: dict[str, str]) -> Outcome:
    """Which of the exit conditions are not met; asks for the unknown ones one at a time."""
    unmet = [c for c in f.conditions if status.get(c.id) is False]
    unknown = [c for c in f.conditions if status.get(c.id) is None]
    extra: dict[str, Any] = {"unmet": [c.id for c in unmet], "unchecked": [c.id for c in unknown]}
    cite_line = _quote_line([f.cite], questions)
    if unmet:
        lines = ["**暂不满足退出条件。** 以下条件未满足："] + [f"- ✗ {c.label}" for c in unmet]
        if unknown:
            lines += ["", "另外还请自查："] + [f"- ? {c.label}" for c in unknown]
        lines += ["", "全部满足后，可在服务商控制台“查看退出条件结果”复核，再申请退出。", "", cite_line]
        return Outcome("provider_exit_check", "exit_conditions_not_met", "\n".join(lines), [f.cite], extra=extra)
    if unknown:
        return Outcome("provider_exit_check", None, "", [f.cite], missing=[c.id for c in unknown], extra=extra)
    lines = [
        "**您描述的情况满足全部退出条件。**",
        "",
        f"请先在服务商控制台“查看退出条件结果”做一次系统自查。{f.next_step}",
        "",
        cite_line,
    ]
    return Outcome("provider_exit_check", "exit_conditions_met", "\n".join(lines), [f.cite], extra=extra)


# ---------------------------------------------------------------------------------------------- eligibility


def provider_eligibility(f: EligibilityFacts, entity: str | None, questions: dict[str, str]) -> Outcome:
    cites = list(f.cites)
    if entity is None:
        return Outcome("provider_eligibility", None, "", cites, missing=["entity_type"])
    docs = "\n".join(f"- {d}" for d in f.documents)
    if entity == "individual":
        head = "**个人不能成为云市场服务商。**"
        body = f"按 FAQ：“{f.individual_quote}”。如您有公司主体，完成企业认证后可以入驻，需要准备："
        decision = "not_eligible"
    else:
        head = "**企业可以申请入驻云市场。**"
        body = f"入驻需使用企业认证的腾讯云账号（{f.individual_quote}），并准备以下企业证件："
        decision = "eligible_enterprise"
    text = "\n".join([head, "", body, "", docs, "", f.documents_note, "", _quote_line(cites, questions)])
    return Outcome("provider_eligibility", decision, text, cites, extra={"entity_type": entity})


# ---------------------------------------------------------------------------------------------- image quota


def custom_image_quota(f: QuotaFacts, used: int, questions: dict[str, str]) -> Outcome:
    left = f.per_region - used
    if left > 0:
        head = f"**还可以再创建 {left} 个自定义镜像**（每个地域上限 {f.per_region} 个，您已有 {used} 个）。"
        decision = "within_quota"
    else:
        head = (
            f"**已达到上限**：每个地域最多 {f.per_region} 个自定义镜像，您已有 {used} 个，"
            "需先删除不用的镜像，或换一个地域创建。"
        )
        decision = "quota_reached"
    text = "\n".join([head, "", f"FAQ：“{f.quote}”。", "", _quote_line([f.cite], questions)])
    return Outcome("custom_image_quota", decision, text, [f.cite], extra={"used": used, "left": max(left, 0)})
