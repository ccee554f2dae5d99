"""The auditor's findings as data: severities, check names, :class:`Finding`, :class:`AuditResult`.

Kept apart from the checks so that the Excel front end, the CLI and the report writer share one
vocabulary. Severities:

* ``严重`` — something shown in the workbook is not what the rules, the formula or the history
  support (a typed-over tier, an edited history row, a cached value its formula does not give);
* ``警告`` — a policy breach or something the audit cannot prove and a person must look at;
* ``提示`` — information that needs no action on its own (figures updated since the last run, a
  row the job rejects, a date-dependent cell computed on another day). It does not change the
  exit status.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

SEVERE, WARN, INFO = "严重", "警告", "提示"
SEVERITIES: tuple[str, ...] = (SEVERE, WARN, INFO)

#: The five checks of issue 5, in order, plus the rows the re-rating job rejects.
CHECK_FORMULA = "公式结果"
CHECK_OVERWRITE = "公式被覆盖"
CHECK_TIER = "当前级别"
CHECK_HISTORY = "变更记录"
CHECK_POLICY = "制度检查"
CHECK_DATA = "数据有误"
CHECKS: tuple[str, ...] = (CHECK_FORMULA, CHECK_OVERWRITE, CHECK_TIER, CHECK_HISTORY,
                           CHECK_POLICY, CHECK_DATA)

#: Severity shown in the 审计 sheet for formula cells that were not recomputed.
NOT_CHECKED = "未检查"


def quote_sheet(name: str) -> str:
    """A sheet name as Excel writes it in a reference: quoted, with ' doubled."""
    return "'" + name.replace("'", "''") + "'"


@dataclass(frozen=True)
class Finding:
    """One finding. ``cell`` is an A1 address inside ``sheet`` ("" = the sheet as a whole);
    ``found`` is what the workbook shows, ``supported`` what the rules / formula / history
    support; ``rule`` the clause or rule id and ``rulebook`` the id@version, where relevant."""

    severity: str
    check: str
    kind: str
    sheet: str
    cell: str = ""
    client_id: str = ""
    found: Any = None
    supported: Any = None
    explanation: str = ""
    rule: str = ""
    rulebook: str = ""

    @property
    def address(self) -> str:
        """``客户!N7`` (or the sheet name alone)."""
        return f"{self.sheet}!{self.cell}" if self.cell else self.sheet

    @property
    def link(self) -> str:
        """Location inside the workbook for a hyperlink: ``#'客户'!N7``."""
        return f"#{quote_sheet(self.sheet)}!{self.cell or 'A1'}"

    @property
    def row(self) -> int | None:
        digits = "".join(ch for ch in self.cell.split(":")[0] if ch.isdigit())
        return int(digits) if digits else None


@dataclass(frozen=True)
class NotChecked:
    """A formula cell calling our functions that the audit could not recompute, and why."""

    sheet: str
    cell: str
    formula: str
    reason: str

    @property
    def address(self) -> str:
        return f"{self.sheet}!{self.cell}"


@dataclass
class AuditResult:
    """Everything one audit found. ``stats`` holds counts (formula cells checked, clients,
    history rows, runs …); ``notes`` are Chinese lines for the summary (what was proven)."""

    as_of: dt.date
    rulebook: str
    findings: list[Finding] = field(default_factory=list)
    not_checked: list[NotChecked] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    path: str | None = None

    def count(self, severity: str | None = None, check: str | None = None) -> int:
        return sum(1 for f in self.findings
                   if (severity is None or f.severity == severity)
                   and (check is None or f.check == check))

    def by_severity(self) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = {s: [] for s in SEVERITIES}
        for f in self.findings:
            out[f.severity].append(f)
        return out

    @property
    def has_findings(self) -> bool:
        """True when there is a 严重 or 警告 finding (提示 alone is informational)."""
        return any(f.severity in (SEVERE, WARN) for f in self.findings)

    @property
    def exit_code(self) -> int:
        """0 no findings (提示 only), 1 findings."""
        return 1 if self.has_findings else 0

    def sort(self) -> None:
        sev = {s: k for k, s in enumerate(SEVERITIES)}
        chk = {c: k for k, c in enumerate(CHECKS)}
        self.findings.sort(key=lambda f: (sev.get(f.severity, 9), chk.get(f.check, 9), f.sheet,
                                          f.row or 0, _col_key(f.cell), f.kind))


def _col_key(cell: str) -> tuple[int, str]:
    letters = "".join(ch for ch in cell.split(":")[0] if ch.isalpha())
    return len(letters), letters
