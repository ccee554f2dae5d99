"""客户分级 Excel 函数 (xlwings UDFs): register with the xlwings add-in setting ``UDF Modules: udfs``.

The package's public attributes are exactly the catalogue functions (docs/functions.md), so that
xlwings' "Import Functions" exports only them. Their bodies are plain Python in
``rules.functions.catalogue`` (no xlwings, so the re-rating job and the auditor never load it);
this module only registers them: one ``xw.func`` and one ``xw.arg`` per argument, from the
catalogue's :data:`~rules.functions.catalogue.SPECS`.
"""

from ._register import udf as _udf

ACCOUNT_CLOSING = _udf("ACCOUNT_CLOSING")
ASSET_TURNOVER_CLASS = _udf("ASSET_TURNOVER_CLASS")
CLIENT_CLASS = _udf("CLIENT_CLASS")
CLIENT_TIER = _udf("CLIENT_TIER")
FOLLOW_UP = _udf("FOLLOW_UP")
FUND_RISK = _udf("FUND_RISK")
HOLDING_STYLE = _udf("HOLDING_STYLE")
INVESTOR_LEVEL = _udf("INVESTOR_LEVEL")
INVESTOR_TYPE = _udf("INVESTOR_TYPE")
LEAVING_REASON = _udf("LEAVING_REASON")
PRODUCT_MATCH = _udf("PRODUCT_MATCH")
QUARTER_TIER = _udf("QUARTER_TIER")
RERATING_WINDOW = _udf("RERATING_WINDOW")
RETENTION_ADVICE = _udf("RETENTION_ADVICE")
REVIEW_DUE = _udf("REVIEW_DUE")
RFM = _udf("RFM")
RISK_CLASS = _udf("RISK_CLASS")
RISK_LEVEL = _udf("RISK_LEVEL")
RISK_SCORE = _udf("RISK_SCORE")
RULES_VERSION = _udf("RULES_VERSION")
SERVICE_PACKAGE = _udf("SERVICE_PACKAGE")
SUITABILITY_NOTE = _udf("SUITABILITY_NOTE")
SUITABLE = _udf("SUITABLE")
TIER_EXPLAIN = _udf("TIER_EXPLAIN")
TRANSFER_APPROVAL = _udf("TRANSFER_APPROVAL")
TRANSFER_BLOCKERS = _udf("TRANSFER_BLOCKERS")
VALUE_SEGMENT = _udf("VALUE_SEGMENT")
VISITS_PER_YEAR = _udf("VISITS_PER_YEAR")

__all__ = [
    "ACCOUNT_CLOSING",
    "ASSET_TURNOVER_CLASS",
    "CLIENT_CLASS",
    "CLIENT_TIER",
    "FOLLOW_UP",
    "FUND_RISK",
    "HOLDING_STYLE",
    "INVESTOR_LEVEL",
    "INVESTOR_TYPE",
    "LEAVING_REASON",
    "PRODUCT_MATCH",
    "QUARTER_TIER",
    "RERATING_WINDOW",
    "RETENTION_ADVICE",
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
    "TRANSFER_BLOCKERS",
    "VALUE_SEGMENT",
    "VISITS_PER_YEAR",
]
