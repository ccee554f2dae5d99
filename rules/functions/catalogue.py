"""The catalogue of Excel functions as plain Python (docs/functions.md): no xlwings here.

The functions live by concern — ``tiers`` (tiers, risk class, the 002 questionnaire),
``clients`` (classes, 2009 suitability, services, segments), ``accounts`` (schedules, seed 003
transfers and closings), ``investors`` (the 2017 办法) — with their wizard texts in ``spec``;
this module gathers them: every function by its Excel name, :data:`CATALOGUE`, :data:`SPECS`.

``udfs`` registers these functions with xlwings (``udfs/__init__.py`` applies ``xw.func`` and
``xw.arg`` from :data:`SPECS`); the auditor and the template call them directly, without xlwings.

Every function takes cells or ranges (declared ``ndim=2``: a range arrives as a 2-D list, a single
cell as ``[[v]]``) and returns a scalar for single cells or a 2-D list of the broadcast shape.
``err_to_str=True`` makes an error cell arrive as its text (``"#DIV/0!"``), not as an empty cell,
so that an error never counts as 0. Bad input gives ``#VALUE! …`` / ``#N/A …`` texts (see
``rules.functions.shape.error_text``). Do not annotate arguments: xlwings turns type hints into
converters.
"""

from __future__ import annotations

# (every function is re-exported by its Excel name: __all__ below)
from .accounts import (  # noqa: F401
    ACCOUNT_CLOSING,
    FOLLOW_UP,
    LEAVING_REASON,
    RERATING_WINDOW,
    RETENTION_ADVICE,
    REVIEW_DUE,
    RULES_VERSION,
    TRANSFER_APPROVAL,
    TRANSFER_BLOCKERS,
)
from .clients import (  # noqa: F401
    ASSET_TURNOVER_CLASS,
    CLIENT_CLASS,
    FUND_RISK,
    HOLDING_STYLE,
    RFM,
    SERVICE_PACKAGE,
    SUITABILITY_NOTE,
    SUITABLE,
    VALUE_SEGMENT,
    VISITS_PER_YEAR,
)
from .investors import INVESTOR_LEVEL, INVESTOR_TYPE, PRODUCT_MATCH  # noqa: F401
from .spec import DOC_RULEBOOK, SPECS, Spec, excel_arg, excel_function
from .tiers import (  # noqa: F401
    CLIENT_TIER,
    QUARTER_TIER,
    RISK_CLASS,
    RISK_LEVEL,
    RISK_SCORE,
    TIER_EXPLAIN,
)

CATALOGUE: tuple[str, ...] = (
    "CLIENT_TIER", "TIER_EXPLAIN", "QUARTER_TIER", "RISK_CLASS", "RISK_SCORE", "RISK_LEVEL",
    "CLIENT_CLASS", "SUITABLE", "SUITABILITY_NOTE", "FUND_RISK", "SERVICE_PACKAGE",
    "VISITS_PER_YEAR", "ASSET_TURNOVER_CLASS", "HOLDING_STYLE", "VALUE_SEGMENT", "RFM",
    "TRANSFER_APPROVAL", "REVIEW_DUE", "RERATING_WINDOW", "RULES_VERSION",
    # seed 003 retention (i17-fn)
    "TRANSFER_BLOCKERS", "FOLLOW_UP", "ACCOUNT_CLOSING", "LEAVING_REASON", "RETENTION_ADVICE",
    # suitability 2017 (rules/appropriateness.py, docs/suitability.md)
    "INVESTOR_TYPE", "INVESTOR_LEVEL", "PRODUCT_MATCH",
)

__all__ = [*CATALOGUE, "DOC_RULEBOOK", "SPECS", "Spec", "excel_arg", "excel_function"]
