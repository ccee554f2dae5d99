"""The auditor's toolkit (issue 5): prove every tier in a workbook, find what was typed over or
edited. The public names callers use; the checks live in the modules of this package
(docs/audit.md, "Where the code lives")."""

from .book import (
    AUDIT_SHEET,
    AUDIT_SHEET_NAMES,
    audit_book,
    audit_file,
    read_workbook,
    recalc_on_open,
    transfer_findings,
)
from .cell import CellAudit, explain_cell
from .evaluation import DATE_ARGS, same, shown
from .formula_syntax import Complex, Ref, calls_ours, parse, plain_form, relative
from .model import (
    CHECKS,
    INFO,
    NOT_CHECKED,
    SEVERE,
    SEVERITIES,
    WARN,
    AuditResult,
    Finding,
    NotChecked,
)
from .rows import FINDINGS_HEADER, findings_rows, overview, summary_rows

__all__ = [
    "AUDIT_SHEET",
    "AUDIT_SHEET_NAMES",
    "CHECKS",
    "DATE_ARGS",
    "FINDINGS_HEADER",
    "INFO",
    "NOT_CHECKED",
    "SEVERE",
    "SEVERITIES",
    "WARN",
    "AuditResult",
    "CellAudit",
    "Complex",
    "Finding",
    "NotChecked",
    "Ref",
    "audit_book",
    "audit_file",
    "calls_ours",
    "explain_cell",
    "findings_rows",
    "overview",
    "parse",
    "plain_form",
    "read_workbook",
    "recalc_on_open",
    "relative",
    "same",
    "shown",
    "summary_rows",
    "transfer_findings",
]
