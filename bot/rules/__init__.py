"""Rules: the FAQ's facts (``knowledge/rules.yaml``) applied to a user's own case.

One module per rule; :data:`REGISTRY` is the one list a new rule joins, in the order the dialogue tries them.
Each entry builds its rules from the data (a module may build several: one timeline per ``timelines`` entry).
The dialogue loop (bot/dialogue.py) knows no rule by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.errors import RulesError
from bot.knowledge import parse_yaml
from bot.rules import deposit_materials, eligibility, exit_check, image_quota, postage, refund, timeline
from bot.rules.base import Extraction, Outcome, Rule, RuleKit, Turn

Builder = Callable[[Mapping[str, Any], RuleKit], list[Rule]]

REGISTRY: list[Builder] = [
    eligibility.build,  # an individual asking to become a provider
    exit_check.build,  # a provider's own exit conditions
    postage.build,  # an invoice's postage, given its amount
    refund.build,  # an order's refund
    deposit_materials.build,  # what a leaving provider sends to get the deposit back, by when it was paid
    timeline.build,  # when something started on a given day will be done (one rule per timeline)
    image_quota.build,  # custom images left in a region
]

__all__ = ["REGISTRY", "Extraction", "Outcome", "Rule", "RuleKit", "Turn", "build_rules", "read_rules_data"]


def read_rules_data(path: Path) -> dict[str, Any]:
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise RulesError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RulesError(f"{path}: expected a mapping of rule sections")
    return data


def build_rules(path: Path, kit: RuleKit, data: Mapping[str, Any] | None = None) -> list[Rule]:
    """Every registered rule, built from the data at ``path`` (or ``data``, read from there already); a missing
    or invalid section is a :class:`RulesError` naming the file and the field, and so is a cited FAQ entry that
    does not exist."""
    data = read_rules_data(path) if data is None else data
    rules: list[Rule] = []
    for build in REGISTRY:
        try:
            rules.extend(build(data, kit))
        except RulesError as exc:
            raise RulesError(f"{path}: {exc.message}") from exc
    cited = set().union(*(r.cited() for r in rules))
    missing = cited - set(kit.questions)
    if missing:
        raise RulesError(f"{path}: cites FAQ entries that do not exist: {', '.join(sorted(missing))}")
    return rules
