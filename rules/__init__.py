"""Pure-Python rulebooks of the client-rating policies: no Excel, no xlwings, no files but its data.

Typical use::

    from rules import get_rulebook
    d = get_rulebook("brokerage").evaluate(assets=300_000, commission=0)
    d.label, d.rule_id, d.reason   # '核心客户', 'BRK-CORE-1', '资产权益 300,000 元 ≥ 250,000 …'
"""

from .engine import Batch, Decision, Rulebook
from .errors import (
    ClientRatingError,
    ParameterMissingError,
    RulebookError,
    RuleError,
    RuleInputError,
)
from .registry import (
    DEFAULT_RULEBOOK,
    EXAMPLE_PARAMETERS,
    get_rulebook,
    in_force_until,
    load_file,
    load_parameter_file,
    rates_tiers,
    rulebook_ids,
    source_file,
    tier_rulebook_ids,
    version_in_force,
    versions,
)

__all__ = [
    "DEFAULT_RULEBOOK",
    "EXAMPLE_PARAMETERS",
    "Batch",
    "ClientRatingError",
    "Decision",
    "ParameterMissingError",
    "RuleError",
    "RuleInputError",
    "Rulebook",
    "RulebookError",
    "get_rulebook",
    "in_force_until",
    "load_file",
    "load_parameter_file",
    "rates_tiers",
    "rulebook_ids",
    "source_file",
    "tier_rulebook_ids",
    "version_in_force",
    "versions",
]
