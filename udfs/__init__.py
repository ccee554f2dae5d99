"""客户分级 Excel 函数 (xlwings UDFs): register with the xlwings add-in setting ``UDF Modules: udfs``.

The package's public attributes are exactly the catalogue functions (docs/functions.md), so that
xlwings' "Import Functions" exports only them; helpers live in underscore modules.
"""

from ._functions import (
    ASSET_TURNOVER_CLASS,
    CLIENT_CLASS,
    CLIENT_TIER,
    FUND_RISK,
    HOLDING_STYLE,
    INVESTOR_LEVEL,
    INVESTOR_TYPE,
    PRODUCT_MATCH,
    QUARTER_TIER,
    RERATING_WINDOW,
    REVIEW_DUE,
    RFM,
    RISK_CLASS,
    RISK_LEVEL,
    RISK_SCORE,
    RULES_VERSION,
    SERVICE_PACKAGE,
    SUITABILITY_NOTE,
    SUITABLE,
    TIER_EXPLAIN,
    TRANSFER_APPROVAL,
    VALUE_SEGMENT,
    VISITS_PER_YEAR,
)

__all__ = [
    "ASSET_TURNOVER_CLASS",
    "CLIENT_CLASS",
    "CLIENT_TIER",
    "FUND_RISK",
    "HOLDING_STYLE",
    "INVESTOR_LEVEL",
    "INVESTOR_TYPE",
    "PRODUCT_MATCH",
    "QUARTER_TIER",
    "RERATING_WINDOW",
    "REVIEW_DUE",
    "RFM",
    "RISK_CLASS",
    "RISK_LEVEL",
    "RISK_SCORE",
    "RULES_VERSION",
    "SERVICE_PACKAGE",
    "SUITABILITY_NOTE",
    "SUITABLE",
    "TIER_EXPLAIN",
    "TRANSFER_APPROVAL",
    "VALUE_SEGMENT",
    "VISITS_PER_YEAR",
]
